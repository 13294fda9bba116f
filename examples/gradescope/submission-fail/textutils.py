"""The textutils assignment: three small functions on strings."""


def is_palindrome(text):
    # Forgets to ignore case, spaces and punctuation.
    return text == text[::-1]


def word_count(text):
    # Splits on single spaces and keeps case and punctuation.
    counts = {}
    for word in text.split(" "):
        counts[word] = counts.get(word, 0) + 1
    return counts


def caesar(text, shift):
    # Does not wrap around the end of the alphabet, and shifts everything.
    return "".join(chr(ord(c) + shift) for c in text)
