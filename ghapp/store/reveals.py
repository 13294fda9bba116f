"""Reveals: graded runs whose reveal moment has passed, each claimed under a lease while it is
re-rendered, and marked once it is."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store import lease
from ghapp.store.db import write_session
from ghapp.store.models import (
    Submission,
    utcnow,
)


async def claim_reveal(sessions: async_sessionmaker, *, lease_s: float) -> Submission | None:
    """A graded run whose reveal moment has passed, held for `lease_s` while it is re-rendered;
    None when there is none. A worker that dies mid-reveal lets the lease lapse."""
    now = utcnow()
    candidate = (
        select(Submission.id)
        .where(
            Submission.reveal_at <= now,
            Submission.revealed_at.is_(None),
            lease.free(Submission.reveal_lease_until, now),
        )
        .order_by(Submission.reveal_at, Submission.id)
        .limit(1)
    )
    return await lease.claim(
        sessions,
        Submission,
        candidate,
        reveal_lease_until=now + timedelta(seconds=lease_s),
    )


async def revealed(sessions: async_sessionmaker, submission_id: int, level: str) -> None:
    async with write_session(sessions) as session:
        await session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(revealed_at=utcnow(), reveal_lease_until=None, level=level)
        )
