"""The textutils assignment: three small functions on strings."""

import re
from collections import Counter


def is_palindrome(text):
    """Whether `text` reads the same backwards, ignoring case, spaces and punctuation."""
    letters = [c.lower() for c in text if c.isalnum()]
    return letters == letters[::-1]


def word_count(text):
    """How often each word occurs, case-insensitively; punctuation is not part of a word."""
    return dict(Counter(re.findall(r"[a-z0-9']+", text.lower())))


def caesar(text, shift):
    """`text` with each letter moved `shift` places along the alphabet, wrapping around."""
    out = []
    for c in text:
        if c.isascii() and c.isalpha():
            base = ord("A") if c.isupper() else ord("a")
            out.append(chr(base + (ord(c) - base + shift) % 26))
        else:
            out.append(c)
    return "".join(out)
