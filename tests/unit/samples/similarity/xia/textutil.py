"""Helpers for wordstats: splitting text into words."""

LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()


def lower_letter(ch):
    """The lower-case letter `ch` is, or None when it is not a letter."""
    if ch in LOWER:
        return ch
    position = UPPER.find(ch)
    return LOWER[position] if position >= 0 else None


def split_words(text):
    words, letters = [], []
    for ch in text:
        letter = lower_letter(ch)
        if letter is None:
            if letters:
                words.append("".join(letters))
                letters = []
        else:
            letters.append(letter)
    if letters:
        words.append("".join(letters))
    return words
