"""Greets whoever is named on standard input."""

import sys


def greeting(name, shout=False):
    text = f"Hello, {name.strip()}!"
    return text.upper() if shout else text


def count_words(text):
    return len(text.split())


def main(argv):
    text = sys.stdin.read()
    if "--count" in argv:
        count = count_words(text)
        print(f"{count} word{'' if count == 1 else 's'}")
        return 0
    print(greeting(text, shout="--shout" in argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
