"""Extensions in the database: granted (replacing the last), revoked, and found for a push."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import Extension, utcnow


@dataclass(frozen=True)
class Granted:
    repo: str
    due: datetime  # in the UTC offset the teacher gave
    cutoff: datetime | None
    granted_by: str
    granted_at: datetime


def _granted(row: Extension) -> Granted:
    zone = timezone(timedelta(minutes=row.offset_minutes))
    return Granted(
        row.repo,
        row.due.astimezone(zone),
        row.cutoff.astimezone(zone) if row.cutoff else None,
        row.granted_by,
        row.granted_at,
    )


async def grant(
    sessions: async_sessionmaker,
    *,
    org: str,
    assignment: str,
    repo: str,
    due: datetime,
    cutoff: datetime | None,
    by: str,
) -> None:
    offset = due.utcoffset() or timedelta()
    async with write_session(sessions) as session:
        row = await session.scalar(
            select(Extension).where(
                Extension.org == org.lower(),
                Extension.assignment == assignment,
                Extension.repo == repo.lower(),
            )
        )
        if row is None:
            row = Extension(org=org.lower(), assignment=assignment, repo=repo.lower())
            session.add(row)
        row.due, row.cutoff = due, cutoff
        row.offset_minutes = int(offset.total_seconds()) // 60
        row.granted_by, row.granted_at = by, utcnow()


async def revoke(sessions: async_sessionmaker, *, org: str, assignment: str, repo: str) -> bool:
    async with write_session(sessions) as session:
        done = await session.execute(
            delete(Extension).where(
                Extension.org == org.lower(),
                Extension.assignment == assignment,
                Extension.repo == repo.lower(),
            )
        )
        return done.rowcount == 1


async def find(
    sessions: async_sessionmaker, *, org: str, assignment: str | None, repo: str
) -> Granted | None:
    if assignment is None:
        return None
    async with sessions() as session:
        row = await session.scalar(
            select(Extension).where(
                Extension.org == org.lower(),
                Extension.assignment == assignment,
                Extension.repo == repo.lower(),
            )
        )
        return _granted(row) if row is not None else None


async def of_assignment(
    sessions: async_sessionmaker, *, org: str, assignment: str
) -> dict[str, Granted]:
    """The assignment's extensions by repository (lower-case)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Extension).where(
                Extension.org == org.lower(), Extension.assignment == assignment
            )
        )
        return {row.repo: _granted(row) for row in rows.scalars()}
