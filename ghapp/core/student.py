"""What a student reads on the check run of a graded push: the outcome, shown at the level the
policy allows at a moment, opened with when the push was received and how it stands against the
deadline and the daily limit. Pure: grading, reveals and `pushgrade try --as-student` share it,
so a teacher's preview is what the student gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ghapp.core.config import AssignmentConfig, VisibilityLevel
from ghapp.core.deadline import (
    Standing,
    attempts_note,
    describe,
    judge,
    local,
    received_note,
    show,
    shown_at,
)
from ghapp.core.extension import extension_note
from ghapp.core.report import CheckRunReport, Lateness, render_report
from ghapp.core.reveal import reveal_at
from runner.outcome import Outcome


@dataclass(frozen=True)
class StudentView:
    report: CheckRunReport
    level: VisibilityLevel
    after_due: bool
    late: Lateness | None
    notes: tuple[str, ...]
    reveal_at: datetime | None  # when to show it again, at the after-deadline level

    @property
    def penalty(self) -> float:
        return self.late.penalty if self.late else 0.0


def student_view(
    config: AssignmentConfig,
    outcome: Outcome,
    *,
    pushed_at: datetime,
    now: datetime,
    graded_today: int | None = None,
    extended: bool = False,
) -> StudentView:
    """The check run for `outcome` of a push received at `pushed_at` (a regrade's: its first
    push's), as shown at `now`. `graded_today`: under a daily limit, the pushes counted on its
    day, this one included (None: it does not count, say nothing of the limit). `extended`:
    `config` carries the student's own extended dates, which the check run says."""
    late = lateness(config, pushed_at)
    notes = tuple(
        note
        for note in (
            extension_note(config.due) if extended and config.due is not None else None,
            received_note(config, pushed_at),
            attempts_note(config, graded_today, pushed_at) if graded_today is not None else None,
        )
        if note
    )
    level, after_due = shown_at(config, now)
    report = render_report(outcome, visibility=level, after_due=after_due, late=late, notes=notes)
    when = reveal_at(config, outcome, report, after_due=after_due, late=late, notes=notes)
    return StudentView(report, level, after_due, late, notes, when)


def lateness(config: AssignmentConfig, pushed_at: datetime) -> Lateness | None:
    timing = judge(config, pushed_at)
    if timing.standing is not Standing.LATE or config.due is None:
        return None
    return Lateness(
        describe(timing.late_by),
        show(config.due),
        timing.penalty,
        received=show(local(pushed_at, config)),
    )
