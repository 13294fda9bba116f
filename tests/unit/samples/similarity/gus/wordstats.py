"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    result = []
    i = 0
    while i < len(text):
        if text[i].isalpha():
            start = i
            while i < len(text) and text[i].isalpha():
                i = i + 1
            result.append(text[start:i].lower())
        else:
            i = i + 1
    return result


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    table = {}
    k = 0
    while k < len(words):
        w = words[k]
        if w not in table:
            table[w] = 0
        table[w] = table[w] + 1
        k = k + 1
    return table


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    remaining = dict(counts)
    answer = []
    while len(answer) < n and len(remaining) > 0:
        best_word = None
        best_count = -1
        for w in remaining:
            c = remaining[w]
            if c > best_count or (c == best_count and w < best_word):
                best_word = w
                best_count = c
        answer.append((best_word, best_count))
        del remaining[best_word]
    return answer


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if len(words) == 0:
        return 0.0
    letters = 0
    j = 0
    while j < len(words):
        letters = letters + len(words[j])
        j = j + 1
    return letters / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
