"""The write budget: how many content-generating requests an installation may still send.

GitHub allows 80 such requests a minute and 500 an hour per installation (secondary limits);
past them it answers 403 and the installation is locked out, exactly at a deadline. So every
check-run write first takes a place here. The places taken are rows in the database (kept an
hour), so every worker process on every host counts the same budget, and the windows slide:
no minute or hour, however aligned, ever sees more than the limit.

Priorities keep room for what matters: a fresh result may use the whole budget; a "queued"
notice leaves a tenth of the minute and half of the hour, and the hour's places owed to results
still to come; reveals and regrades leave a quarter; an intermediate "in progress" half of the
minute and more of the hour. When GitHub says wait (403/429 with `retry-after`), the
installation is blocked that long for every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import GitHubBlock, GitHubWrite, utcnow


class Priority(IntEnum):
    INTERMEDIATE = 10  # "in progress": replaced by the result soon anyway
    BACKGROUND = 20  # reveals after a deadline, regrades: never before a fresh result
    NOTICE = 30  # "queued", and not-graded notices
    FINAL = 40  # a fresh result


# The share of each limit (the minute's, the hour's) a priority leaves unused, for those above
# it. Notices may take only half the hour: every push sent a notice needs a second write for its
# result, and the pushes still to come in the hour need theirs (300 pushes with a notice each
# would need 600 writes of the hour's 500, and the last results would wait an hour).
RESERVE = {
    Priority.FINAL: (0.0, 0.0),
    Priority.NOTICE: (0.1, 0.5),
    Priority.BACKGROUND: (0.25, 0.25),
    Priority.INTERMEDIATE: (0.5, 0.6),
}


@dataclass(frozen=True)
class Limits:
    per_minute: int | None = 80  # None: no limit (GitHub Enterprise Server may have none)
    per_hour: int | None = 500
    # Time runs this much faster for the windows (benchmarks and tests on a fast clock).
    clock_scale: float = 1.0

    @property
    def minute(self) -> timedelta:
        return _with_margin(60 / self.clock_scale)

    @property
    def hour(self) -> timedelta:
        return _with_margin(3600 / self.clock_scale)


def _with_margin(seconds: float) -> timedelta:
    # A write is counted when its place is taken, a moment before GitHub sees it: a window a
    # little longer than GitHub's keeps a write from arriving just before the oldest leaves.
    return timedelta(seconds=seconds * 1.02 + 0.5)


class WriteBudget:
    def __init__(self, sessions: async_sessionmaker, limits: Limits = Limits()) -> None:
        self.sessions = sessions
        self.limits = limits

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
            minute_reserve, hour_reserve = RESERVE[priority]
            for limit, window, keep, reserve in (
                (self.limits.per_minute, self.limits.minute, 0, minute_reserve),
                (self.limits.per_hour, self.limits.hour, owed, hour_reserve),
            ):
                if limit is None:
                    continue
                allowed = max(1, math.floor(limit * (1 - reserve)))
                if priority is not Priority.FINAL:
                    allowed -= keep
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
                if blocking is not None:
                    waits.append(max((blocking + window - now).total_seconds(), 0.01))
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
