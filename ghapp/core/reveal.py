"""Reveals: a run graded before its deadline is shown at the level the policy allows then
(`visibility`), and again at the `after_due` level once the deadline has passed — but only if
that shows more. Pure: the worker stores the moment with the submission."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ghapp.core.config import AssignmentConfig
from ghapp.core.deadline import reveal_moment, shown_at
from ghapp.core.report import CheckRunReport, Lateness, render_report
from runner.outcome import Outcome


def reveal_at(
    config: AssignmentConfig,
    outcome: Outcome,
    shown: CheckRunReport,
    *,
    after_due: bool,
    late: Lateness | None,
    notes: Sequence[str] = (),
) -> datetime | None:
    """When the run whose check run now shows `shown` is to be shown again, at the
    after-deadline level; None when never: no deadline, the deadline has passed already
    (`after_due`), or the check run would read the same then."""
    moment = reveal_moment(config)
    if after_due or moment is None:
        return None
    later, _ = shown_at(config, moment)
    if render_report(outcome, visibility=later, after_due=True, late=late, notes=notes) == shown:
        return None
    return moment
