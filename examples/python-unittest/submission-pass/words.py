def count_words(text):
    return len(text.split())


def longest_word(text):
    words = text.split()
    if not words:
        return None
    return max(words, key=len)
