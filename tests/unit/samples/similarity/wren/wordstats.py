"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import argparse
import sys
from collections import Counter


def tokens(text):
    word = []
    for char in text:
        if char.isalpha():
            word.append(char)
            continue
        if word:
            yield "".join(word).lower()
            word = []
    if word:
        yield "".join(word).lower()


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return list(tokens(text))


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    return {word: count for word, count in Counter(words).items()}


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    by_count = {}
    for word, count in counts.items():
        by_count.setdefault(count, set()).add(word)
    ranked = [(word, count) for count in sorted(by_count, reverse=True)
              for word in sorted(by_count[count])]
    return ranked[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    return (sum(len(word) for word in words) / len(words)) if len(words) else 0.0


def main():
    parser = argparse.ArgumentParser(description="Word statistics of a text on stdin.")
    parser.add_argument("-n", type=int, default=10, help="how many words to list")
    args = parser.parse_args()
    words = read_words(sys.stdin.read())
    for word, count in top_words(count_words(words), args.n):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
