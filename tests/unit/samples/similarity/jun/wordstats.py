"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import re
import statistics
import sys
from collections import Counter

WORD = re.compile("[A-Za-z]+")


def _words(text):
    for match in WORD.finditer(text):
        yield match.group().lower()


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return list(_words(text))


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    counter = Counter()
    counter.update(words)
    return dict(counter)


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    ordered = sorted(counts, key=lambda word: (-counts[word], word))
    return [(word, counts[word]) for word in ordered[:n]]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    return statistics.fmean(len(word) for word in words) if words else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
