"""Statistics of the numbers on standard input: count, sum, mean."""

import sys


def numbers(text):
    """The numbers of `text`, as floats."""
    return [float(word) for word in text.split()]


def mean(values):
    return sum(values) / len(values)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def main(argv):
    if "--help" in argv:
        print("usage: python3 stats.py < numbers.txt")
        return 0
    values = numbers(sys.stdin.read())
    if not values:
        print("no numbers")
        return 1
    print(f"count: {len(values)}")
    print(f"sum: {sum(values):g}")
    print(f"mean: {mean(values):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
