"""Extensions (pure): what a grant may be, and the deadlines it gives the student's repo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ghapp.core.config import AssignmentConfig
from ghapp.core.deadline import Standing, judge
from ghapp.core.extension import extended, extension_note, grant_problems

CET = timezone(timedelta(hours=1))
DUE = datetime(2026, 12, 10, 23, 59, tzinfo=CET)


def config(**fields) -> AssignmentConfig:
    return AssignmentConfig.model_validate({"image": "g:1", "due": DUE.isoformat(), **fields})


@pytest.mark.parametrize(
    ("fields", "due", "cutoff", "problems"),
    [
        ({}, DUE + timedelta(days=2), None, []),
        (
            {},
            DUE,
            None,
            ["the new due date must be after the assignment's (2026-12-10 23:59 +01:00)"],
        ),
        (
            {},
            DUE + timedelta(days=2),
            DUE + timedelta(days=1),
            ["the cutoff must not be before the new due date"],
        ),
        (
            {"late": {"cutoff": (DUE + timedelta(days=5)).isoformat()}},
            DUE + timedelta(days=1),
            DUE + timedelta(days=2),
            ["the cutoff must not be before the assignment's (2026-12-15 23:59 +01:00)"],
        ),
        ({"due": None}, DUE, None, ["the assignment has no due date to extend"]),
    ],
)
def test_an_extension_only_moves_dates_later(fields, due, cutoff, problems):
    assert grant_problems(config(**fields), due, cutoff) == problems


def test_the_cutoff_moves_with_the_due_date_unless_given():
    base = config(
        late={
            "policy": "penalty",
            "penalty_per_day": 0.1,
            "cutoff": (DUE + timedelta(days=3)).isoformat(),
        }
    )
    moved = extended(base, DUE + timedelta(days=2), None)
    assert moved.due == DUE + timedelta(days=2)
    assert moved.late.cutoff == DUE + timedelta(days=5)
    assert (moved.late.policy, moved.late.penalty_per_day) == ("penalty", 0.1)
    given = extended(base, DUE + timedelta(days=2), DUE + timedelta(days=9))
    assert given.late.cutoff == DUE + timedelta(days=9)
    plain = extended(config(), DUE + timedelta(days=1), DUE + timedelta(days=2))
    assert plain.late.cutoff == DUE + timedelta(days=2) and plain.late.policy == "grade"
    assert extended(config(), DUE + timedelta(days=1), None).late is None


def test_a_push_late_for_the_class_is_on_time_for_the_extended_student():
    pushed = DUE + timedelta(hours=5)
    assert judge(config(), pushed).standing is Standing.LATE
    assert (
        judge(extended(config(), DUE + timedelta(days=1), None), pushed).standing
        is Standing.ON_TIME
    )


def test_the_note_shows_the_new_date_in_its_offset():
    assert extension_note(DUE + timedelta(days=1)) == (
        "📅 Your due date is extended to 2026-12-11 23:59 +01:00."
    )
    assert extension_note(datetime(2026, 12, 11, 12, 0, tzinfo=UTC)).endswith("12:00 UTC.")
