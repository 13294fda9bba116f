"""Deadlines by receive time: standing, penalties, the reveal moment and the daily window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghapp.core.config import AssignmentConfig, VisibilityLevel
from ghapp.core.deadline import (
    Standing,
    day_window,
    describe,
    judge,
    penalized,
    reveal_moment,
    show,
    shown_at,
)

CET = timezone(timedelta(hours=1))
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=CET)
CUTOFF = datetime(2026, 12, 4, 23, 59, tzinfo=CET)


def assignment(**fields) -> AssignmentConfig:
    return AssignmentConfig.model_validate({"image": "grader:1", **fields})


def test_without_a_deadline_every_push_is_on_time():
    timing = judge(assignment(), datetime(2099, 1, 1, tzinfo=UTC))
    assert timing.standing is Standing.ON_TIME and not timing.late


def test_a_push_at_the_deadline_itself_is_on_time_and_a_second_later_is_late():
    config = assignment(due=DUE.isoformat())
    assert judge(config, DUE).standing is Standing.ON_TIME
    late = judge(config, DUE + timedelta(seconds=1))
    assert late.standing is Standing.LATE and late.penalty == 0
    assert late.late_by == timedelta(seconds=1)


def test_the_deadline_is_an_instant_whatever_the_offset_the_push_is_seen_in():
    config = assignment(due=DUE.isoformat())
    same_instant_in_utc = DUE.astimezone(UTC)
    assert judge(config, same_instant_in_utc).standing is Standing.ON_TIME
    assert judge(config, same_instant_in_utc + timedelta(minutes=1)).late


@pytest.mark.parametrize(
    ("late_by", "penalty"),
    [
        (timedelta(minutes=1), 0.1),
        (timedelta(days=1), 0.1),
        (timedelta(days=1, seconds=1), 0.2),
        (timedelta(days=2, hours=23), 0.3),
    ],
)
def test_the_penalty_counts_each_day_or_part_of_one(late_by, penalty):
    config = assignment(due=DUE.isoformat(), late={"policy": "penalty", "penalty_per_day": 0.1})
    timing = judge(config, DUE + late_by)
    assert timing.standing is Standing.LATE and timing.penalty == pytest.approx(penalty)


def test_the_penalty_never_takes_more_than_the_whole_score():
    config = assignment(due=DUE.isoformat(), late={"policy": "penalty", "penalty_per_day": 0.4})
    assert judge(config, DUE + timedelta(days=9)).penalty == 1.0
    assert penalized(8.0, 1.0) == 0.0


def test_penalized_scores():
    assert penalized(8.0, 0.25) == 6.0
    assert penalized(None, 0.5) is None
    assert penalized(7.0, 0.0) == 7.0


def test_late_pushes_are_closed_under_the_ignore_policy_and_the_reason_says_so():
    config = assignment(due=DUE.isoformat(), late={"policy": "ignore"})
    timing = judge(config, DUE + timedelta(hours=2, minutes=5))
    assert timing.standing is Standing.CLOSED
    assert "2 hours 5 minutes after the deadline (2026-12-01 23:59 +01:00)" in timing.why
    assert "not graded" in timing.why.lower()


@pytest.mark.parametrize("policy", ["grade", "penalty", "ignore"])
def test_after_the_cutoff_nothing_is_graded_whatever_the_policy(policy):
    late = {"policy": policy, "penalty_per_day": 0.1, "cutoff": CUTOFF.isoformat()}
    config = assignment(due=DUE.isoformat(), late=late)
    assert judge(config, CUTOFF).standing is not Standing.CLOSED or policy == "ignore"
    timing = judge(config, CUTOFF + timedelta(seconds=1))
    assert timing.standing is Standing.CLOSED and "2026-12-04 23:59 +01:00" in timing.why


def test_the_reveal_is_at_the_deadline_or_at_the_cutoff_while_late_pushes_are_graded():
    assert reveal_moment(assignment()) is None
    assert reveal_moment(assignment(due=DUE.isoformat())) == DUE
    graded_late = {"policy": "grade", "cutoff": CUTOFF.isoformat()}
    assert reveal_moment(assignment(due=DUE.isoformat(), late=graded_late)) == CUTOFF
    ignored = {"policy": "ignore", "cutoff": CUTOFF.isoformat()}
    assert reveal_moment(assignment(due=DUE.isoformat(), late=ignored)) == DUE


def test_the_level_shown_moves_to_after_due_at_the_reveal():
    config = assignment(due=DUE.isoformat(), visibility="score", after_due="full")
    assert shown_at(config, DUE - timedelta(seconds=1)) == (VisibilityLevel.SCORE, False)
    assert shown_at(config, DUE) == (VisibilityLevel.FULL, True)
    # Without after_due the level stays; the reveal still uncovers `after_due_date` tests.
    plain = assignment(due=DUE.isoformat(), visibility="tests")
    assert shown_at(plain, DUE + timedelta(days=1)) == (VisibilityLevel.TESTS, True)


def test_the_daily_window_is_the_calendar_day_in_the_deadlines_offset():
    config = assignment(due=DUE.isoformat())
    # 23:30 UTC on 30 November is 00:30 on 1 December in the deadline's offset.
    start, end = day_window(config, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert start == datetime(2026, 12, 1, 0, 0, tzinfo=CET)
    assert end - start == timedelta(days=1)
    start, _ = day_window(assignment(), datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert start == datetime(2026, 11, 30, tzinfo=UTC)


@given(st.datetimes(timezones=st.just(UTC)))
def test_every_moment_lies_in_its_own_daily_window(moment):
    start, end = day_window(assignment(due=DUE.isoformat()), moment)
    assert start <= moment < end


def test_durations_and_moments_read_as_a_student_would():
    assert describe(timedelta(seconds=40)) == "40 seconds"
    assert describe(timedelta(seconds=1)) == "1 second"
    assert describe(timedelta(minutes=5, seconds=3)) == "5 minutes"
    assert describe(timedelta(days=2, hours=3, minutes=4)) == "2 days 3 hours"
    assert show(DUE) == "2026-12-01 23:59 +01:00"
    assert show(DUE.astimezone(UTC)) == "2026-12-01 22:59 UTC"
    assert show(datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=5, minutes=30)))) == (
        "2026-01-01 00:00 -05:30"
    )
