"""The outbox's rows: every check-run write is staged here (in the same transaction as the state
it reports, where it can), then leased, sent and removed by a publisher (`ghapp.work.publisher`).
A newer write for a job replaces its unsent ones, merged field by field."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ghapp import metrics
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.store import lease
from ghapp.store.db import write_session
from ghapp.store.models import GitHubWrite, Job, JobState, OutboxWrite, clipped, utcnow


async def stage(
    session: AsyncSession,
    job: Job,
    *,
    kind: WriteKind,
    priority: Priority,
    body: dict,
    more_outputs: list[dict] | None = None,
    delay_s: float = 0.0,
) -> None:
    """Add a write for `job`'s check run inside `session`, replacing its unsent writes.

    `body` holds the check run's fields (with `name`, `head_sha` and `external_id`, in case
    this write is the one that creates it); `more_outputs` are further `output` objects sent
    after it (annotations beyond GitHub's 50 a request)."""
    now = utcnow()
    idle = and_(
        OutboxWrite.job_id == job.id,
        OutboxWrite.sent.is_(False),
        lease.free(OutboxWrite.lease_until, now),
    )
    replaced = list((await session.execute(select(OutboxWrite).where(idle))).scalars())
    merged: dict = {}
    for old in sorted(replaced, key=lambda row: row.id):
        merged |= old.body
        metrics.WRITES_REPLACED.labels(str(job.installation_id), old.kind).inc()
    if replaced:
        await session.execute(
            delete(OutboxWrite).where(OutboxWrite.id.in_([row.id for row in replaced]))
        )
        # Replacing a write that was due now must not delay what replaces it.
        delay_s = 0.0 if any(row.not_before <= now for row in replaced) else delay_s
    session.add(
        _unsent(
            job.id,
            job.installation_id,
            kind=kind,
            priority=int(priority),
            body=merged | body,
            more_outputs=more_outputs or [],
            created_at=now,
            not_before=now + timedelta(seconds=delay_s),
        )
    )


async def enqueue(sessions: async_sessionmaker, job: Job, **write) -> None:
    """`stage` in a transaction of its own."""
    async with write_session(sessions) as session:
        await stage(session, job, **write)


async def pending(sessions: async_sessionmaker) -> int:
    async with sessions() as session:
        rows = await session.execute(select(OutboxWrite.id).where(OutboxWrite.sent.is_(False)))
        return len(rows.all())


async def has_writes(sessions: async_sessionmaker, job_id: int) -> bool:
    """Whether any write of the job was staged (sent or not)."""
    async with sessions() as session:
        found = await session.scalar(select(OutboxWrite.id).where(OutboxWrite.job_id == job_id))
        return found is not None


async def any_to_drain(sessions: async_sessionmaker) -> bool:
    """Whether a write is waiting that is worth sending before a worker stops (not an "in
    progress")."""
    async with sessions() as session:
        waiting = await session.scalar(
            select(OutboxWrite.id)
            .where(OutboxWrite.sent.is_(False), OutboxWrite.kind != WriteKind.IN_PROGRESS)
            .limit(1)
        )
        return waiting is not None


async def due(
    sessions: async_sessionmaker, now: datetime, *, limit: int
) -> tuple[list[OutboxWrite], datetime | None]:
    """The writes that may go now — unsent, not held, none of their job's before them — by
    priority, at most `limit`; and when the next one held back by its delay may go."""
    earlier = aliased(OutboxWrite)
    before_it = (
        select(earlier.id)
        .where(
            earlier.job_id == OutboxWrite.job_id,
            earlier.sent.is_(False),
            earlier.id < OutboxWrite.id,
        )
        .exists()
    )
    async with sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(OutboxWrite)
                    .where(
                        OutboxWrite.sent.is_(False),
                        OutboxWrite.not_before <= now,
                        lease.free(OutboxWrite.lease_until, now),
                        ~before_it,
                    )
                    .order_by(OutboxWrite.priority.desc(), OutboxWrite.id)
                    .limit(limit)
                )
            ).scalars()
        )
        upcoming = await session.scalar(
            select(OutboxWrite.not_before)
            .where(OutboxWrite.sent.is_(False), OutboxWrite.not_before > now)
            .order_by(OutboxWrite.not_before)
            .limit(1)
        )
    return rows, upcoming


