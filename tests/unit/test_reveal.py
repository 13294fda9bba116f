"""When a run graded before its deadline is shown again (ghapp.core.reveal): pure."""

from datetime import UTC, datetime

import pytest

from ghapp.core.config import load_config
from ghapp.core.deadline import shown_at
from ghapp.core.report import render_report
from ghapp.core.reveal import reveal_at
from runner.outcome import Outcome, Status, TestResult, TestStatus, Visibility

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
CUTOFF = datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
BEFORE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

PLAIN = Outcome(
    status=Status.FAILED,
    score=1,
    max_score=2,
    tests=[
        TestResult(name="adds", status=TestStatus.PASSED, score=1, max_score=1),
        TestResult(name="subtracts", status=TestStatus.FAILED, score=0, max_score=1),
    ],
)
SECRET_TEST = PLAIN.model_copy(
    update={
        "tests": [
            *PLAIN.tests,
            TestResult(
                name="edge cases",
                status=TestStatus.FAILED,
                score=0,
                max_score=1,
                visibility=Visibility.AFTER_DUE_DATE,
            ),
        ]
    }
)


def config(extra: str):
    return load_config(f"image: grader:1\n{extra}")


@pytest.mark.parametrize(
    ("settings", "outcome", "graded_at", "expected"),
    [
        # No deadline: nothing to reveal, ever.
        ("visibility: score\nafter_due: full\n", PLAIN, BEFORE, None),
        # Score now, everything after the deadline: shown again at the deadline.
        (f"visibility: score\nafter_due: full\ndue: '{DUE.isoformat()}'\n", PLAIN, BEFORE, DUE),
        # Graded after the deadline: shown at the after-deadline level already.
        (f"visibility: score\nafter_due: full\ndue: '{DUE.isoformat()}'\n", PLAIN, AFTER, None),
        # The same level before and after: nothing would change.
        (f"visibility: full\ndue: '{DUE.isoformat()}'\n", PLAIN, BEFORE, None),
        # ... unless a test is shown only after the deadline (Gradescope's after_due_date).
        (f"visibility: full\ndue: '{DUE.isoformat()}'\n", SECRET_TEST, BEFORE, DUE),
        # Late pushes graded until a cutoff: the tests stay secret until then.
        (
            f"visibility: score\nafter_due: full\ndue: '{DUE.isoformat()}'\n"
            f"late: {{policy: grade, cutoff: '{CUTOFF.isoformat()}'}}\n",
            PLAIN,
            BEFORE,
            CUTOFF,
        ),
        # Late pushes not graded: the deadline is the moment.
        (
            f"visibility: score\nafter_due: full\ndue: '{DUE.isoformat()}'\n"
            f"late: {{policy: ignore, cutoff: '{CUTOFF.isoformat()}'}}\n",
            PLAIN,
            BEFORE,
            DUE,
        ),
    ],
)
def test_reveal_at(settings, outcome, graded_at, expected):
    assignment = config(settings)
    level, after_due = shown_at(assignment, graded_at)
    shown = render_report(outcome, visibility=level, after_due=after_due, late=None)
    assert reveal_at(assignment, outcome, shown, after_due=after_due, late=None) == expected
