"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from functools import reduce
from itertools import groupby


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    groups = groupby(text.lower(), key=str.isalpha)
    return ["".join(chars) for is_word, chars in groups if is_word]


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    return {word: len(list(same)) for word, same in groupby(sorted(words))}


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    by_word = sorted(counts.items())
    by_count = sorted(by_word, key=lambda wc: wc[1], reverse=True)
    return by_count[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if len(words) == 0:
        return 0.0
    total = reduce(lambda acc, word: acc + len(word), words, 0)
    return total / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
