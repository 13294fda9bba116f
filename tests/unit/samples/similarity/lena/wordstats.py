"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import re
import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return [m.group(0).lower() for m in re.finditer(r"[a-zA-Z]+", text)]


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    # slow for big texts but simple
    return {word: words.count(word) for word in set(words)}


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    def rank(entry):
        word, count = entry
        return (-count, word)

    entries = list(counts.items())
    entries.sort(key=rank)
    return entries[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    lengths = [len(word) for word in words]
    return round(sum(lengths) / len(lengths), 10) if lengths else 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
