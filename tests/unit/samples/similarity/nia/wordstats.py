"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from collections import Counter
from math import fsum
from operator import itemgetter
from typing import Iterable


def read_words(text: str) -> list[str]:
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    marks = [ch if ch.isalpha() else "\0" for ch in text.casefold()]
    return [part for part in "".join(marks).split("\0") if part]


def count_words(words: Iterable[str]) -> dict[str, int]:
    """A dict: each word and how many times it occurs in `words`."""
    return dict(Counter(words))


def top_words(counts: dict[str, int], n: int) -> list[tuple[str, int]]:
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    alphabetical = sorted(counts.items(), key=itemgetter(0))
    return sorted(alphabetical, key=itemgetter(1), reverse=True)[:n]


def average_length(words: list[str]) -> float:
    """The mean length of the words, 0.0 when there are none."""
    return fsum(map(len, words)) / len(words) if words else 0.0


def main() -> None:
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
