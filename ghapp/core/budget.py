"""The write budget: how many content-generating requests an installation may still send.

GitHub allows 80 such requests a minute and 500 an hour per installation (secondary limits);
past them it answers 403 and the installation is locked out, exactly at a deadline. So every
check-run write first takes a place here. The places taken are rows in the database (kept an
hour), so every worker process on every host counts the same budget, and the windows slide:
no minute or hour, however aligned, ever sees more than the limit.

Priorities keep room for what matters: a fresh result may use the whole budget; a "queued"
notice leaves a tenth of the minute and half of the hour, and the hour's places owed to results
still to come; reveals and regrades leave a quarter; an intermediate "in progress" half of the
minute and more of the hour. When GitHub says wait (403/429 with `retry-after`), the
installation is blocked that long for every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum


class Priority(IntEnum):
    INTERMEDIATE = 10  # "in progress": replaced by the result soon anyway
    BACKGROUND = 20  # reveals after a deadline, regrades: never before a fresh result
    NOTICE = 30  # "queued", and not-graded notices
    FINAL = 40  # a fresh result


# The share of each limit (the minute's, the hour's) a priority leaves unused, for those above
# it. Notices may take only half the hour: every push sent a notice needs a second write for its
# result, and the pushes still to come in the hour need theirs (300 pushes with a notice each
# would need 600 writes of the hour's 500, and the last results would wait an hour).
RESERVE = {
    Priority.FINAL: (0.0, 0.0),
    Priority.NOTICE: (0.1, 0.5),
    Priority.BACKGROUND: (0.25, 0.25),
    Priority.INTERMEDIATE: (0.5, 0.6),
}


@dataclass(frozen=True)
class Limits:
    per_minute: int | None = 80  # None: no limit (GitHub Enterprise Server may have none)
    per_hour: int | None = 500
    # Time runs this much faster for the windows (benchmarks and tests on a fast clock).
    clock_scale: float = 1.0

    @property
    def minute(self) -> timedelta:
        return _with_margin(60 / self.clock_scale)

    @property
    def hour(self) -> timedelta:
        return _with_margin(3600 / self.clock_scale)


def _with_margin(seconds: float) -> timedelta:
    # A write is counted when its place is taken, a moment before GitHub sees it: a window a
    # little longer than GitHub's keeps a write from arriving just before the oldest leaves.
    return timedelta(seconds=seconds * 1.02 + 0.5)


def room(limit: int, priority: Priority, *, hourly: bool, owed: int = 0) -> int:
    """How many writes of one window (the minute's, or the hour's) a write of `priority` may
    find there and still go out: the limit less the share it leaves to those above it, and —
    for anything but a result — less the hour's places `owed` to results still to come.
    Below 1: none now, whatever the window holds."""
    reserve = RESERVE[priority][1 if hourly else 0]
    allowed = max(1, math.floor(limit * (1 - reserve)))
    if priority is not Priority.FINAL and hourly:
        allowed -= owed
    return allowed


def wait_for(blocking: datetime | None, window: timedelta, now: datetime) -> float | None:
    """Seconds until `blocking` (the write that must leave the window before one more fits)
    leaves it; None when nothing blocks."""
    if blocking is None:
        return None
    return max((blocking + window - now).total_seconds(), 0.01)
