"""A student's (or team's) extension: their own due date and cutoff for one assignment. Pure:
what a grant may be, and the assignment's settings as they apply to that student's repository
(every deadline decision — late, penalty, cutoff, daily window, reveal — then uses them)."""

from __future__ import annotations

from datetime import datetime

from ghapp.core.config import AssignmentConfig, LateConfig
from ghapp.core.deadline import show


def grant_problems(config: AssignmentConfig, due: datetime, cutoff: datetime | None) -> list[str]:
    """Why this grant cannot be, or nothing: an extension moves dates later, never earlier."""
    problems = []
    if config.due is None:
        problems.append("the assignment has no due date to extend")
    elif due <= config.due:
        problems.append(f"the new due date must be after the assignment's ({show(config.due)})")
    if cutoff is not None and cutoff < due:
        problems.append("the cutoff must not be before the new due date")
    own_cutoff = config.late.cutoff if config.late else None
    if cutoff is not None and own_cutoff is not None and cutoff < own_cutoff:
        problems.append(f"the cutoff must not be before the assignment's ({show(own_cutoff)})")
    return problems


def extended(config: AssignmentConfig, due: datetime, cutoff: datetime | None) -> AssignmentConfig:
    """The assignment as it applies to the student with this extension: `due`, and `cutoff`
    (when not given, the assignment's own cutoff moved by as much as the due date, so late work
    keeps its window)."""
    late = config.late
    if cutoff is None and late is not None and late.cutoff is not None and config.due is not None:
        cutoff = late.cutoff + (due - config.due)
    if late is not None:
        late = late.model_copy(update={"cutoff": cutoff})
    elif cutoff is not None:
        late = LateConfig(cutoff=cutoff)
    return config.model_copy(update={"due": due, "late": late})


def extension_note(due: datetime) -> str:
    return f"📅 Your due date is extended to {show(due)}."
