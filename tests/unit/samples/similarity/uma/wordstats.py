"""Word statistics (hw3).

Fill in the four functions below. Keep their names and arguments: the grader calls them.
Run it as:  python wordstats.py < some-text.txt
"""

import sys
from collections import Counter

read_words = lambda text: "".join(map(lambda c: c if c.isalpha() else " ", text.lower())).split()  # noqa: E731
count_words = lambda words: dict(Counter(words))  # noqa: E731
top_words = lambda counts, n: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]  # noqa: E731
average_length = lambda words: sum(map(len, words)) / len(words) if words else 0.0  # noqa: E731


def main():
    text = sys.stdin.read()
    words = read_words(text)
    for word, count in top_words(count_words(words), 10):
        print(f"{word}: {count}")
    print(f"average length: {average_length(words):.2f}")


if __name__ == "__main__":
    main()
