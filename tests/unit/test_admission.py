"""Admission verdicts (ghapp.core.admission): which pushes the policy grades, and what a student
and a teacher are told when it does not. Pure: the facts are handed in."""

from datetime import UTC, datetime, timedelta

import pytest

from ghapp.core.admission import closed, counts_toward_limit, off_branch, over_daily_limit
from ghapp.core.config import load_config
from ghapp.core.deadline import Standing, Timing

IMAGE = "image: grader:1\n"


@pytest.mark.parametrize(
    ("config", "trigger", "ref", "default", "refused"),
    [
        # No `branches`: the default branch only.
        (IMAGE, "push", "refs/heads/main", "main", None),
        (IMAGE, "push", "refs/heads/feature", "main", "branch feature is not graded"),
        # The default branch unknown (an old payload): every branch is graded.
        (IMAGE, "push", "refs/heads/feature", None, None),
        # Globs, matched case-sensitively, as git names are.
        (IMAGE + "branches: [main, 'hw/*']\n", "push", "refs/heads/hw/1", "main", None),
        (
            IMAGE + "branches: ['hw/*']\n",
            "push",
            "refs/heads/HW/1",
            "main",
            "branch HW/1 is not graded",
        ),
        (
            IMAGE + "branches: ['hw/*']\n",
            "push",
            "refs/heads/main",
            "main",
            "branch main is not graded",
        ),
        # A re-run or a regrade grades the commit it is asked to, whatever its branch.
        (IMAGE, "rerun", "refs/heads/feature", "main", None),
        (IMAGE, "dashboard", "refs/heads/feature", "main", None),
        # A push with no ref (a tag push never reaches here; a missing ref is no branch).
        (IMAGE, "push", None, "main", "branch  is not graded"),
    ],
)
def test_off_branch(config, trigger, ref, default, refused):
    verdict = off_branch(load_config(config), trigger=trigger, ref=ref, default_branch=default)
    assert (verdict.note if verdict else None) == refused
    if verdict is not None:
        assert verdict.title == "Not graded: this branch is not graded"
        assert "are not graded for this assignment. Pushes to `" in verdict.summary


def test_off_branch_names_the_branches_that_are_graded():
    config = load_config(IMAGE + "branches: [main, release]\n")
    verdict = off_branch(config, trigger="push", ref="refs/heads/feature", default_branch="main")
    assert verdict.summary == (
        "Pushes to `feature` are not graded for this assignment. Pushes to `main`, `release` are."
    )


@pytest.mark.parametrize(
    ("timing", "refused"),
    [
        (Timing(Standing.ON_TIME), False),
        (Timing(Standing.LATE, timedelta(hours=1), 0.1), False),  # late is graded
        (Timing(Standing.CLOSED, timedelta(days=3), why="After the cutoff. Not graded."), True),
    ],
)
def test_closed(timing, refused):
    verdict = closed(timing)
    assert (verdict is not None) is refused
    if verdict is not None:
        assert verdict == ("Not graded: after the deadline", timing.why, timing.why)


@pytest.mark.parametrize(
    ("trigger", "sender", "counts"),
    [
        ("push", "student", True),
        ("push", None, True),
        ("dashboard", "teacher", False),  # only teachers reach the dashboard
        ("rerun", None, True),  # nobody to ask about
        ("rerun", "someone", None),  # a teacher's re-run is free: ask GitHub
        ("check_suite", "someone", None),
    ],
)
def test_counts_toward_limit(trigger, sender, counts):
    assert counts_toward_limit(trigger, sender) is counts


@pytest.mark.parametrize(
    ("limit", "graded", "pushes"),
    [(1, 1, "1 push a day"), (3, 3, "3 pushes a day"), (5, 7, "5 pushes a day")],
)
def test_over_daily_limit(limit, graded, pushes):
    resumes = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    verdict = over_daily_limit(limit, graded, resumes)
    assert verdict.title == "Not graded: daily limit reached"
    assert f"grades at most {pushes}" in verdict.summary
    assert f"has had {graded} graded today" in verdict.summary
    assert "Grading resumes at 2026-12-02 00:00 UTC" in verdict.summary
    assert verdict.note == f"the daily limit of {limit} was reached"


@pytest.mark.parametrize(
    ("branches", "ref", "said"),
    [
        # A glob is shown as the teacher wrote it, not with Markdown escapes GitHub would show.
        (
            "['hw*', 'lab[0-9]']",
            "refs/heads/main",
            "Pushes to `main` are not graded for this assignment. Pushes to `hw*`, `lab[0-9]` are.",
        ),
        # A branch name with backticks cannot end its code span early.
        (
            "[main]",
            "refs/heads/x`**y**`",
            "Pushes to `` x`**y**` `` are not graded for this assignment. Pushes to `main` are.",
        ),
        (
            "[main]",
            "refs/heads/a``b",
            "Pushes to ```a``b``` are not graded for this assignment. Pushes to `main` are.",
        ),
    ],
)
def test_off_branch_shows_names_exactly(branches, ref, said):
    config = load_config(IMAGE + f"branches: {branches}\n")
    verdict = off_branch(config, trigger="push", ref=ref, default_branch="main")
    assert verdict.summary == said
