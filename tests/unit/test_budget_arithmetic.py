"""The write budget's arithmetic (ghapp.core.budget): how much of GitHub's minute and hour each
priority may use, and how long to wait for room. Pure: no database."""

from datetime import UTC, datetime, timedelta

import pytest

from ghapp.core.budget import Limits, Priority, room, wait_for

NOW = datetime(2026, 12, 1, 23, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("limit", "priority", "hourly", "owed", "expected"),
    [
        # A fresh result may use the whole of either window, whatever is owed.
        (80, Priority.FINAL, False, 0, 80),
        (500, Priority.FINAL, True, 400, 500),
        # "Queued" leaves a tenth of the minute and half of the hour, less what results are owed.
        (80, Priority.NOTICE, False, 0, 72),
        (80, Priority.NOTICE, False, 50, 72),  # the minute keeps nothing for them
        (500, Priority.NOTICE, True, 0, 250),
        (500, Priority.NOTICE, True, 100, 150),
        (500, Priority.NOTICE, True, 300, -50),  # owed more than its share: none now
        # Reveals and regrades leave a quarter.
        (80, Priority.BACKGROUND, False, 0, 60),
        (500, Priority.BACKGROUND, True, 10, 365),
        # "In progress" leaves half of the minute and more of the hour.
        (80, Priority.INTERMEDIATE, False, 0, 40),
        (500, Priority.INTERMEDIATE, True, 0, 200),
        # A tiny limit still lets one through before what is owed is counted.
        (1, Priority.INTERMEDIATE, False, 0, 1),
        (1, Priority.NOTICE, True, 1, 0),
        (3, Priority.BACKGROUND, False, 0, 2),
    ],
)
def test_room(limit, priority, hourly, owed, expected):
    assert room(limit, priority, hourly=hourly, owed=owed) == expected


@pytest.mark.parametrize(
    ("blocking", "window", "expected"),
    [
        (None, timedelta(minutes=1), None),  # nothing in the way
        (NOW - timedelta(seconds=20), timedelta(seconds=60), 40.0),
        (NOW - timedelta(seconds=61), timedelta(seconds=60), 0.01),  # leaving now: a moment
        (NOW, timedelta(hours=1), 3600.0),
    ],
)
def test_wait_for(blocking, window, expected):
    assert wait_for(blocking, window, NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("limits", "minute_s", "hour_s"),
    [
        # GitHub's windows, a little longer: a write counted early never lands just inside.
        (Limits(), 61.7, 3672.5),
        (Limits(clock_scale=60.0), 1.52, 61.7),  # tests and benchmarks on a fast clock
    ],
)
def test_windows(limits, minute_s, hour_s):
    assert limits.minute.total_seconds() == pytest.approx(minute_s)
    assert limits.hour.total_seconds() == pytest.approx(hour_s)
