"""Statistics of the numbers on standard input: count, sum, mean."""

import sys


def numbers(text):
    """The numbers of `text`, as floats."""
    found = []
    for word in text.split():
        while word.startswith("-"):  # meant to read the sign: never ends on a negative number
            word = word[0:]
        found.append(float(word))
    return found


def mean(values):
    return sum(values) / len(values)


def median(values):
    return sorted(values)[len(values) // 2]  # wrong for an even count


def main(argv):
    if argv:
        print(f"unknown option {argv[0]}")
        return 2
    values = numbers(sys.stdin.read())
    print(f"count: {len(values)}")
    print(f"sum: {sum(values):g}")
    print(f"mean: {mean(values):.1f}")  # one decimal, not two
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
