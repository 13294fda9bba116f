import stats


def test_median_of_an_odd_count():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0


def test_median_of_an_even_count():
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_mean():
    assert stats.mean([1.0, 2.0]) == 1.5
