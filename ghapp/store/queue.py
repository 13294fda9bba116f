"""The durable job queue: ingest a delivery with the jobs it implies, claim under a lease, finish.

A job is claimable in a phase when its state belongs to that phase and nobody holds a live lease
on it, so a worker that died mid-job simply lets its lease lapse and the job is claimed again.
On PostgreSQL the claim skips rows other workers hold (`FOR UPDATE SKIP LOCKED`); on SQLite the
claim is a single UPDATE, which the one-writer lock makes atomic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ghapp.core import events
from ghapp.core.events import Trigger
from ghapp.store.db import write_session
from ghapp.store.models import (
    Delivery,
    Installation,
    Job,
    JobState,
    Repository,
    Submission,
    WorkerBeat,
    utcnow,
)


async def ingest(
    sessions: async_sessionmaker,
    *,
    guid: str,
    event: str,
    action: str | None,
    decisions: list[events.Decision],
    received_at: datetime | None = None,
) -> list[int] | None:
    """Store the delivery and everything it implies in one transaction.

    Returns the new job ids, or None when this delivery GUID was stored before (a redelivery),
    in which case nothing is written.
    """
    received_at = received_at or utcnow()
    async with write_session(sessions) as session:
        inserted = await session.execute(
            _insert(session)(Delivery)
            .values(guid=guid, event=event, action=action, received_at=received_at, result="")
            .on_conflict_do_nothing(index_elements=["guid"])
        )
        if inserted.rowcount == 0:
            return None
        jobs: list[Job] = []
        notes: list[str] = []
        installation_id = None
        for decision in decisions:
            match decision:
                case events.GradeRequest():
                    installation_id = decision.installation_id
                    jobs.append(_job(decision, guid, received_at))
                case events.InstallationSeen():
                    installation_id = decision.installation_id
                    await _remember_installation(session, decision)
                    notes.append(f"installation {decision.installation_id} remembered")
                case events.InstallationGone():
                    installation_id = decision.installation_id
                    await session.execute(
                        delete(Repository).where(
                            Repository.installation_id == decision.installation_id
                        )
                    )
                    await session.execute(
                        delete(Installation).where(Installation.id == decision.installation_id)
                    )
                    notes.append(f"installation {decision.installation_id} forgotten")
                case events.InstallationSuspended():
                    installation_id = decision.installation_id
                    await session.execute(
                        update(Installation)
                        .where(Installation.id == decision.installation_id)
                        .values(suspended_at=received_at if decision.suspended else None)
                    )
                    notes.append("suspended" if decision.suspended else "unsuspended")
                case events.RepositoriesRemoved():
                    installation_id = decision.installation_id
                    await session.execute(
                        delete(Repository).where(Repository.id.in_(decision.repository_ids))
                    )
                    notes.append(f"{len(decision.repository_ids)} repositories forgotten")
                case events.Ignore():
                    notes.append(f"ignored: {decision.reason}")
        if jobs:
            notes.append(f"{len(jobs)} job{'s' if len(jobs) > 1 else ''} queued")
        delivery = await session.get(Delivery, guid)
        delivery.result = "; ".join(notes)[:255]
        delivery.installation_id = installation_id
        session.add_all(jobs)
        await session.flush()
        return [job.id for job in jobs]


def _insert(session: AsyncSession):
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


def _job(request: events.GradeRequest, guid: str, received_at: datetime) -> Job:
    return Job(
        state=JobState.RECEIVED,
        trigger=request.trigger,
        delivery_guid=guid,
        installation_id=request.installation_id,
        repository_id=request.repository_id,
        owner=request.owner,
        repo=request.repo,
        head_sha=request.head_sha,
        ref=request.ref,
        default_branch=request.default_branch,
        sender=request.sender,
        received_at=received_at,
        attempts=0,
        note="",
    )


async def _remember_installation(session: AsyncSession, seen: events.InstallationSeen) -> None:
    """Upserts, not read-then-insert: two deliveries introducing one installation at once (on
    PostgreSQL, where they really run at once) must both be stored."""
    insert = _insert(session)
    statement = insert(Installation).values(
        id=seen.installation_id,
        account_login=seen.account_login,
        account_type=seen.account_type,
        created_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"account_login": statement.excluded.account_login}
        )
    )
    for repo_id, full_name, private in seen.repositories:
        owner, _, name = full_name.partition("/")
        statement = insert(Repository).values(
            id=repo_id,
            installation_id=seen.installation_id,
            owner=owner,
            name=name,
            default_branch="main",
            private=private,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={"owner": statement.excluded.owner, "name": statement.excluded.name},
            )
        )


async def claim(
    sessions: async_sessionmaker,
    states: tuple[JobState, ...],
    *,
    worker: str,
    lease_s: float,
    one_per_repo: bool = False,
    per_installation: int | tuple[int | None, Mapping[str, int | None]] | None = None,
) -> Job | None:
    """Take the oldest claimable job in `states` under a fresh lease, or None.

    `one_per_repo`: skip jobs of a repo that has one of `states` held by a live lease, so one
    repo pushing fifty times (re-runs, regrades: pushes coalesce anyway) takes one grading slot,
    not all of them, and the other repos' pushes go on. `per_installation`: skip jobs of an
    installation that has this many held already (one org's burst leaves room for others'): one
    number for all, or the operator's default and each account's own (None: no cap)."""
    now = utcnow()
    wanted = [str(s) for s in states]
    claimable = and_(
        Job.state.in_(wanted),
        or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now),
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
                held.lease_expires_at >= now,
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
                held.lease_expires_at >= now,
            )
            .scalar_subquery()
            < cap,
        )
    # Students' pushes first: a bulk regrade's hundreds of jobs never hold one back.
    candidate = select(Job.id).where(claimable).order_by(Job.background, Job.id).limit(1)
    # Idle workers poll: a read (concurrent with everything under WAL) finds out whether there is
    # anything to claim before a write transaction is opened for it.
    async with sessions() as session:
        if await session.scalar(candidate) is None:
            return None
    async with write_session(sessions) as session:
        if session.bind.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        result = await session.execute(
            update(Job)
            .where(Job.id == candidate.scalar_subquery())
            .values(
                lease_owner=worker,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Job.attempts + 1,
            )
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        return result.scalars().first()


class LeaseLost(Exception):
    """Another worker holds the job now (ours lapsed): what we did is not recorded."""


async def end(session: AsyncSession, job_id: int, *, worker: str, note: str) -> None:
    """The job is done, in `session` (with whatever else ends with it: its result, its check
    run's write). Raises `LeaseLost` when it is no longer ours, which rolls all of it back."""
    ended = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker)
        .values(
            state=JobState.DONE,
            finished_at=utcnow(),
            note=note[:2000],
            lease_owner=None,
            lease_expires_at=None,
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
    if release:
        values |= {"lease_owner": None, "lease_expires_at": None}
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job).where(Job.id == job_id, Job.lease_owner == worker).values(**values)
        )
        return result.rowcount == 1


