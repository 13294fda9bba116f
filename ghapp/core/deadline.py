"""Deadlines, judged by the server's receive time of a push and never by a commit date.

Pure functions over an assignment's settings and a moment:
- `judge`: on time, late (graded, with any penalty) or closed (not graded, and why);
- `reveal_moment` / `shown_at`: when graded runs are shown at the `after_due` level;
- `day_window`: the calendar day `max_graded_per_day` counts in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from ghapp.core.config import AssignmentConfig, LatePolicy, VisibilityLevel
from ghapp.core.handout import accept_closes

DAY = timedelta(days=1)


class Standing(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"  # graded, flagged, perhaps with a penalty
    CLOSED = "closed"  # received after the deadline (late pushes not graded) or the cutoff


@dataclass(frozen=True)
class Timing:
    standing: Standing
    late_by: timedelta = timedelta(0)
    penalty: float = 0.0  # the fraction of the score taken off
    why: str = ""  # for a closed push: a sentence the student reads

    @property
    def late(self) -> bool:
        return self.standing is not Standing.ON_TIME


def judge(config: AssignmentConfig, received_at: datetime) -> Timing:
    """Where a push received at `received_at` stands against the assignment's deadline."""
    due = config.due
    if due is None or received_at <= due:
        return Timing(Standing.ON_TIME)
    late_by = received_at - due
    late = config.late
    policy = late.policy if late else LatePolicy.GRADE
    received = f"This push was received {describe(late_by)} after the deadline ({show(due)})"
    if late is not None and late.cutoff is not None and received_at > late.cutoff:
        why = f"{received}, and after the last moment late pushes were accepted"
        return Timing(Standing.CLOSED, late_by, why=f"{why} ({show(late.cutoff)}). Not graded.")
    if policy is LatePolicy.IGNORE:
        why = f"{received}. Late pushes are not graded for this assignment."
        return Timing(Standing.CLOSED, late_by, why=why)
    penalty = 0.0
    if policy is LatePolicy.PENALTY and late is not None:
        days = math.ceil(late_by / DAY)
        penalty = min(1.0, round(late.penalty_per_day * days, 6))
    return Timing(Standing.LATE, late_by, penalty)


def penalized(score: float | None, penalty: float) -> float | None:
    return None if score is None else round(score * (1 - penalty), 6)


def reveal_moment(config: AssignmentConfig) -> datetime | None:
    """When graded runs are shown at the `after_due` level (and tests marked `after_due_date`
    appear): the deadline; or, while late pushes are still graded, the cutoff if there is one,
    so the grader's tests are not revealed to students who may still submit."""
    if config.due is None:
        return None
    late = config.late
    if late is not None and late.policy is not LatePolicy.IGNORE and late.cutoff is not None:
        return late.cutoff
    return config.due


def shown_at(config: AssignmentConfig, moment: datetime) -> tuple[VisibilityLevel, bool]:
    """The visibility level at `moment`, and whether the deadline's reveal has happened."""
    reveal = reveal_moment(config)
    revealed = reveal is not None and moment >= reveal
    if revealed and config.after_due is not None:
        return config.after_due, True
    return config.visibility, revealed


def day_window(config: AssignmentConfig, moment: datetime) -> tuple[datetime, datetime]:
    """The calendar day holding `moment`, in the deadline's UTC offset (UTC without one)."""
    zone: tzinfo = config.due.tzinfo if config.due is not None and config.due.tzinfo else UTC
    local = moment.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + DAY


def describe(span: timedelta) -> str:
    """A duration as a student reads it: "2 days 3 hours", "5 minutes", "40 seconds"."""
    seconds = max(0, int(span.total_seconds()))
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count > 1 else ''}")
    if not parts:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return " ".join(parts[:2])


def show(moment: datetime) -> str:
    """A moment in its own UTC offset, to the minute: "2026-12-01 23:59 +01:00"."""
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if not offset:
        return f"{text} UTC"
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{text} {sign}{hours:02d}:{minutes:02d}"


def local(moment: datetime, config: AssignmentConfig) -> datetime:
    """`moment` in the deadline's UTC offset (UTC without one): as students read `due`."""
    zone: tzinfo = config.due.tzinfo if config.due is not None and config.due.tzinfo else UTC
    return moment.astimezone(zone)


def received_note(config: AssignmentConfig, pushed_at: datetime) -> str | None:
    """The line a check run opens with when a deadline applies to an on-time push: when it was
    received, and that it counts as on time (a late push's own note says how late)."""
    if config.due is None or pushed_at > config.due:
        return None
    return f"🕑 Received {show(local(pushed_at, config))}: on time (due {show(config.due)})."


def attempts_note(config: AssignmentConfig, graded: int, moment: datetime) -> str | None:
    """Under a daily limit, the graded pushes left on the day of `moment`, `graded` of them
    (this one included) counted already."""
    limit = config.max_graded_per_day
    if limit is None:
        return None
    left = max(0, limit - graded)
    _, end = day_window(config, moment)
    pushes = "push" if left == 1 else "pushes"
    return f"🔢 {left} graded {pushes} left today, of {limit} a day (a new day starts {show(end)})."


def accepting_closes(config: AssignmentConfig) -> datetime | None:
    """When accepting the assignment closes: after its late cutoff (its due date when late
    pushes are not graded) no push of a new student could be graded. None: never."""
    late = config.late
    ignored = late is not None and late.policy is LatePolicy.IGNORE
    return accept_closes(config.due, late.cutoff if late else None, ignored)
