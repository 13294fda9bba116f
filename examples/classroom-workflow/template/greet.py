"""Greets whoever is named on standard input."""

import sys


def greeting(name, shout=False):
    raise NotImplementedError


def count_words(text):
    raise NotImplementedError


def main(argv):
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
