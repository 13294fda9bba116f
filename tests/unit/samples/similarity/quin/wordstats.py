"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import re
import string
import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    words = []
    for line in text.splitlines():
        for token in line.split():
            token = token.strip(string.punctuation)
            # what is left may still hold digits or a hyphen: those split words too
            for part in re.sub("[^A-Za-z]", " ", token).split():
                words.append(part.lower())
    return words


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    counted = {}
    for word in words:
        counted[word] = 1 + counted.get(word, 0)
    return counted


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    return sorted(counts.items(), key=lambda p: (-p[1], p[0]))[0:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if len(words) > 0:
        return sum([len(word) for word in words]) / len(words)
    else:
        return 0.0


def main():
    lines = sys.stdin.read()
    all_words = read_words(lines)
    counts = count_words(all_words)
    for word, count in top_words(counts, 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(all_words):.2f}")


if __name__ == "__main__":
    main()
