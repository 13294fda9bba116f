"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import heapq
import re
import sys
from collections import defaultdict

# one or more characters that are not letters
NON_LETTERS = re.compile(r"[^a-zA-Z]+")


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    # total letters divided by the number of words
    chars = sum(map(len, words))
    return chars / len(words) if words else 0.0


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    if n <= 0:
        return []  # nothing asked for
    # nsmallest on (-count, word) gives the biggest counts, ties by word
    winners = heapq.nsmallest(n, counts.items(), key=lambda entry: (-entry[1], entry[0]))
    return [(w, c) for w, c in winners]


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    chunks = NON_LETTERS.split(text)
    # split leaves empty strings at the ends
    return [chunk.lower() for chunk in chunks if chunk]


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    occurrences = defaultdict(int)
    for w in words:
        occurrences[w] += 1
    return dict(occurrences)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
