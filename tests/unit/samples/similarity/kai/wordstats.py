"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from dataclasses import dataclass


@dataclass(order=True)
class Ranked:
    minus_count: int
    word: str

    def pair(self):
        return (self.word, -self.minus_count)


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    out, buf = [], []
    for ch in text + " ":
        if ch.isalpha():
            buf.append(ch.lower())
        elif buf:
            out.append("".join(buf))
            buf.clear()
    return out


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    counts = dict.fromkeys(words, 0)
    for word in words:
        counts[word] += 1
    return counts


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    ranked = sorted(Ranked(-count, word) for word, count in counts.items())
    return [r.pair() for r in ranked[:n]]


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    try:
        return sum(len(word) for word in words) / len(words)
    except ZeroDivisionError:
        return 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
