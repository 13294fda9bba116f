"""New work, announced across processes: a web process that stores a push's job, or a teacher's
regrade, tells every worker at once instead of leaving it to their next poll.

On PostgreSQL an announcement is a `NOTIFY` in the transaction that stores the work: the server
delivers it when that transaction commits, never on a rollback, so a worker woken by it finds
what it was told of. Workers `LISTEN` on a connection of their own. On SQLite there is one
process, and its own in-memory wake-up does the same (`db.after_commit`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

CHANNEL = "pushgrade_work"
CHECK_S = 5.0  # how often a listening connection is checked for being alive


async def announce(session: AsyncSession) -> None:
    """New work is stored in `session`'s transaction: every listener hears of it once that
    transaction commits."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


async def listen(
    sessions: async_sessionmaker, on_work: Callable[[], None], stop: asyncio.Event
) -> None:
    """Call `on_work` for each announcement until `stop`. Raises when the connection is lost,
    for its supervisor to start it again (what was announced meanwhile is found by the next
    poll). On a database that cannot announce, waits for `stop`."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        await stop.wait()
        return
    lost = asyncio.Event()

    def heard(*_args) -> None:
        on_work()

    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        await raw.add_listener(CHANNEL, heard)
        raw.add_termination_listener(lambda _connection: lost.set())
        try:
            on_work()  # whatever was stored before we listened
            while not stop.is_set() and not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), CHECK_S)
                if raw.is_closed():
                    lost.set()
            if lost.is_set() and not stop.is_set():
                raise ConnectionError("the connection listening for new work was lost")
        finally:
            if not raw.is_closed():
                with contextlib.suppress(Exception):
                    await raw.remove_listener(CHANNEL, heard)
