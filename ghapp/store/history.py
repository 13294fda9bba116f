"""A repo's history of pushes, as policy reads it: the daily limit (counted and claimed in one
transaction), the first push of a commit (deadlines judge it), and newer pushes that supersede
older ones waiting in the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.core.events import Trigger
from ghapp.store.db import write_session
from ghapp.store.models import (
    Job,
    JobState,
    Submission,
)

# A job in these states is graded or on its way to it: it counts against the daily limit, and a
# newer one supersedes older pushes waiting in the queue.
_GRADED_OR_GRADING = (JobState.QUEUED, JobState.RUNNING, JobState.DONE)


async def admit(
    sessions: async_sessionmaker,
    job_id: int,
    *,
    worker: str,
    owner: str,
    repo: str,
    window: tuple[datetime, datetime],
    limit: int,
) -> int | None:
    """Count the job against its repo's daily limit: None when it fits (it is now counted), or
    how many were graded in `window` when the limit is reached. Count and mark are one
    transaction, serialised per repo, so two pushes racing through intake cannot both take
    the last place."""
    async with write_session(sessions) as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"pushgrade.limit:{owner}/{repo}".lower()},
            )
        count = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.owner == owner,
                Job.repo == repo,
                Job.counted.is_(True),
                Job.state.in_([str(s) for s in _GRADED_OR_GRADING]),
                Job.received_at >= window[0],
                Job.received_at < window[1],
                Job.id != job_id,
            )
        )
        if count >= limit:
            return count
        await session.execute(
            update(Job).where(Job.id == job_id, Job.lease_owner == worker).values(counted=True)
        )
        return None


async def counted_on(
    sessions: async_sessionmaker, *, owner: str, repo: str, window: tuple[datetime, datetime]
) -> int:
    """How many pushes to the repo counted against its daily limit in `window` (graded, or
    being graded)."""
    async with sessions() as session:
        return await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.owner == owner,
                Job.repo == repo,
                Job.counted.is_(True),
                Job.state.in_([str(s) for s in _GRADED_OR_GRADING]),
                Job.received_at >= window[0],
                Job.received_at < window[1],
            )
        )


async def pushed_at(sessions: async_sessionmaker, job: Job) -> datetime:
    """When this commit was first received as a push: a re-run of an on-time push is on time."""
    if job.trigger == Trigger.PUSH:
        return job.received_at
    async with sessions() as session:
        first = await session.scalar(_first_push(job, Job.received_at))
    if first is not None and first.tzinfo is None:  # min() bypasses the column's type on SQLite
        first = datetime.fromisoformat(str(first)).replace(tzinfo=job.received_at.tzinfo)
    return min(first, job.received_at) if first is not None else job.received_at


def _first_push(job: Job, column):
    """`column` of the first push of `job`'s commit to its repo (a re-run's or regrade's own
    commit, received as a push before)."""
    return select(func.min(column)).where(
        Job.owner == job.owner,
        Job.repo == job.repo,
        Job.head_sha == job.head_sha,
        Job.trigger == Trigger.PUSH,
    )


async def newer_push(sessions: async_sessionmaker, job: Job) -> str | None:
    """The commit of a newer push to the same branch that is graded or will be: it supersedes
    `job` while `job` still waits (for a regrade: newer than the push of its commit). None
    when there is none."""
    graded = select(Submission.id).where(Submission.job_id == Job.id).exists()
    async with sessions() as session:
        since = job.id
        if job.trigger != Trigger.PUSH:
            first = await session.scalar(_first_push(job, Job.id))
            since = first if first is not None else job.id
        return await session.scalar(
            select(Job.head_sha)
            .where(
                Job.owner == job.owner,
                Job.repo == job.repo,
                Job.ref == job.ref,
                Job.trigger == Trigger.PUSH,
                Job.id > since,
                or_(Job.head_sha != job.head_sha, job.trigger == Trigger.PUSH),
                or_(
                    Job.state.in_([str(JobState.QUEUED), str(JobState.RUNNING)]),
                    and_(Job.state == str(JobState.DONE), graded),
                ),
            )
            .order_by(Job.id.desc())
            .limit(1)
        )


async def earlier_graded(
    sessions: async_sessionmaker, job: Job, *, limit: int = 100
) -> list[tuple[datetime, float | None, dict]]:
    """The repo's other commits graded for `job`'s assignment, each by its newest grading:
    (when it was first pushed, its score, its stored Outcome), the earliest push first and at
    most the `limit` latest. Gradescope images read them as `previous_submissions`."""
    async with sessions() as session:
        graded = await session.execute(
            select(Submission.id, Submission.head_sha, Job.received_at)
            .join(Job, Job.id == Submission.job_id)
            .where(
                Job.owner == job.owner,
                Job.repo == job.repo,
                Job.assignment == job.assignment,
                Submission.head_sha != job.head_sha,
            )
            .order_by(Submission.id)
        )
        newest: dict[str, int] = {}
        first_seen: dict[str, datetime] = {}
        for submission_id, sha, received in graded:
            newest[sha] = submission_id
            first_seen[sha] = min(received, first_seen.get(sha, received))
        pushes = await session.execute(
            select(Job.head_sha, func.min(Job.received_at))
            .where(
                Job.owner == job.owner,
                Job.repo == job.repo,
                Job.head_sha.in_(list(newest)),
                Job.trigger == Trigger.PUSH,
            )
            .group_by(Job.head_sha)
        )
        for sha, first in pushes:
            if first is not None and not isinstance(first, datetime):  # SQLite's min() is text
                first = datetime.fromisoformat(str(first))
            if first is not None and first.tzinfo is None:
                first = first.replace(tzinfo=job.received_at.tzinfo)
            if first is not None:
                first_seen[sha] = min(first, first_seen[sha])
        chosen = sorted(newest, key=lambda sha: (first_seen[sha], newest[sha]))[-limit:]
        if not chosen:
            return []
        rows = await session.execute(
            select(Submission.head_sha, Submission.score, Submission.outcome).where(
                Submission.id.in_([newest[sha] for sha in chosen])
            )
        )
        found = {sha: (score, outcome) for sha, score, outcome in rows}
    return [(first_seen[sha], *found[sha]) for sha in chosen if sha in found]


async def first_pusher(sessions: async_sessionmaker, job: Job) -> str | None:
    """Who pushed `job`'s commit first (a regrade's sender is the teacher who asked for it)."""
    if job.trigger == Trigger.PUSH:
        return job.sender
    async with sessions() as session:
        found = await session.scalar(
            select(Job.sender)
            .where(
                Job.owner == job.owner,
                Job.repo == job.repo,
                Job.head_sha == job.head_sha,
                Job.trigger == Trigger.PUSH,
            )
            .order_by(Job.received_at, Job.id)
            .limit(1)
        )
    return found or job.sender
