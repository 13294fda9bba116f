"""A teacher's requests from the dashboard or the CLI: cancel a job, regrade a commit, regrade
every repo of an assignment."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghapp.core.events import Trigger
from ghapp.store import jobs, notify
from ghapp.store.db import write_session
from ghapp.store.models import (
    Job,
    JobState,
    Submission,
    clipped,
    utcnow,
)

_UNFINISHED = (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)


async def request_cancel(sessions: async_sessionmaker, job_id: int, *, by: str) -> bool:
    """Ask for a job to stop. The worker holding it, or the next to claim it, ends it with a
    `cancelled` check run. False when the job has already finished (or does not exist)."""
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_([str(s) for s in _UNFINISHED]))
            .values(cancel_requested=True, note=clipped(f"cancel requested by {by}"))
        )
        if result.rowcount != 1:
            return False
        await notify.announce(session)  # the worker holding it hears of it at once
        return True


async def cancel_requested(sessions: async_sessionmaker, job_id: int) -> bool:
    async with sessions() as session:
        return bool(await session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


async def request_regrade(sessions: async_sessionmaker, job_id: int, *, by: str) -> int | None:
    """Grade a job's commit again, as a new job asked for by `by` (a teacher, so it does not
    count against the daily limit). The new job's id; None when there is no such job."""
    async with write_session(sessions) as session:
        old = await session.get(Job, job_id)
        if old is None:
            return None
        new = _regrade_of(old, by=by, note="")
        session.add(new)
        await session.flush()
        await notify.announce(session)
        return new.id


async def request_regrade_all(
    sessions: async_sessionmaker, *, owner: str, assignment: str, by: str
) -> list[int]:
    """`regrade_all` in a transaction of its own."""
    async with write_session(sessions) as session:
        return await regrade_all(session, owner=owner, assignment=assignment, by=by)


async def regrade_all(
    session: AsyncSession, *, owner: str, assignment: str, by: str, note: str | None = None
) -> list[int]:
    """Regrade the latest graded push of every repo of one assignment, as teachers' regrades
    (not counted against the daily limit; results at the lowest write priority; on time when
    the push was). One new job per repo, in `session`. The new jobs' ids."""
    graded = select(Submission.id).where(Submission.job_id == Job.id).exists()
    latest = (
        select(func.max(Job.id))
        .where(
            func.lower(Job.owner) == owner.lower(),
            Job.assignment == assignment,
            Job.state == str(JobState.DONE),
            graded,
        )
        .group_by(Job.owner, Job.repo)
    )
    note = note or f"regrade of every repo of {assignment}, asked by {by}"
    olds = (await session.execute(select(Job).where(Job.id.in_(latest)))).scalars().all()
    news = [
        _regrade_of(old, by=by, note=note, background=True)
        for old in sorted(olds, key=lambda job: (job.repo.lower(), job.id))
    ]
    session.add_all(news)
    await session.flush()
    if news:
        await notify.announce(session)
    return [job.id for job in news]


def _regrade_of(old: Job, *, by: str, note: str, background: bool = False) -> Job:
    """A new job grading `old`'s commit again, asked by a teacher (trigger "dashboard")."""
    return jobs.received(
        old,
        trigger=Trigger.DASHBOARD,
        sender=by,
        received_at=utcnow(),
        note=note,
        background=background,
    )
