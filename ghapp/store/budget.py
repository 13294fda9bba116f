"""The write budget's rows: the places taken by check-run writes (kept an hour) and the blocks
GitHub asked for, shared by every worker process on every host. The arithmetic — priorities,
reserves, windows — is `ghapp.core.budget`'s."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.core.budget import Limits, Priority, room, wait_for
from ghapp.store.db import write_session
from ghapp.store.models import GitHubBlock, GitHubWrite, utcnow


class WriteBudget:
    def __init__(self, sessions: async_sessionmaker, limits: Limits | None = None) -> None:
        self.sessions = sessions
        self.limits = limits or Limits()

    async def take(self, installation_id: int, priority: Priority, *, owed: int = 0) -> float:
        """Take a place for one write now: 0.0 when taken, else the seconds to wait before
        asking again (the installation is blocked, or its budget is spent for `priority`).

        `owed`: results still to come for this installation (jobs not finished, results not
        sent). Anything but a result leaves that many places of the hour to them: at a
        deadline the "queued" notices are what gives way, not an hour's wait for a result."""
        now = utcnow()
        async with write_session(self.sessions) as session:
            if session.bind.dialect.name == "postgresql":  # one taker per installation at once
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": installation_id}
                )
            until = await session.scalar(
                select(GitHubBlock.until).where(GitHubBlock.installation_id == installation_id)
            )
            if until is not None and until > now:
                return (until - now).total_seconds()
            waits = []
            for limit, window, hourly in (
                (self.limits.per_minute, self.limits.minute, False),
                (self.limits.per_hour, self.limits.hour, True),
            ):
                if limit is None:
                    continue
                allowed = room(limit, priority, hourly=hourly, owed=owed)
                if allowed < 1:
                    waits.append(self.limits.minute.total_seconds() / 4)
                    continue
                recent = (
                    select(GitHubWrite.at)
                    .where(
                        GitHubWrite.installation_id == installation_id,
                        GitHubWrite.at > now - window,
                    )
                    .order_by(GitHubWrite.at.desc())
                )
                # The write that must leave the window before one more fits under `allowed`.
                blocking = await session.scalar(recent.offset(allowed - 1).limit(1))
                wait = wait_for(blocking, window, now)
                if wait is not None:
                    waits.append(wait)
            if waits:
                return max(waits)
            session.add(GitHubWrite(installation_id=installation_id, at=now))
            return 0.0

    async def block(self, installation_id: int, seconds: float) -> None:
        """GitHub asked us to wait: nothing is sent for this installation until then."""
        until = utcnow() + timedelta(seconds=seconds)
        async with write_session(self.sessions) as session:
            block = await session.get(GitHubBlock, installation_id)
            if block is None:
                session.add(GitHubBlock(installation_id=installation_id, until=until))
            elif block.until < until:
                block.until = until

    async def used(self, installation_id: int) -> tuple[int, int]:
        """Writes sent in the last minute and the last hour."""
        now = utcnow()
        counts = []
        async with self.sessions() as session:
            for window in (self.limits.minute, self.limits.hour):
                counts.append(
                    await session.scalar(
                        select(func.count()).where(
                            GitHubWrite.installation_id == installation_id,
                            GitHubWrite.at > now - window,
                        )
                    )
                )
        return counts[0], counts[1]

    async def prune(self) -> None:
        """Forget writes older than the hour window: they count for nothing any more."""
        before: datetime = utcnow() - self.limits.hour
        async with write_session(self.sessions) as session:
            await session.execute(delete(GitHubWrite).where(GitHubWrite.at < before))
