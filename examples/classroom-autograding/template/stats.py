"""Statistics of the numbers on standard input: count, sum, mean."""

import sys


def numbers(text):
    """The numbers of `text`, as floats."""
    raise NotImplementedError


def mean(values):
    raise NotImplementedError


def median(values):
    raise NotImplementedError


def main(argv):
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
