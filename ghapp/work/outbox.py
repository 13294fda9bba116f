"""The outbox: every check-run write goes through it, so no result is lost and none overruns
the installation's write budget.

The worker stages a write (in the same transaction as the state it reports, where it can) and
goes on grading; a `Publisher` in every worker process sends staged writes as the budget allows:
per job in order, across jobs by priority (a fresh result before a "queued" notice, both before
an "in progress"). A newer write for a job replaces its unsent ones, merged field by field, so a
job that waits and then completes quickly costs two writes (queued, completed) and a superseded
push one at most. An "in progress" is staged a few seconds ahead: if the result comes first, it
is never sent. GitHub's "wait" blocks the installation for every process; a failure is retried
with backoff from the stored row, however long GitHub is down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp
import gidgethub
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ghapp import metrics
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.core.retry import WRITES_REFUSED, WRITES_UNANSWERED
from ghapp.github import GitHubApp, RateLimited
from ghapp.store.budget import WriteBudget
from ghapp.store.db import write_session
from ghapp.store.models import GitHubWrite, Job, JobState, OutboxWrite, clipped, utcnow
from ghapp.work.waiting import any_set

log = logging.getLogger(__name__)

_UPDATE_FIELDS = frozenset(
    {"name", "details_url", "external_id", "started_at", "status", "conclusion"}
    | {"completed_at", "output", "actions"}
)


async def stage(
    session: AsyncSession,
    job: Job,
    *,
    kind: str,
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
        or_(OutboxWrite.lease_until.is_(None), OutboxWrite.lease_until < now),
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
        OutboxWrite(
            job_id=job.id,
            installation_id=job.installation_id,
            kind=kind,
            priority=int(priority),
            body=merged | body,
            more_outputs=more_outputs or [],
            created_at=now,
            not_before=now + timedelta(seconds=delay_s),
            attempts=0,
            sent=False,
            last_error="",
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


class Publisher:
    def __init__(
        self,
        sessions: async_sessionmaker,
        github: GitHubApp,
        budget: WriteBudget,
        *,
        concurrency: int = 8,
        lease_s: float = 120.0,
        poll_s: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.github = github
        self.budget = budget
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        prune_every = max(60.0, self.budget.limits.minute.total_seconds())
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    wait = await self.publish_once()
                    if loop.time() - last_prune > prune_every:
                        await self.budget.prune()
                        await self._report_budget()
                        last_prune = loop.time()
                except Exception:
                    log.exception("publishing check-run writes failed; trying again shortly")
                    wait = self.poll_s
                await any_set(self._wake, stop, timeout=min(wait, self.poll_s))
        finally:
            # Let writes in flight finish briefly; a cancelled one is sent again (its lease lapses).
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, *, timeout_s: float) -> None:
        """Send what can be sent now (not "in progress" writes) for up to `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            async with self.sessions() as session:
                waiting = await session.scalar(
                    select(OutboxWrite.id)
                    .where(OutboxWrite.sent.is_(False), OutboxWrite.kind != WriteKind.IN_PROGRESS)
                    .limit(1)
                )
            if waiting is None and not self._tasks:
                return
            wait = await self.publish_once()
            await asyncio.sleep(min(max(wait, 0.05), 0.25))

    async def publish_once(self) -> float:
        """Start sending every write the budget allows now; the seconds until it is worth
        looking again."""
        now = utcnow()
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
        async with self.sessions() as session:
            rows = list(
                (
                    await session.execute(
                        select(OutboxWrite)
                        .where(
                            OutboxWrite.sent.is_(False),
                            OutboxWrite.not_before <= now,
                            or_(OutboxWrite.lease_until.is_(None), OutboxWrite.lease_until < now),
                            ~before_it,
                        )
                        .order_by(OutboxWrite.priority.desc(), OutboxWrite.id)
                        .limit(4 * self.concurrency)
                    )
                ).scalars()
            )
            upcoming = await session.scalar(
                select(OutboxWrite.not_before)
                .where(OutboxWrite.sent.is_(False), OutboxWrite.not_before > now)
                .order_by(OutboxWrite.not_before)
                .limit(1)
            )
        wait = self.poll_s if upcoming is None else (upcoming - now).total_seconds()
        waiting_installations: set[int] = set()
        owed: dict[int, int] = {}
        for row in rows:
            if row.installation_id in waiting_installations:
                continue  # lower priorities of an installation wait behind a higher one
            if self._slots.locked():
                return 0.05
            priority = Priority(row.priority)
            if priority is not Priority.FINAL and row.installation_id not in owed:
                owed[row.installation_id] = await self._owed(row.installation_id)
            delay = await self.budget.take(
                row.installation_id, priority, owed=owed.get(row.installation_id, 0)
            )
            if delay > 0:
                metrics.WRITES_DEFERRED.labels(str(row.installation_id)).inc()
                await self._gauge(row.installation_id)
                waiting_installations.add(row.installation_id)
                wait = min(wait, delay)
                continue
            leased = await self._lease(row.id)
            if leased is None:
                continue
            await self._slots.acquire()
            # What is sent is the row as leased, never as read before: it may have been
            # replaced by a newer write for its job meanwhile.
            task = asyncio.create_task(self._send(leased))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return max(wait, 0.01)

    async def _report_budget(self) -> None:
        async with self.sessions() as session:
            installations = (
                await session.execute(select(GitHubWrite.installation_id).distinct())
            ).scalars()
        for installation_id in list(installations):
            await self._gauge(installation_id)

    async def _gauge(self, installation_id: int) -> None:
        minute, hour = await self.budget.used(installation_id)
        metrics.BUDGET_USED.labels(str(installation_id), "minute").set(minute)
        metrics.BUDGET_USED.labels(str(installation_id), "hour").set(hour)

    async def _owed(self, installation_id: int) -> int:
        """Results this installation still owes its students: jobs not finished, and results
        staged but not sent."""
        unfinished = [str(s) for s in (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)]
        async with self.sessions() as session:
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

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()
        self.wake()  # the next write of that job may go now

    async def _lease(self, row_id: int) -> OutboxWrite | None:
        now = utcnow()
        async with write_session(self.sessions) as session:
            result = await session.execute(
                update(OutboxWrite)
                .where(
                    OutboxWrite.id == row_id,
                    OutboxWrite.sent.is_(False),
                    or_(OutboxWrite.lease_until.is_(None), OutboxWrite.lease_until < now),
                )
                .values(lease_until=now + timedelta(seconds=self.lease_s))
                .returning(OutboxWrite)
                .execution_options(synchronize_session=False)
            )
            return result.scalars().first()

    async def _send(self, row: OutboxWrite) -> None:
        installation = str(row.installation_id)
        async with self.sessions() as session:
            job = await session.get(Job, row.job_id)
        if job is None:  # the job is gone (its installation was removed)
            await self._drop(row, "the job no longer exists")
            return
        gh = self.github.installation(row.installation_id, patient=False)
        try:
            check_run_id = job.check_run_id
            if check_run_id is None and (row.attempts > 0 or job.attempts > 1):
                # A crash may have come between creating it and storing its id.
                check_run_id = await gh.find_check_run(
                    job.owner, job.repo, job.head_sha, str(job.id)
                )
            if check_run_id is None:
                created = await gh.create_check_run(job.owner, job.repo, row.body)
                check_run_id = created["id"]
            else:
                update_body = {k: v for k, v in row.body.items() if k in _UPDATE_FIELDS}
                await gh.update_check_run(job.owner, job.repo, check_run_id, update_body)
        except RateLimited as err:
            await self.budget.block(row.installation_id, err.retry_after)
            await self._retry(row, err.retry_after, f"rate limited for {err.retry_after:.0f} s")
            metrics.WRITES_FAILED.labels(installation, "rate_limited").inc()
            return
        except (gidgethub.GitHubBroken, aiohttp.ClientError, TimeoutError) as err:
            backoff = WRITES_UNANSWERED.wait_s(row.attempts)
            await self._retry(row, backoff, f"{type(err).__name__}: {err}")
            metrics.WRITES_FAILED.labels(installation, "transient").inc()
            return
        except gidgethub.BadRequest as err:
            status = getattr(err, "status_code", 0)
            if status in (404, 410) or WRITES_REFUSED.gives_up(row.attempts + 1):
                await self._drop(row, f"GitHub refused the write ({status}): {err}")
            else:
                await self._retry(row, WRITES_REFUSED.wait_s(row.attempts), f"{status}: {err}")
            metrics.WRITES_FAILED.labels(installation, f"http_{status}").inc()
            return
        await self._sent(row, job, check_run_id)
        metrics.WRITES_SENT.labels(installation, row.kind).inc()
        if row.kind == WriteKind.FINAL:
            metrics.RESULT_WAIT.observe((utcnow() - row.created_at).total_seconds())

    async def _sent(self, row: OutboxWrite, job: Job, check_run_id: int) -> None:
        async with write_session(self.sessions) as session:
            await session.execute(delete(OutboxWrite).where(OutboxWrite.id == row.id))
            if job.check_run_id != check_run_id:
                await session.execute(
                    update(Job).where(Job.id == job.id).values(check_run_id=check_run_id)
                )
            newer = await session.scalar(
                select(OutboxWrite.id).where(
                    OutboxWrite.job_id == row.job_id, OutboxWrite.id > row.id
                )
            )
            if row.more_outputs and newer is None:  # the next batch of annotations
                session.add(
                    OutboxWrite(
                        job_id=row.job_id,
                        installation_id=row.installation_id,
                        kind=row.kind,
                        priority=row.priority,
                        body={"output": row.more_outputs[0]},
                        more_outputs=row.more_outputs[1:],
                        created_at=row.created_at,
                        not_before=utcnow(),
                        attempts=0,
                        sent=False,
                        last_error="",
                    )
                )

    async def _retry(self, row: OutboxWrite, after_s: float, error: str) -> None:
        log.warning("check-run write %s for job %s: %s; retry in %.0f s", row.id, row.job_id,
                    error, after_s)  # fmt: skip
        async with write_session(self.sessions) as session:
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

    async def _drop(self, row: OutboxWrite, error: str) -> None:
        log.error("check-run write %s for job %s given up: %s", row.id, row.job_id, error)
        async with write_session(self.sessions) as session:
            await session.execute(delete(OutboxWrite).where(OutboxWrite.id == row.id))
            note = f"; a check-run write was given up: {error}"[:1000]
            await session.execute(
                update(Job).where(Job.id == row.job_id).values(note=Job.note.concat(note))
            )
