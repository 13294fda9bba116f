"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys

from textutil import split_words


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    return split_words(text)


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    tally = {}
    for word in words:
        tally[word] = tally[word] + 1 if word in tally else 1
    return tally


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    import heapq

    heap = [(-count, word) for word, count in counts.items()]
    heapq.heapify(heap)
    out = []
    while heap and len(out) < n:
        minus, word = heapq.heappop(heap)
        out.append((word, -minus))
    return out


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if words:
        lengths = [len(word) for word in words]
        return sum(lengths) / len(lengths)
    return 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
