"""Leases, as every table that has them keeps them: a moment until which one worker holds a row
(a job, a reveal, a grader build). A lease never taken, or lapsed, is free."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from ghapp.store.db import write_session


def free(until, now: datetime) -> ColumnElement[bool]:
    """Nobody holds the lease whose end is the column `until` at `now`."""
    return or_(until.is_(None), until < now)


def held(until, now: datetime) -> ColumnElement[bool]:
    """Somebody holds it at `now`."""
    return until >= now


async def claim(
    sessions: async_sessionmaker,
    model,
    candidate: Select,
    *,
    more: Callable[[], object] | None = None,
    **values,
):
    """The row `candidate` (a select of one id of `model`) finds, updated with `values` (its
    lease) in one statement, or None. Idle workers poll: a read (concurrent with everything
    under WAL) finds out whether there is anything to claim before a write transaction is
    opened for it; `more` is called when that read saw another row to claim after this one
    (a hint for waking another claimer, never a promise). On PostgreSQL rows other workers
    hold are skipped (`SKIP LOCKED`); on SQLite the one writer makes the UPDATE atomic."""
    async with sessions() as session:
        seen = (await session.scalars(candidate.limit(2))).all()
    if not seen:
        return None
    async with write_session(sessions) as session:
        if session.bind.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        result = await session.execute(
            update(model)
            .where(model.id == candidate.scalar_subquery())
            .values(**values)
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        taken = result.scalars().first()
    if taken is not None and len(seen) > 1 and more is not None:
        more()
    return taken
