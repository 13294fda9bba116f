"""Workers: heartbeats (an upsert: the first beat registers a worker), who is alive, and a
clean goodbye."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import dialect_insert, write_session
from ghapp.store.models import (
    WorkerBeat,
    utcnow,
)


async def heartbeat(sessions: async_sessionmaker, name: str, *, slots: int) -> None:
    """Say this worker is alive (an upsert: the first beat registers it)."""
    now = utcnow()
    async with write_session(sessions) as session:
        statement = dialect_insert(session)(WorkerBeat).values(
            name=name, started_at=now, heartbeat_at=now, slots=slots
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"heartbeat_at": now, "slots": slots}
            )
        )


async def known_workers(sessions: async_sessionmaker, *, fresh_s: float) -> dict[str, bool]:
    """Every worker of this deployment that beat in the last day, and whether its heartbeat is
    younger than `fresh_s` (alive) or not (dead: its containers are orphans)."""
    now = utcnow()
    async with write_session(sessions) as session:
        await session.execute(
            delete(WorkerBeat).where(WorkerBeat.heartbeat_at < now - timedelta(days=1))
        )
        rows = await session.execute(select(WorkerBeat.name, WorkerBeat.heartbeat_at))
        return {name: (now - at).total_seconds() < fresh_s for name, at in rows.all()}


async def gone(sessions: async_sessionmaker, name: str) -> None:
    """A worker stopping cleanly says so: nobody has to wait for its heartbeat to age."""
    async with write_session(sessions) as session:
        await session.execute(delete(WorkerBeat).where(WorkerBeat.name == name))