# -- policy: the daily limit, coalescing, deadlines by the first push, the reveal --------------

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


async def claim_reveal(sessions: async_sessionmaker, *, lease_s: float) -> Submission | None:
    """A graded run whose reveal moment has passed, held for `lease_s` while it is re-rendered;
    None when there is none. A worker that dies mid-reveal lets the lease lapse."""
    now = utcnow()
    candidate = (
        select(Submission.id)
        .where(
            Submission.reveal_at <= now,
            Submission.revealed_at.is_(None),
            or_(Submission.reveal_lease_until.is_(None), Submission.reveal_lease_until < now),
        )
        .order_by(Submission.reveal_at, Submission.id)
        .limit(1)
    )
    async with sessions() as session:
        if await session.scalar(candidate) is None:
            return None
    async with write_session(sessions) as session:
        if session.bind.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        result = await session.execute(
            update(Submission)
            .where(Submission.id == candidate.scalar_subquery())
            .values(reveal_lease_until=now + timedelta(seconds=lease_s))
            .returning(Submission)
            .execution_options(synchronize_session=False)
        )
        return result.scalars().first()


async def revealed(sessions: async_sessionmaker, submission_id: int, level: str) -> None:
    async with write_session(sessions) as session:
        await session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(revealed_at=utcnow(), reveal_lease_until=None, level=level)
        )


# -- a teacher's requests (the dashboard) ------------------------------------------------------

_UNFINISHED = (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)


async def request_cancel(sessions: async_sessionmaker, job_id: int, *, by: str) -> bool:
    """Ask for a job to stop. The worker holding it, or the next to claim it, ends it with a
    `cancelled` check run. False when the job has already finished (or does not exist)."""
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_([str(s) for s in _UNFINISHED]))
            .values(cancel_requested=True, note=f"cancel requested by {by}"[:2000])
        )
        return result.rowcount == 1


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
    return [job.id for job in news]


# -- workers ----------------------------------------------------------------------------------


async def heartbeat(sessions: async_sessionmaker, name: str, *, slots: int) -> None:
    """Say this worker is alive (an upsert: the first beat registers it)."""
    now = utcnow()
    async with write_session(sessions) as session:
        statement = _insert(session)(WorkerBeat).values(
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


def _regrade_of(old: Job, *, by: str, note: str, background: bool = False) -> Job:
    """A new job grading `old`'s commit again, asked by a teacher (trigger "dashboard")."""
    return Job(
        state=JobState.RECEIVED,
        trigger=Trigger.DASHBOARD,
        installation_id=old.installation_id,
        repository_id=old.repository_id,
        owner=old.owner,
        repo=old.repo,
        head_sha=old.head_sha,
        ref=old.ref,
        default_branch=old.default_branch,
        sender=by,
        received_at=utcnow(),
        attempts=0,
        note=note[:2000],
        background=background,
    )
