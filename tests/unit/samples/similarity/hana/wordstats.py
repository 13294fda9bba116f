"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from collections import Counter


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    cleaned = "".join(c if c.isalpha() else " " for c in text)
    return cleaned.lower().split()


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    return Counter(words)


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    # most_common breaks ties by first occurrence, not alphabetically, so sort again
    common = Counter(counts).most_common()
    common.sort(key=lambda t: (-t[1], t[0]))
    return common[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    count = len(words)
    total = len("".join(words))
    return total / count if count else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
