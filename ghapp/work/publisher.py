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
import time

import aiohttp
import gidgethub

from ghapp import metrics
from ghapp.core import phases
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.core.oneline import said
from ghapp.core.retry import WRITES_REFUSED, WRITES_UNANSWERED
from ghapp.github import GitHubApp, RateLimited
from ghapp.store import jobs, outbox
from ghapp.store.budget import WriteBudget
from ghapp.store.db import Sessions
from ghapp.store.models import OutboxWrite, utcnow
from ghapp.work.waiting import any_set

log = logging.getLogger(__name__)

_UPDATE_FIELDS = frozenset(
    {"name", "details_url", "external_id", "started_at", "status", "conclusion"}
    | {"completed_at", "output", "actions"}
)


class Publisher:
    def __init__(
        self,
        sessions: Sessions,
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
        self._starved = False  # writes were left waiting for a free slot
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
                except Exception as err:
                    log.error("publishing check-run writes failed: %s; trying again", said(err))
                    log.debug("publishing's failure", exc_info=err)
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
            if not await outbox.any_to_drain(self.sessions) and not self._tasks:
                return
            wait = await self.publish_once()
            await asyncio.sleep(min(max(wait, 0.05), 0.25))

    async def publish_once(self) -> float:
        """Start sending every write the budget allows now; the seconds until it is worth
        looking again."""
        now = utcnow()
        rows, upcoming = await outbox.due(self.sessions, now, limit=4 * self.concurrency)
        wait = self.poll_s if upcoming is None else (upcoming - now).total_seconds()
        waiting_installations: set[int] = set()
        owed: dict[int, int] = {}
        for row in rows:
            if row.installation_id in waiting_installations:
                continue  # lower priorities of an installation wait behind a higher one
            if self._slots.locked():
                self._starved = True
                return 0.05
            priority = Priority(row.priority)
            if priority is not Priority.FINAL and row.installation_id not in owed:
                owed[row.installation_id] = await outbox.owed(self.sessions, row.installation_id)
            delay = await self.budget.take(
                row.installation_id, priority, owed=owed.get(row.installation_id, 0)
            )
            if delay > 0:
                metrics.WRITES_DEFERRED.labels(str(row.installation_id)).inc()
                await self._gauge(row.installation_id)
                waiting_installations.add(row.installation_id)
                wait = min(wait, delay)
                continue
            leased = await outbox.take(self.sessions, row.id, lease_s=self.lease_s)
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
        for installation_id in await outbox.installations_written(self.sessions):
            await self._gauge(installation_id)

    async def _gauge(self, installation_id: int) -> None:
        minute, hour = await self.budget.used(installation_id)
        metrics.BUDGET_USED.labels(str(installation_id), "minute").set(minute)
        metrics.BUDGET_USED.labels(str(installation_id), "hour").set(hour)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if self._starved:  # a write waits for the slot freed now
            self._starved = False
            self.wake()

    async def _send(self, row: OutboxWrite) -> None:
        installation = str(row.installation_id)
        job = await jobs.get(self.sessions, row.job_id)
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
        # The result of a graded job reached GitHub: the last moment of its timeline.
        timeline = phases.accepted(job.phases, time.time()) if row.kind == WriteKind.FINAL else None
        if await outbox.sent(self.sessions, row, job, check_run_id, phases=timeline):
            self.wake()  # the next write of that job may go now
        metrics.WRITES_SENT.labels(installation, row.kind).inc()
        if row.kind == WriteKind.FINAL:
            metrics.RESULT_WAIT.observe((utcnow() - row.created_at).total_seconds())
        if timeline is not None:
            for phase, seconds in phases.observations(timeline, upto="accepted", after="staged"):
                metrics.JOB_PHASES.labels(phase).observe(seconds)

    async def _retry(self, row: OutboxWrite, after_s: float, error: str) -> None:
        log.warning("check-run write %s for job %s: %s; retry in %.0f s", row.id, row.job_id,
                    error, after_s)  # fmt: skip
        await outbox.retry(self.sessions, row, after_s, error)
        self.wake()  # to look again when it is due, not at the next poll

    async def _drop(self, row: OutboxWrite, error: str) -> None:
        log.error("check-run write %s for job %s given up: %s", row.id, row.job_id, error)
        await outbox.drop(self.sessions, row, error)
        self.wake()  # the next write of that job may go now
