"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import string
import sys

PUNCTUATION = string.punctuation + string.digits + "\t\n\r"


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    table = str.maketrans(PUNCTUATION, " " * len(PUNCTUATION))
    words = text.lower().translate(table).split(" ")
    return [word for word in words if word.isalpha()]


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    frequencies = {}
    for word in words:
        frequencies.setdefault(word, 0)
        frequencies[word] += 1
    return frequencies


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    result = []
    for word in sorted(counts, key=counts.get, reverse=True):
        result.append((word, counts[word]))
    # the sort above does not order ties, fix them up
    result.sort(key=lambda x: (-x[1], x[0]))
    return result[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if not words:
        return 0.0
    return float(sum([len(x) for x in words])) / float(len(words))


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
