"""Dashboard sign-in rows: one per signed-in browser, added at sign-in (clearing the expired
ones), read on each request, deleted at sign-out. The cookies and their signing are web's."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import WebSession


async def add(sessions: async_sessionmaker, row: WebSession) -> None:
    """Store a new session row, deleting the expired ones in the same transaction."""
    async with write_session(sessions) as session:
        await session.execute(delete(WebSession).where(WebSession.expires_at < row.created_at))
        session.add(row)


async def get(sessions: async_sessionmaker, row_id: str) -> WebSession | None:
    """The session row with this id, expired or not; None if there is none."""
    async with sessions() as session:
        return await session.get(WebSession, row_id)


async def remove(sessions: async_sessionmaker, row_id: str) -> None:
    """Sign-out: the row goes (nothing happens if it is already gone)."""
    async with write_session(sessions) as session:
        await session.execute(delete(WebSession).where(WebSession.id == row_id))
