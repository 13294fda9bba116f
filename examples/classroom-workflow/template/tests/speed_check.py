"""count_words on a long text, with lines: it must answer within the test's time limit."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import greet

text = "word\n" * 20000
assert greet.count_words(text) == 20000
print("fast enough")
