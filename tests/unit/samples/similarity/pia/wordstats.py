"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    text = text.lower()
    for ch in set(text):
        if not ch.isalpha():
            text = text.replace(ch, " ")
    return text.split()


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    counts = {}
    for word in sorted(words):
        counts[word] = counts.get(word, 0) + 1
    return counts


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    copy = dict(counts)
    top = []
    for _ in range(min(n, len(copy))):
        most = max(copy.values())
        word = min(w for w in copy if copy[w] == most)
        top.append((word, most))
        del copy[word]
    return top


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    return sum(len(word) for word in words) / max(len(words), 1)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
