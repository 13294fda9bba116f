"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import heapq
import re
import sys
from collections import defaultdict

SEPARATORS = re.compile(r"[^a-zA-Z]+")


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    pieces = SEPARATORS.split(text)
    return [piece.lower() for piece in pieces if piece]


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    tally = defaultdict(int)
    for word in words:
        tally[word] += 1
    return dict(tally)


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    if n <= 0:
        return []
    best = heapq.nsmallest(n, counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(word, count) for word, count in best]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    letters = sum(map(len, words))
    return letters / len(words) if words else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
