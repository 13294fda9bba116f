"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from functools import cmp_to_key


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    letters = []
    for character in text:
        letters.append(character.lower() if character.isalpha() else " ")
    return "".join(letters).split()


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    result = {}
    for word in set(words):
        result[word] = 0
    for word in words:
        result[word] += 1
    return result


def compare(a, b):
    if a[1] != b[1]:
        return b[1] - a[1]
    if a[0] < b[0]:
        return -1
    if a[0] > b[0]:
        return 1
    return 0


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    pairs = sorted(counts.items(), key=cmp_to_key(compare))
    return pairs[:n]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if not len(words):
        return 0.0
    return sum(len(word) for word in words) * 1.0 / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
