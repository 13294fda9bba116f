"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import statistics
import string
import sys

# every character that is not a letter becomes a space
_NOT_LETTERS = "".join(chr(c) for c in range(128) if chr(c) not in string.ascii_letters)
_TABLE = str.maketrans(_NOT_LETTERS, " " * len(_NOT_LETTERS))


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return text.translate(_TABLE).lower().split()


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    result = {}
    for w in words:
        result[w] = result.get(w, 0) + 1
    return result


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    return statistics.mean(map(len, words)) if words else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
