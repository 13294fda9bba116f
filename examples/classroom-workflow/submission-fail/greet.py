"""Greets whoever is named on standard input."""

import sys


def greeting(name, shout=False):
    text = f"Hello, {name.strip().lower()}!"  # lowercases the name
    return text.upper() if shout else text


def count_words(text):
    count, i = 0, 0
    while i < len(text):
        if not text[i].isspace() and (i == 0 or text[i - 1].isspace()):
            count += 1
        if text[i] == "\n":
            continue  # never moves past a line break
        i += 1
    return count


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
