"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


class WordStats:
    """Everything about one text's words, computed once."""

    def __init__(self, words):
        self.words = list(words)
        self.counts = {}
        for word in self.words:
            self.counts[word] = self.counts.get(word, 0) + 1

    @classmethod
    def from_text(cls, text):
        words, word = [], []
        for char in text.lower():
            if "a" <= char <= "z":
                word.append(char)
            elif word:
                words.append("".join(word))
                word = []
        if word:
            words.append("".join(word))
        return cls(words)

    def top(self, n):
        order = sorted(self.counts, key=lambda w: (-self.counts[w], w))
        return [(w, self.counts[w]) for w in order[:n]]

    def mean_length(self):
        if not self.words:
            return 0.0
        return sum(len(w) for w in self.words) / len(self.words)


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return WordStats.from_text(text).words


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    return WordStats(words).counts


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    stats = WordStats([])
    stats.counts = dict(counts)
    return stats.top(n)


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    return WordStats(words).mean_length()


def main():
    stats = WordStats.from_text(sys.stdin.read())
    for word, count in stats.top(10):
        print(f"{word}: {count}")
    print(f"average length: {stats.mean_length():.2f}")


if __name__ == "__main__":
    main()
