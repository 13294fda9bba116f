"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    words = []
    current = ""
    for ch in text:
        if ch.isalpha():
            current += ch.lower()
        else:
            if current != "":
                words.append(current)
                current = ""
    if current != "":
        words.append(current)
    return words


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    counts = {}
    for word in words:
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    return counts


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    items = list(counts.items())
    # sort by word first, then by count: sort is stable so ties stay alphabetical
    items.sort()
    items.sort(key=lambda item: item[1], reverse=True)
    return items[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    total = 0
    for word in words:
        total += len(word)
    if len(words) == 0:
        return 0.0
    return total / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
