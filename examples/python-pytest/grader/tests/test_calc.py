"""Hidden tests for the calc assignment: students implement add, mean and median in calc.py."""

import pytest

try:
    import calc
except ImportError:  # no calc.py: every test fails (a skipped test would count as passed)
    calc = None


@pytest.fixture(autouse=True)
def _needs_calc():
    if calc is None:
        pytest.fail("calc.py is missing from the submission", pytrace=False)


def test_add():
    assert calc.add(2, 3) == 5


def test_add_negative():
    assert calc.add(-2, -3) == -5


def test_mean():
    assert calc.mean([1, 2, 3, 4]) == 2.5


def test_median_odd():
    assert calc.median([3, 1, 2]) == 2


def test_median_even():
    assert calc.median([4, 1, 3, 2]) == 2.5
