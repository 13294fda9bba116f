"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import re
import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return re.sub("[^a-z]", " ", text.lower()).split()


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    d = dict.fromkeys(set(words), 0)
    for x in words:
        d[x] = d[x] + 1
    return d


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    return sorted(sorted(counts.items()), key=lambda x: x[1], reverse=True)[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    total = 0.0
    for x in words:
        total += len(x)
    return total / len(words) if len(words) != 0 else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
