"""Warm requests: images one worker was asked to make ready, left for every other worker to make
ready on its own engine too; kept a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import WarmRequest, utcnow

KEPT = timedelta(days=1)


async def ask(
    sessions: async_sessionmaker, installation_id: int, owner: str, configs: dict[str, dict]
) -> None:
    """One request for each assignment (by name: its settings as JSON)."""
    async with write_session(sessions) as session:
        session.add_all(
            WarmRequest(
                installation_id=installation_id, owner=owner, assignment=name, config=config
            )
            for name, config in configs.items()
        )


async def after(
    sessions: async_sessionmaker, cursor: int, *, since: datetime, limit: int = 100
) -> list[WarmRequest]:
    """The requests after the one numbered `cursor`, made at `since` or later, oldest first."""
    async with sessions() as session:
        found = await session.execute(
            select(WarmRequest)
            .where(WarmRequest.id > cursor, WarmRequest.created_at >= since)
            .order_by(WarmRequest.id)
            .limit(limit)
        )
        return list(found.scalars().all())


async def forget_old(sessions: async_sessionmaker) -> None:
    async with write_session(sessions) as session:
        await session.execute(delete(WarmRequest).where(WarmRequest.created_at < utcnow() - KEPT))
