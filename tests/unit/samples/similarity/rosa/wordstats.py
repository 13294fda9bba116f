"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from collections import Counter


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    words = []
    in_word = False
    for i, c in enumerate(text):
        if c.isalpha() and not in_word:
            in_word, begin = True, i
        elif not c.isalpha() and in_word:
            in_word = False
            words.append(text[begin:i].lower())
    if in_word:
        words.append(text[begin:].lower())
    return words


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    c = Counter()
    for w in words:
        c[w] += 1
    return dict(c)


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    return sorted(Counter(counts).most_common(), key=lambda p: (-p[1], p[0]))[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    n = len(words)
    if n == 0:
        return 0.0
    return sum(map(len, words)) / n


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
