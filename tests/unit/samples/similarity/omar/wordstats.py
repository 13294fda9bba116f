"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


def is_letter(ch):
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    found = []
    start = None
    for index, ch in enumerate(text):
        if is_letter(ch):
            if start is None:
                start = index
        elif start is not None:
            found.append(text[start:index].lower())
            start = None
    if start is not None:
        found.append(text[start:].lower())
    return found


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    seen = {}
    for word in words:
        seen[word] = seen.get(word, 0) + 1
    return seen


def buckets_by_count(counts):
    buckets = {}
    for word, count in counts.items():
        if count not in buckets:
            buckets[count] = []
        buckets[count].append(word)
    return buckets


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    buckets = buckets_by_count(counts)
    picked = []
    for count in sorted(buckets.keys(), reverse=True):
        for word in sorted(buckets[count]):
            if len(picked) == n:
                return picked
            picked.append((word, count))
    return picked


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    total_letters = 0
    for word in words:
        total_letters += len(word)
    if words:
        return total_letters / len(words)
    return 0.0


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
