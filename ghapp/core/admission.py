"""Admission verdicts: whether the policy grades a push — its branch, its deadline standing, the
repo's daily limit — and, when not, what the student and the teacher are told. Pure: the facts
(when it was pushed, how many were graded today, whether the sender is a teacher) are looked up
by `ghapp.work.admission` and handed in."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import NamedTuple

from ghapp.core import markdown as md
from ghapp.core.config import AssignmentConfig
from ghapp.core.deadline import Standing, Timing, show
from ghapp.core.events import Trigger


class Refusal(NamedTuple):
    title: str  # the check run's
    summary: str  # for the student
    note: str  # for the teacher


def off_branch(
    config: AssignmentConfig, *, trigger: Trigger, ref: str | None, default_branch: str | None
) -> Refusal | None:
    """A push to a branch the assignment does not grade (its `branches`, else the default
    branch). Only pushes are judged: a re-run or a regrade grades what it is asked to."""
    branch = (ref or "").removeprefix("refs/heads/")
    graded = config.branches or ((default_branch,) if default_branch else None)
    if trigger != Trigger.PUSH or not graded or _any_match(branch, graded):
        return None
    names = ", ".join(md.code(name, 100) for name in graded)
    return Refusal(
        "Not graded: this branch is not graded",
        f"Pushes to {md.code(branch, 100)} are not graded for this assignment. "
        f"Pushes to {names} are.",
        f"branch {branch} is not graded",
    )


def closed(timing: Timing) -> Refusal | None:
    """A push after the last moment the assignment takes one."""
    if timing.standing is not Standing.CLOSED:
        return None
    return Refusal("Not graded: after the deadline", timing.why, timing.why)


def counts_toward_limit(trigger: Trigger, sender: str | None) -> bool | None:
    """Whether a job counts against the daily limit; None: it does unless its sender is a
    teacher (a re-run asked on GitHub), which only GitHub can say."""
    if trigger == Trigger.DASHBOARD:  # only teachers reach the dashboard's buttons
        return False
    if trigger == Trigger.PUSH or not sender:
        return True
    return None


def over_daily_limit(limit: int, graded_today: int, resumes_at: datetime) -> Refusal:
    """The repo had `graded_today` pushes graded in the day's window, the limit's worth."""
    return Refusal(
        "Not graded: daily limit reached",
        f"This assignment grades at most {limit} push{'es' if limit > 1 else ''} "
        f"a day, and this repository has had {graded_today} graded today. "
        f"Grading resumes at {show(resumes_at)}: push again after that. "
        "Your teacher can still have this commit graded.",
        f"the daily limit of {limit} was reached",
    )


def _any_match(name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs)
