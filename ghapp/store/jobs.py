"""The durable job queue: claim under a lease, renew it, hand it back, end the job.

A job is claimable in a phase when its state belongs to that phase and nobody holds a live lease
on it, so a worker that died mid-job simply lets its lease lapse and the job is claimed again.
On PostgreSQL the claim skips rows other workers hold (`FOR UPDATE SKIP LOCKED`); on SQLite the
claim is a single UPDATE, which the one-writer lock makes atomic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ghapp.store import lease
from ghapp.store.db import write_session
from ghapp.store.models import (
    Job,
    JobState,
    clipped,
    utcnow,
)


async def ahead(session: AsyncSession, job_id: int) -> int:
    """The students' jobs queued before `job_id`, which are graded before it (a teacher's bulk
    regrade waits behind them all)."""
    return await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.state == str(JobState.QUEUED), Job.background.is_(False), Job.id < job_id)
    )


async def claim(
    sessions: async_sessionmaker,
    states: tuple[JobState, ...],
    *,
    worker: str,
    lease_s: float,
    one_per_repo: bool = False,
    per_installation: int | tuple[int | None, Mapping[str, int | None]] | None = None,
    more: Callable[[], object] | None = None,
) -> Job | None:
    """Take the oldest claimable job in `states` under a fresh lease, or None; `more` is
    called when another looked claimable too.

    `one_per_repo`: skip jobs of a repo that has one of `states` held by a live lease, so one
    repo pushing fifty times (re-runs, regrades: pushes coalesce anyway) takes one grading slot,
    not all of them, and the other repos' pushes go on. `per_installation`: skip jobs of an
    installation that has this many held already (one org's burst leaves room for others'): one
    number for all, or the operator's default and each account's own (None: no cap)."""
    now = utcnow()
    wanted = [str(s) for s in states]
    claimable = and_(
        Job.state.in_(wanted),
        lease.free(Job.lease_expires_at, now),
    )
    if one_per_repo:
        held = aliased(Job)
        claimable = and_(
            claimable,
            ~select(held.id)
            .where(
                held.owner == Job.owner,
                held.repo == Job.repo,
                held.state.in_(wanted),
                lease.held(held.lease_expires_at, now),
            )
            .exists(),
        )
    cap = _running_cap(per_installation)
    if cap is not None:
        held = aliased(Job)
        claimable = and_(
            claimable,
            select(func.count(held.id))
            .where(
                held.installation_id == Job.installation_id,
                held.state.in_(wanted),
                lease.held(held.lease_expires_at, now),
            )
            .scalar_subquery()
            < cap,
        )
    # Students' pushes first: a bulk regrade's hundreds of jobs never hold one back.
    candidate = select(Job.id).where(claimable).order_by(Job.background, Job.id).limit(1)
    return await lease.claim(
        sessions,
        Job,
        candidate,
        more=more,
        lease_owner=worker,
        lease_expires_at=now + timedelta(seconds=lease_s),
        attempts=Job.attempts + 1,
    )


# What names the commit a job grades: a GradeRequest and a Job carry them by the same names.
COMMIT_FIELDS = (
    "installation_id",
    "repository_id",
    "owner",
    "repo",
    "head_sha",
    "ref",
    "default_branch",
)


def received(
    commit, *, trigger: str, sender: str | None, received_at: datetime, note: str = "", **more
) -> Job:
    """A new job, just received, grading the commit that `commit` (a GradeRequest or another
    Job) names."""
    return Job(
        state=JobState.RECEIVED,
        trigger=trigger,
        sender=sender,
        received_at=received_at,
        attempts=0,
        note=clipped(note),
        **{name: getattr(commit, name) for name in COMMIT_FIELDS},
        **more,
    )


async def get(sessions: async_sessionmaker, job_id: int) -> Job | None:
    async with sessions() as session:
        return await session.get(Job, job_id)


class LeaseLost(Exception):
    """Another worker holds the job now (ours lapsed): what we did is not recorded."""


async def end(
    session: AsyncSession,
    job_id: int,
    *,
    worker: str,
    note: str,
    phases: dict[str, float] | None = None,
) -> None:
    """The job is done, in `session` (with whatever else ends with it: its result, its check
    run's write, its timeline). Raises `LeaseLost` when it is no longer ours, which rolls all
    of it back."""
    values: dict = {"phases": phases} if phases is not None else {}
    ended = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker)
        .values(
            state=JobState.DONE,
            finished_at=utcnow(),
            note=clipped(note),
            lease_owner=None,
            lease_expires_at=None,
            **values,
        )
    )
    if ended.rowcount != 1:
        raise LeaseLost(f"job {job_id} was taken over while it was worked on")


async def renew(sessions: async_sessionmaker, job_id: int, *, worker: str, lease_s: float) -> bool:
    """Extend our lease; False when it is no longer ours (it lapsed and someone else took it)."""
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == worker)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        )
        return result.rowcount == 1


async def hand_back(sessions: async_sessionmaker, job_id: int, *, worker: str) -> bool:
    """Give a job we hold back at once (we are shutting down): the next claim takes it, and the
    attempt it was on does not count against it."""
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == worker)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                attempts=func.max(Job.attempts - 1, 0)
                if session.bind.dialect.name == "sqlite"
                else func.greatest(Job.attempts - 1, 0),
            )
        )
        return result.rowcount == 1


async def transition(
    sessions: async_sessionmaker, job_id: int, *, worker: str, release: bool = True, **values
) -> bool:
    """Update a job we hold; `release` gives up the lease (the job moves to another phase)."""
    async with write_session(sessions) as session:
        return await move(session, job_id, worker=worker, release=release, **values)


async def move(
    session: AsyncSession, job_id: int, *, worker: str, release: bool = True, **values
) -> bool:
    """`transition` in `session` (with what is staged beside it); False when the job is no
    longer ours."""
    if release:
        values |= {"lease_owner": None, "lease_expires_at": None}
    result = await session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == worker).values(**values)
    )
    return result.rowcount == 1


_NO_CAP = 1_000_000_000


def _running_cap(caps: int | tuple[int | None, Mapping[str, int | None]] | None):
    """The cap on jobs held at once as a number or, per account, an SQL expression; None for
    none at all."""
    if caps is None or isinstance(caps, int):
        return caps
    default, by_account = caps
    if not by_account or all(v == default for v in by_account.values()):
        return default
    whens = {login.lower(): _NO_CAP if cap is None else cap for login, cap in by_account.items()}
    return case(whens, value=func.lower(Job.owner), else_=_NO_CAP if default is None else default)
