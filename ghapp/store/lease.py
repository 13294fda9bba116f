"""Leases, as every table that has them keeps them: a moment until which one worker holds a row
(a job, a reveal, a grader build). A lease never taken, or lapsed, is free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement


def free(until, now: datetime) -> ColumnElement[bool]:
    """Nobody holds the lease whose end is the column `until` at `now`."""
    return or_(until.is_(None), until < now)


def held(until, now: datetime) -> ColumnElement[bool]:
    """Somebody holds it at `now`."""
    return until >= now
