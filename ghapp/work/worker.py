"""The worker: claims jobs from the queue and holds each under a lease while a part of it works
on the job — intake (`intake.py`), grading (`grading.py`) — and keeps the loops that go beside
them running: reveals, heartbeats, warming, reconciliation and the publisher, each supervised.
A job is held under a lease renewed while work goes on; a crashed worker's job is taken again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from ghapp.core.oneline import said
from ghapp.store import jobs, notify, requests
from ghapp.store.jobs import LeaseLost
from ghapp.store.models import Job, JobState
from ghapp.work import finish, warming
from ghapp.work.admission import Admission
from ghapp.work.crew import Crew
from ghapp.work.grading import grade
from ghapp.work.housekeeping import Heartbeats
from ghapp.work.intake import intake
from ghapp.work.locking import locks
from ghapp.work.reconcile import Reconciler
from ghapp.work.reveal import reveals
from ghapp.work.similarity import follow as similarity_reports
from ghapp.work.supervise import Loop, Outage, Supervisor
from ghapp.work.waiting import Doorbell, any_set

log = logging.getLogger(__name__)

DRAIN_S = 5.0  # on the way out, how long results still staged may take to reach GitHub


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _from_crew(name: str) -> property:
    return property(lambda self: getattr(self.crew, name), doc=f"The crew's `{name}`.")


class Worker:
    sessions = _from_crew("sessions")
    github = _from_crew("github")
    sandbox = _from_crew("sandbox")
    name = _from_crew("name")
    lease_s = _from_crew("lease_s")
    poll_s = _from_crew("poll_s")
    configs = _from_crew("configs")
    tenants = _from_crew("tenants")
    graders = _from_crew("graders")
    budget = _from_crew("budget")
    publisher = _from_crew("publisher")

    def __init__(
        self,
        crew: Crew,
        *,
        slots: int,
        intake_slots: int,
        admission: Admission,
        reconciler: Reconciler | None,
    ) -> None:
        self.crew = crew
        self.slots = slots
        self.intake_slots = intake_slots
        # Grading jobs one account may hold at once, across workers: the operator's ceilings.
        self.running_caps = crew.tenants.tenancy.running_caps()
        self.admission = admission
        self.reconciler = reconciler
        self.supervisor: Supervisor | None = None
        self.outage = Outage(on_back=self._database_back)
        self.heart = Heartbeats(crew, slots=slots, outage=self.outage)

    @property
    def public_url(self) -> str:
        return self.crew.public_url

    @public_url.setter
    def public_url(self, url: str) -> None:
        self.crew.public_url = url.rstrip("/")

    def wake(self) -> None:
        """New work was stored: look now instead of at the next poll."""
        self.crew.wake()

    def _database_back(self) -> None:
        """The database takes writes again after refusing them: the deliveries refused
        meanwhile are looked for now (GitHub sends none of them again), and the queue at once."""
        if self.reconciler is not None:
            self.reconciler.poke()
        self.wake()

    async def _probe_writes(self) -> None:
        """While the database refuses writes, a claim that finds nothing (a read) says nothing
        of them: try one, a heartbeat."""
        await self.heart.beat()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop`; raises `WorkerFailed` when a loop it cannot do without keeps
        failing (its orchestrator should then restart the process)."""
        supervisor = self.supervisor = Supervisor(stop)

        def intake_one(job: Job):
            return intake(self.crew, self.admission, job)

        loops = [
            Loop(
                f"intake-{i}",
                lambda: self._loop(stop, (JobState.RECEIVED,), intake_one, self.crew.intake_bell),
            )
            for i in range(self.intake_slots)
        ]
        loops += [
            Loop(
                f"grading-{i}",
                lambda: self._loop(
                    stop,
                    (JobState.QUEUED, JobState.RUNNING),
                    lambda job: grade(self.crew, job),
                    self.crew.grading_bell,
                    one_per_repo=True,
                    per_installation=self.running_caps,
                ),
            )
            for i in range(self.slots)
        ]
        loops.append(Loop("reveals", lambda: reveals(self.crew, stop), essential=False))
        loops.append(Loop("locks", lambda: locks(self.crew, stop), essential=False))
        loops.append(Loop("similarity", lambda: similarity_reports(self.crew, stop), False))
        # Work stored by other processes (a web process's pushes): heard of at once.
        listening = Loop("listener", lambda: notify.listen(self.sessions, self.wake, stop), False)
        loops.append(listening)
        loops.append(Loop("heartbeats", lambda: self.heart.run(stop)))
        every_s = max(self.poll_s * 5, 1.0)
        loops.append(
            Loop("warming", lambda: warming.follow(self.crew, stop, every_s=every_s), False)
        )
        if self.reconciler is not None:
            reconciler = self.reconciler
            loops.append(Loop("reconciler", lambda: reconciler.run(stop), essential=False))
        # The publisher outlives the other loops: results of jobs that finish while we stop
        # still go out (for a few seconds; whatever is left waits in the outbox for any worker).
        publisher_stop = asyncio.Event()
        publishing = asyncio.create_task(
            Supervisor(publisher_stop).keep(
                Loop("publisher", lambda: self.publisher.run(publisher_stop))
            )
        )
        tasks = [asyncio.create_task(supervisor.keep(loop)) for loop in loops]
        everything = asyncio.gather(*tasks)
        try:
            failing = asyncio.ensure_future(supervisor.failed.wait())
            try:
                await asyncio.wait([everything, failing], return_when=asyncio.FIRST_COMPLETED)
            finally:
                failing.cancel()
            if supervisor.failure is not None:
                raise WorkerFailed(supervisor.failure)
            await everything
        finally:
            # Whatever stops us, every loop has finished (containers removed, sessions closed)
            # before we return and the caller disposes of the database engine.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if everything.done() and not everything.cancelled():
                everything.exception()  # each loop's end is told by its supervisor, not at exit
            with contextlib.suppress(Exception):
                await self.publisher.drain(timeout_s=DRAIN_S)
            publisher_stop.set()
            await asyncio.gather(publishing, return_exceptions=True)

    def health(self) -> str | None:
        """None while this worker works; else why not (for /healthz): a loop it cannot do
        without keeps failing, the database refuses its writes, or its heartbeat has not
        reached the database for a while."""
        if self.supervisor is not None and self.supervisor.failure is not None:
            return self.supervisor.failure
        if self.outage.since is not None:
            return self.outage.health()
        silent = time.monotonic() - self.heart.last
        if silent > self.heart.stale_after:
            return f"no heartbeat has reached the database for {silent:.0f} s"
        return None

    async def _loop(
        self,
        stop: asyncio.Event,
        states,
        handle,
        bell: Doorbell,
        *,
        one_per_repo=False,
        per_installation=None,
    ) -> None:
        while not stop.is_set():
            rings = bell.rings  # a ring during the claim is not lost: the wait returns at once
            try:
                job = await jobs.claim(
                    self.sessions,
                    states,
                    worker=self.name,
                    lease_s=self.lease_s,
                    one_per_repo=one_per_repo,
                    per_installation=per_installation,
                    more=bell.ring,  # an idle loop takes the next one
                )
            except Exception as err:
                # One line an outage, not one a loop and a poll.
                first = self.outage.refused(err)
                (log.error if first else log.debug)("claiming a job failed: %s", said(err))
                await any_set(stop, timeout=self.poll_s)
                continue
            if job is None:
                if self.outage.since is not None:
                    await self._probe_writes()
                await bell.wait(rings, stop, timeout=self.poll_s)
                continue
            self.outage.took()  # a claim is a write
            try:
                await self._work(job, handle)
            except Exception as err:
                # Its bookkeeping failed too (the database went away): the job's lease lapses
                # and a worker takes it again; this loop waits a moment and goes on.
                log.error("job %s: %s; it is taken again once its lease lapses", job.id, said(err))
                await any_set(stop, timeout=self.poll_s)

    async def _work(self, job: Job, handle) -> None:
        """Carry `job` through `handle`. Raises only when even its bookkeeping (a retry, the
        end) cannot be stored: then its lease lapses and it is claimed again."""
        if job.attempts > finish.MAX_ATTEMPTS:
            # Its workers died every time (killed, out of memory) before they could say why.
            await finish.give_up(
                self.crew, job, "every worker that took it stopped before finishing"
            )
            return
        if job.cancel_requested:
            await finish.cancelled(self.crew, job)
            return
        # The work runs in a task of its own, the one the renewer may stop: a stop meant for one
        # job can never reach this loop's task (and end the loop, or the worker, with it).
        work = asyncio.create_task(handle(job), name=f"job-{job.id}")
        renewer = asyncio.create_task(self._renew(job, work))
        try:
            await work
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                # Shutting down: hand the job back now rather than let its lease lapse.
                with contextlib.suppress(Exception):
                    await asyncio.shield(jobs.hand_back(self.sessions, job.id, worker=self.name))
                    log.warning("job %s handed back on shutdown", job.id)
                raise
            decided = renewer.result() if renewer.done() and not renewer.cancelled() else None
            if decided == "lost":
                log.warning("job %s: lease lost to another worker; stopped", job.id)
            elif decided == "cancel":
                await finish.cancelled(self.crew, job)
            else:  # a cancel nobody here asked for, from inside the work: it failed
                await self._failed(job, RuntimeError("its work was cancelled from inside"))
        except LeaseLost as err:
            log.warning("%s; its result is left to the worker that holds it", err)
        except Exception as err:
            await self._failed(job, err)
        finally:
            renewer.cancel()
            work.cancel()  # when this loop is stopped, so is the work

    async def _failed(self, job: Job, err: Exception) -> None:
        log.error("job %s failed on attempt %d: %s", job.id, job.attempts, said(err))
        log.debug("job %s's failure", job.id, exc_info=err)
        await finish.retry_later(self.crew, job, err)

    async def _renew(self, job: Job, work: asyncio.Task) -> str:
        """Keep the lease while the work goes on; stop the work when the lease is lost ("lost")
        or a teacher asked to cancel the job ("cancel"). A cancel is heard of at once (news of
        new work: a teacher's cancel is announced like a regrade), the lease renewed on time."""
        every_s = min(self.lease_s / 3, self.poll_s * 2)
        loop = asyncio.get_running_loop()
        due = loop.time() + every_s
        while True:
            news = await self.crew.news.wait(timeout=max(due - loop.time(), 0.0))
            renewing = not news or loop.time() >= due
            if renewing:
                due = loop.time() + every_s
            try:
                # Shielded: this task is cancelled the moment the work ends, and a transaction
                # cut off mid-statement can leave its connection holding the job's row lock.
                renewed, cancel = await asyncio.shield(self._look(job, renewing))
            except Exception as err:
                # The database is away: the work goes on; once it is back the lease is renewed,
                # or found lost to a worker that took the job after it lapsed.
                log.warning("job %s: renewing its lease failed: %s", job.id, said(err))
                continue
            if not renewed:
                work.cancel()
                return "lost"
            if cancel:
                work.cancel()
                return "cancel"

    async def _look(self, job: Job, renewing: bool) -> tuple[bool, bool]:
        """Renew the lease (when `renewing`) and read whether a cancel was asked: (still ours,
        cancel)."""
        renewed = True
        if renewing:
            renewed = await jobs.renew(
                self.sessions, job.id, worker=self.name, lease_s=self.lease_s
            )
        return renewed, renewed and await requests.cancel_requested(self.sessions, job.id)


class WorkerFailed(Exception):
    """A loop this worker cannot do without keeps failing: the process should exit non-zero."""
