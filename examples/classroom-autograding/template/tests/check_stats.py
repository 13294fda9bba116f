"""Checks stats.py's functions: exit status 0 when they work."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stats

assert stats.numbers("1 2\n3") == [1.0, 2.0, 3.0], stats.numbers("1 2\n3")
assert stats.mean([1.0, 2.0, 3.0]) == 2.0
assert stats.mean([2.5]) == 2.5
print("the functions work")