async def installations_written(sessions: async_sessionmaker) -> list[int]:
    """Every installation with a write in the budget's window."""
    async with sessions() as session:
        return list(
            (await session.execute(select(GitHubWrite.installation_id).distinct())).scalars()
        )


async def owed(sessions: async_sessionmaker, installation_id: int) -> int:
    """Results this installation still owes its students: jobs not finished, and results
    staged but not sent."""
    unfinished = [str(s) for s in (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)]
    async with sessions() as session:
        jobs = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.installation_id == installation_id, Job.state.in_(unfinished))
        )
        staged = await session.scalar(
            select(func.count())
            .select_from(OutboxWrite)
            .where(
                OutboxWrite.installation_id == installation_id,
                OutboxWrite.sent.is_(False),
                OutboxWrite.priority == int(Priority.FINAL),
            )
        )
    return int(jobs or 0) + int(staged or 0)


async def take(sessions: async_sessionmaker, row_id: int, *, lease_s: float) -> OutboxWrite | None:
    """Lease the write for sending, as it is now (it may have been replaced since it was
    read: then None)."""
    now = utcnow()
    async with write_session(sessions) as session:
        result = await session.execute(
            update(OutboxWrite)
            .where(
                OutboxWrite.id == row_id,
                OutboxWrite.sent.is_(False),
                lease.free(OutboxWrite.lease_until, now),
            )
            .values(lease_until=now + timedelta(seconds=lease_s))
            .returning(OutboxWrite)
            .execution_options(synchronize_session=False)
        )
        return result.scalars().first()


async def sent(
    sessions: async_sessionmaker,
    row: OutboxWrite,
    job: Job,
    check_run_id: int,
    *,
    phases: dict | None = None,
) -> bool:
    """GitHub took the write: it is removed, the check run's id (and `phases`, the job's
    timeline with the moment GitHub accepted its result) kept with the job, and the next
    batch of annotations staged (unless a newer write replaces it anyway). True when the job
    has a write after it (that may go now)."""
    async with write_session(sessions) as session:
        await session.execute(delete(OutboxWrite).where(OutboxWrite.id == row.id))
        values: dict = {}
        if job.check_run_id != check_run_id:
            values["check_run_id"] = check_run_id
        if phases is not None:
            values["phases"] = phases
        if values:
            await session.execute(update(Job).where(Job.id == job.id).values(**values))
        newer = await session.scalar(
            select(OutboxWrite.id).where(OutboxWrite.job_id == row.job_id, OutboxWrite.id > row.id)
        )
        if row.more_outputs and newer is None:  # the next batch of annotations
            session.add(
                _unsent(
                    row.job_id,
                    row.installation_id,
                    kind=row.kind,
                    priority=row.priority,
                    body={"output": row.more_outputs[0]},
                    more_outputs=row.more_outputs[1:],
                    created_at=row.created_at,
                    not_before=utcnow(),
                )
            )
    return newer is not None or bool(row.more_outputs)


async def retry(sessions: async_sessionmaker, row: OutboxWrite, after_s: float, error: str) -> None:
    async with write_session(sessions) as session:
        await session.execute(
            update(OutboxWrite)
            .where(OutboxWrite.id == row.id)
            .values(
                lease_until=None,
                attempts=OutboxWrite.attempts + 1,
                not_before=utcnow() + timedelta(seconds=after_s),
                last_error=clipped(error),
            )
        )


async def drop(sessions: async_sessionmaker, row: OutboxWrite, error: str) -> None:
    """The write is given up: removed, and the job's note says so."""
    async with write_session(sessions) as session:
        await session.execute(delete(OutboxWrite).where(OutboxWrite.id == row.id))
        note = f"; a check-run write was given up: {error}"[:1000]
        await session.execute(
            update(Job).where(Job.id == row.job_id).values(note=Job.note.concat(note))
        )


def _unsent(job_id: int, installation_id: int, **fields) -> OutboxWrite:
    """A write not yet tried."""
    return OutboxWrite(
        job_id=job_id,
        installation_id=installation_id,
        attempts=0,
        sent=False,
        last_error="",
        **fields,
    )
