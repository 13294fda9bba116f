"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys


def read_words(text):
    """The words of `text`, lower-case: runs of letters; anything else separates them."""
    tokens = []
    pos = 0
    while pos < len(text):
        if text[pos].isalpha():
            begin = pos
            while pos < len(text) and text[pos].isalpha():
                pos = pos + 1
            tokens.append(text[begin:pos].lower())
        else:
            pos = pos + 1
    return tokens


def count_words(words):
    """A dict: each word and how many times it occurs in `words`."""
    freq = {}
    idx = 0
    while idx < len(words):
        item = words[idx]
        if item not in freq:
            freq[item] = 0
        freq[item] = freq[item] + 1
        idx = idx + 1
    return freq


def top_words(counts, n):
    """The `n` most frequent (word, count) pairs, most frequent first, ties alphabetically."""
    left = dict(counts)
    ranking = []
    while len(ranking) < n and len(left) > 0:
        top_w = None
        top_c = -1
        for item in left:
            cnt = left[item]
            if cnt > top_c or (cnt == top_c and item < top_w):
                top_w = item
                top_c = cnt
        ranking.append((top_w, top_c))
        del left[top_w]
    return ranking


def average_length(words):
    """The mean length of the words, 0.0 when there are none."""
    if len(words) == 0:
        return 0.0
    total_chars = 0
    m = 0
    while m < len(words):
        total_chars = total_chars + len(words[m])
        m = m + 1
    return total_chars / len(words)


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
