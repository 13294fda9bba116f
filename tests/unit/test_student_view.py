"""What a student at 23:58 reads on the check run: when the push was received and that it is on
time (or how late), the graded pushes left today, and for a grader's failure that the push keeps
its time. Pure: the same function serves grading, reveals and `pushgrade try --as-student`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ghapp.core.config import load_config
from ghapp.core.student import student_view
from runner.outcome import ErrorKind, Outcome, Status, TestResult, TestStatus

DUE = "2026-12-01T23:59:00+01:00"
DUE_AT = datetime.fromisoformat(DUE)
PASSED = Outcome(
    status=Status.PASSED,
    score=2,
    max_score=2,
    tests=[TestResult(name="adds", status=TestStatus.PASSED, score=2, max_score=2)],
)


def config(extra: str = ""):
    return load_config(f"image: g:1\nvisibility: tests\ndue: '{DUE}'\n{extra}")


@pytest.mark.parametrize(
    ("pushed", "opens_with"),
    [
        (DUE_AT - timedelta(minutes=1), "🕑 Received 2026-12-01 23:58 +01:00: on time (due "),
        (DUE_AT, "🕑 Received 2026-12-01 23:59 +01:00: on time"),  # the deadline itself
        (
            DUE_AT + timedelta(minutes=3),
            "⏰ **Late**: received 2026-12-02 00:02 +01:00, 3 minutes after the deadline",
        ),
    ],
)
def test_the_check_run_opens_with_when_the_push_was_received(pushed, opens_with):
    view = student_view(config(), PASSED, pushed_at=pushed, now=pushed + timedelta(seconds=1))
    assert view.report.summary.startswith(opens_with), view.report.summary


def test_the_received_time_is_shown_as_the_deadline_is_whatever_the_servers_zone():
    pushed = datetime.fromisoformat("2026-12-01T22:58:00+00:00")  # 23:58 at +01:00
    view = student_view(config(), PASSED, pushed_at=pushed, now=pushed)
    assert "Received 2026-12-01 23:58 +01:00" in view.report.summary


def test_without_a_deadline_nothing_is_said_of_time():
    plain = load_config("image: g:1\nvisibility: tests\n")
    view = student_view(plain, PASSED, pushed_at=DUE_AT, now=DUE_AT)
    assert "Received" not in view.report.summary and view.notes == ()


@pytest.mark.parametrize(
    ("graded", "says"),
    [
        (
            1,
            "🔢 2 graded pushes left today, of 3 a day (a new day starts 2026-12-02 00:00 +01:00).",
        ),
        (2, "🔢 1 graded push left today, of 3 a day"),
        (3, "🔢 0 graded pushes left today, of 3 a day"),
        (None, None),  # a push that does not count (a teacher's): nothing said
    ],
)
def test_the_pushes_left_today_under_a_daily_limit(graded, says):
    pushed = DUE_AT - timedelta(hours=2)
    view = student_view(
        config("max_graded_per_day: 3\n"), PASSED, pushed_at=pushed, now=pushed,
        graded_today=graded,
    )  # fmt: skip
    if says is None:
        assert "graded push" not in view.report.summary
    else:
        assert says in view.report.summary


def test_hidden_results_still_say_when_the_push_was_received():
    hidden = load_config(f"image: g:1\nvisibility: hidden\ndue: '{DUE}'\n")
    pushed = DUE_AT - timedelta(minutes=2)
    view = student_view(hidden, PASSED, pushed_at=pushed, now=pushed)
    assert view.report.conclusion == "neutral"
    assert view.report.summary.startswith("🕑 Received 2026-12-01 23:57 +01:00: on time")
    assert "adds" not in view.report.summary


def test_a_graders_failure_says_when_the_push_was_received_and_that_it_keeps_that_time():
    failed = Outcome.errored(ErrorKind.GRADER_FAILED, "no results.json; exited with code 1")
    pushed = DUE_AT - timedelta(minutes=2)
    view = student_view(config(), failed, pushed_at=pushed, now=pushed)
    assert view.report.conclusion == "action_required"
    assert view.report.summary.startswith("🕑 Received 2026-12-01 23:57 +01:00: on time")
    assert "keeps the time it was received" in view.report.summary
    assert "results.json" not in view.report.summary


def test_a_run_shown_less_before_the_deadline_is_shown_again_at_it():
    cfg = config("after_due: full\n")
    pushed = DUE_AT - timedelta(hours=1)
    before = student_view(cfg, PASSED, pushed_at=pushed, now=pushed)
    assert before.reveal_at == DUE_AT and not before.after_due
    after = student_view(cfg, PASSED, pushed_at=pushed, now=DUE_AT + timedelta(minutes=1))
    assert after.after_due and after.reveal_at is None
    assert after.report.summary.startswith("🕑 Received")  # still on time, after the deadline
