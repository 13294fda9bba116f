"""The worker: takes jobs from the queue and carries each through to a completed check run.

Two phases, each with its own slots so a long grading run never delays a fresh push's "queued":
- intake (state received): read the policy (org and repo files); none → skipped, nothing on
  GitHub; a bad one → an `action_required` check run. A push the policy does not grade (a branch
  not graded, after the deadline, over the daily limit) → a `neutral` check run saying why and
  when grading resumes; else a `queued` check run.
- grading (state queued, or running with a lapsed lease): a push superseded by a newer one to
  its branch → `skipped`; else `in_progress`, download the commit, grade it in the sandbox,
  store the full Outcome, complete the check run at the visibility the policy allows now.
- reveal: once the deadline passes, runs graded before it are shown at the `after_due` level.
A job is held under a lease renewed while work goes on; a crashed worker's job is taken again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from ghapp.core.config import AssignmentConfig, ConfigError, ConfigProblem
from ghapp.core.deadline import (
    Standing,
    describe,
    judge,
    penalized,
    reveal_moment,
    show,
    shown_at,
)
from ghapp.core.events import RERUN_ACTION
from ghapp.core.oneline import said
from ghapp.core.report import (
    CheckRunReport,
    Lateness,
    render_cancelled,
    render_error_report,
    render_in_progress,
    render_not_graded,
    render_queued,
    render_report,
    render_superseded,
)
from ghapp.core.tenants import Tenancy, in_one_line, tenant_problems
from ghapp.github import DownloadTooLarge, GitHubApp, InstallationClient
from ghapp.store import queue
from ghapp.store.budget import Limits, Priority, WriteBudget
from ghapp.store.db import write_session
from ghapp.store.models import Job, JobState, OutboxWrite, Submission, utcnow
from ghapp.store.queue import LeaseLost
from ghapp.work import housekeeping, outbox, warming
from ghapp.work.admission import Admission
from ghapp.work.config_reader import CONFIG_PATH, ORG_CONFIG_REPO, ConfigReader
from ghapp.work.graders import Graders
from ghapp.work.reconcile import Reconciler
from ghapp.work.supervise import Loop, Outage, Supervisor
from ghapp.work.tenancy import Tenants
from ghapp.work.waiting import any_set
from runner.grade import grade_async
from runner.outcome import ErrorKind, Outcome
from runner.sandbox import Sandbox

log = logging.getLogger(__name__)

CHECK_NAME = "pushgrade"
RERUN_BUTTON = {
    "label": "Re-run",
    "description": "Grade this commit again",
    "identifier": RERUN_ACTION,
}
MAX_ATTEMPTS = 6  # claims across both phases before a job is given up
# "In progress" is sent only if the result has not come within this long: a quick grading run
# costs two writes (queued, completed), not three.
IN_PROGRESS_DELAY_S = 3.0
DRAIN_S = 5.0  # on the way out, how long results still staged may take to reach GitHub
ARCHIVE_CAP = 200 * 1024 * 1024


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        sessions,
        github: GitHubApp,
        *,
        sandbox: Sandbox | None = None,
        slots: int = os.cpu_count() or 1,
        intake_slots: int = 4,
        lease_s: float = 60.0,
        poll_s: float = 2.0,
        public_url: str = "http://127.0.0.1:8080",
        name: str | None = None,
        limits: Limits | None = None,
        reconcile_s: float = 300.0,
        tenancy: Tenancy | None = None,
    ) -> None:
        self.sessions = sessions
        self.github = github
        self.slots = slots
        self.intake_slots = intake_slots
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.public_url = public_url.rstrip("/")
        self.name = name or worker_name()
        self.sandbox = sandbox or Sandbox(owner=self.name)
        self.configs = ConfigReader()
        self.tenants = Tenants(sessions, tenancy)
        # Grading jobs one account may hold at once, across workers: the operator's ceilings.
        self.running_caps = self.tenants.tenancy.running_caps()
        self.graders = Graders(
            sessions,
            lambda: self.sandbox.client,
            worker=self.name,
            tenants=self.tenants,
            images=lambda: self.sandbox.images,
            lease_s=lease_s,
        )
        self.budget = WriteBudget(sessions, limits or Limits())
        self.publisher = outbox.Publisher(sessions, github, self.budget, poll_s=poll_s)
        self.reconciler = (
            Reconciler(sessions, github, every_s=reconcile_s, on_new_work=self.wake)
            if reconcile_s > 0
            else None
        )
        self.admission = Admission(sessions, self.configs, worker=self.name)
        self._wake = asyncio.Event()
        self.supervisor: Supervisor | None = None
        self.last_beat = time.monotonic()  # the last heartbeat the database took
        self.outage = Outage(on_back=self._database_back)

    def wake(self) -> None:
        """New work was stored: look now instead of at the next poll."""
        self._wake.set()

    def _database_back(self) -> None:
        """The database takes writes again after refusing them: the deliveries refused
        meanwhile are looked for now (GitHub sends none of them again), and the queue at once."""
        if self.reconciler is not None:
            self.reconciler.poke()
        self.wake()

    async def _probe_writes(self) -> None:
        """While the database refuses writes, a claim that finds nothing (a read) says nothing
        of them: try one, a heartbeat."""
        try:
            await queue.heartbeat(self.sessions, self.name, slots=self.slots)
        except Exception as err:
            self.outage.refused(err)
        else:
            self.last_beat = time.monotonic()
            self.outage.took()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop`; raises `WorkerFailed` when a loop it cannot do without keeps
        failing (its orchestrator should then restart the process)."""
        supervisor = self.supervisor = Supervisor(stop)
        loops = [
            Loop(f"intake-{i}", lambda: self._loop(stop, (JobState.RECEIVED,), self._intake))
            for i in range(self.intake_slots)
        ]
        loops += [
            Loop(
                f"grading-{i}",
                lambda: self._loop(
                    stop,
                    (JobState.QUEUED, JobState.RUNNING),
                    self._grade,
                    one_per_repo=True,
                    per_installation=self.running_caps,
                ),
            )
            for i in range(self.slots)
        ]
        loops.append(Loop("reveals", lambda: self._reveals(stop), essential=False))
        loops.append(Loop("heartbeats", lambda: housekeeping.heartbeats(self, stop)))
        every_s = max(self.poll_s * 5, 1.0)
        loops.append(Loop("warming", lambda: warming.follow(self, stop, every_s=every_s), False))
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
        try:
            everything = asyncio.gather(*tasks)
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
        silent = time.monotonic() - self.last_beat
        if silent > housekeeping.stale_after(self):
            return f"no heartbeat has reached the database for {silent:.0f} s"
        return None

    async def _loop(
        self, stop: asyncio.Event, states, handle, *, one_per_repo=False, per_installation=None
    ) -> None:
        while not stop.is_set():
            try:
                job = await queue.claim(
                    self.sessions,
                    states,
                    worker=self.name,
                    lease_s=self.lease_s,
                    one_per_repo=one_per_repo,
                    per_installation=per_installation,
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
                self._wake.clear()
                await any_set(self._wake, stop, timeout=self.poll_s)
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
        if job.attempts > MAX_ATTEMPTS:
            # Its workers died every time (killed, out of memory) before they could say why.
            await self._give_up(job, "every worker that took it stopped before finishing")
            return
        if job.cancel_requested:
            await self._cancelled(job)
            return
        renewer = asyncio.create_task(self._renew(job, asyncio.current_task()))
        try:
            await handle(job)
        except asyncio.CancelledError:
            if renewer.done() and renewer.result() == "lost":
                log.warning("job %s: lease lost to another worker; stopped", job.id)
                return
            if renewer.done() and renewer.result() == "cancel":
                await self._cancelled(job)
                return
            # Shutting down: hand the job back now rather than let its lease lapse.
            with contextlib.suppress(Exception):
                await asyncio.shield(queue.hand_back(self.sessions, job.id, worker=self.name))
                log.warning("job %s handed back on shutdown", job.id)
            raise
        except LeaseLost as err:
            log.warning("%s; its result is left to the worker that holds it", err)
        except Exception as err:
            log.error("job %s failed on attempt %d: %s", job.id, job.attempts, said(err))
            log.debug("job %s's failure", job.id, exc_info=True)
            await self._retry_later(job, err)
        finally:
            renewer.cancel()

    async def _renew(self, job: Job, work: asyncio.Task) -> str:
        """Keep the lease while the work goes on; stop the work when the lease is lost ("lost")
        or a teacher asked to cancel the job ("cancel")."""
        while True:
            await asyncio.sleep(min(self.lease_s / 3, self.poll_s * 2))
            try:
                renewed = await queue.renew(
                    self.sessions, job.id, worker=self.name, lease_s=self.lease_s
                )
                cancel = renewed and await queue.cancel_requested(self.sessions, job.id)
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

    async def _cancelled(self, job: Job) -> None:
        """A teacher cancelled the job: its check run, if it has one, says so."""
        if job.check_run_id is not None or job.attempts > 1 or await _has_writes(self, job):
            await self._complete(job, render_cancelled())
        await self._finish(job, JobState.CANCELLED, None)  # the note says who asked

    async def _retry_later(self, job: Job, err: Exception) -> None:
        if job.attempts >= MAX_ATTEMPTS:
            await self._give_up(job, f"{type(err).__name__}: {err}")
            return
        backoff = min(2**job.attempts * 5, 300)
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            release=False,
            lease_owner=None,
            lease_expires_at=utcnow() + timedelta(seconds=backoff),
            note=f"attempt {job.attempts} failed: {type(err).__name__}: {err}"[:2000],
        )

    async def _give_up(self, job: Job, reason: str) -> None:
        report = render_not_graded(
            "Could not be graded",
            "pushgrade could not grade this commit after several attempts. "
            "A teacher can re-run it.",
        )
        with contextlib.suppress(Exception):
            await self._complete(job, report)
        await self._finish(job, JobState.FAILED, f"gave up after {job.attempts} attempts: {reason}")

    async def _finish(self, job: Job, state: JobState, note: str | None, **values) -> None:
        """The job's last word: its final state, and a note for the teacher (None: keep the
        note it has)."""
        if note is not None:
            values["note"] = note[:2000]
        await queue.transition(
            self.sessions, job.id, worker=self.name, state=state, finished_at=utcnow(), **values
        )

    # -- intake -----------------------------------------------------------------------------------

    async def _intake(self, job: Job) -> None:
        if not await self.tenants.serves(job.owner, job.installation_id):
            # No check run: the deployment does not answer accounts its operator does not serve.
            note = f"not graded: {job.owner} is not served by this deployment (operator's policy)"
            await self._finish(job, JobState.SKIPPED, note)
            return
        gh = self.github.installation(job.installation_id)
        if await warming.on_org_repo_push(self, job, gh):
            return  # the org's .github or a grader repo: images made ready, nothing graded
        try:
            resolution = await self.configs.resolution(gh, job.owner, job.repo, job.head_sha)
        except ConfigError as err:
            # A repo file is the student's own; an org file's details are the teacher's.
            mine = err.file == CONFIG_PATH
            report = render_error_report(str(err), kind="config", student_may_read=mine)
            await self._complete(job, report)
            await self._finish(job, JobState.DONE, f"invalid config: {err}")
            return
        if resolution is not None and resolution.repo_file_ignored:
            # Said to whoever pushed, in words of their own file: nothing of the org file's.
            problem = (
                f"This repository's {CONFIG_PATH} is not used: in {job.owner}, the org's own "
                f"file ({ORG_CONFIG_REPO} repository) decides which repositories are graded, and "
                f"none of its assignments names {job.repo}. A teacher can add it to one."
            )
            report = render_error_report(problem, kind="config", student_may_read=True)
            await self._complete(job, report)
            await self._finish(job, JobState.DONE, f"not graded: {problem}")
            return
        if resolution is None or resolution.config is None:
            why = (
                f"no {CONFIG_PATH} in this repository or in {job.owner}/{ORG_CONFIG_REPO}"
                if resolution is None
                else f"no assignment in the config files matches {job.repo}"
            )
            log.info("%s/%s@%s not graded: %s", job.owner, job.repo, job.head_sha[:7], why)
            await self._finish(job, JobState.SKIPPED, f"{why}: not graded")
            return
        config = resolution.config
        refused = tenant_problems(config, self.tenants.rules(job.owner), owner=job.owner)
        if refused:
            # What the config asks is beyond what the operator gives this org: its owner acts.
            mine = resolution.source == "repo"
            where = CONFIG_PATH if mine else f"{job.owner}/{ORG_CONFIG_REPO}/{CONFIG_PATH}"
            err = ConfigError(where, [ConfigProblem("", f, m) for f, m in refused])
            report = render_error_report(str(err), kind="config", student_may_read=mine)
            await self._complete(job, report)
            await self._finish(
                job,
                JobState.DONE,
                f"not graded, beyond this deployment's policy: {err}",
                config=config.model_dump(mode="json"),
                assignment=resolution.assignment_name,
            )
            return
        job.config = config.model_dump(mode="json")
        # For the teacher: what the repo file tried to change and could not.
        locked = "; ".join(resolution.locked_overrides)
        refusal = await self.admission.refusal(job, gh, config)
        if refusal is not None:
            title, summary, why = refusal
            await self._complete(job, render_not_graded(title, summary), priority=Priority.NOTICE)
            note = "; ".join(filter(None, [f"not graded: {why}", locked]))
            await self._finish(
                job,
                JobState.DONE,
                note,
                config=job.config,
                timing=job.timing,
                assignment=resolution.assignment_name,
            )
            return
        if not job.background:  # a bulk regrade's commit keeps its last result meanwhile
            await self._post(
                job, "queued", Priority.NOTICE, {"status": "queued", "output": render_queued()}
            )
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            state=JobState.QUEUED,
            config=job.config,
            timing=job.timing,
            assignment=resolution.assignment_name,
            note="; ".join(filter(None, [job.note, locked]))[:2000],  # a regrade's says why
        )
        self.wake()

    async def _post(
        self,
        job: Job,
        kind: str,
        priority: Priority,
        body: dict,
        *,
        more_outputs: list[dict] | None = None,
        delay_s: float = 0.0,
        session=None,
    ) -> None:
        """Stage a write of the job's one check run in the outbox (in `session`, when given, so
        it commits with the state it reports). It carries what a create needs: if no earlier
        write was sent, this one creates the check run; after a crash the publisher finds a
        check run already made by its external_id (the job id)."""
        write = {
            "kind": kind,
            "priority": priority,
            "body": {
                "name": (job.config or {}).get("check_name") or CHECK_NAME,
                "head_sha": job.head_sha,
                "external_id": str(job.id),
                **body,
            },
            "more_outputs": more_outputs,
            "delay_s": delay_s,
        }
        if session is None:
            await outbox.enqueue(self.sessions, job, **write)
        else:
            await outbox.stage(session, job, **write)
        self.publisher.wake()

    # -- grading ----------------------------------------------------------------------------------

    async def _grade(self, job: Job) -> None:
        gh = self.github.installation(job.installation_id)
        config = AssignmentConfig.model_validate(job.config or {})
        if (job.trigger == "push" or job.background) and job.ref:
            newer = await queue.newer_push(self.sessions, job)
            if newer is not None and job.background:
                # A bulk regrade: the newer push is graded with the current grader anyway, and
                # the commit keeps its last result, so there is nothing to say.
                await self._finish(job, JobState.SKIPPED, f"not regraded: {newer} came since")
                return
            if newer is not None:
                await self._complete(
                    job, render_superseded(newer), rerun=False, priority=Priority.NOTICE
                )
                await self._finish(job, JobState.SKIPPED, f"superseded by {newer}")
                return
        started = utcnow()
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            release=False,
            state=JobState.RUNNING,
            started_at=started,
        )
        if not job.background:
            await self._post(
                job,
                "in_progress",
                Priority.INTERMEDIATE,
                {
                    "status": "in_progress",
                    "started_at": _iso(started),
                    "output": render_in_progress(),
                },
                delay_s=IN_PROGRESS_DELAY_S,
            )
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-job-"))
        try:
            archive = scratch / "commit.tar.gz"
            try:
                await gh.download_tarball(
                    job.owner, job.repo, job.head_sha, archive, cap=ARCHIVE_CAP
                )
            except DownloadTooLarge as err:
                outcome, image = Outcome.errored(ErrorKind.BAD_ARCHIVE, f"{err}."), None
            else:
                outcome, image = await self._run(job, gh, config, archive)
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        if outcome.error in _ENGINE_TROUBLE and job.attempts < MAX_ATTEMPTS:
            # The engine restarting, a container that vanished: not the submission's doing nor
            # the teacher's. Try again later (with backoff) before saying anything final.
            raise EngineTrouble(outcome.reason or str(outcome.error))
        late = await self._lateness(job, config)
        level, after_due = shown_at(config, utcnow())
        report = render_report(outcome, visibility=level, after_due=after_due, late=late)
        # Shown less now than after the deadline: the run is re-rendered then (see _reveals).
        reveal_at = reveal_moment(config)
        if after_due or reveal_at is None:
            reveal_at = None
        else:
            later, _ = shown_at(config, reveal_at)
            if render_report(outcome, visibility=later, after_due=True, late=late) == report:
                reveal_at = None
        penalty = late.penalty if late else 0.0
        # The result, the check run's write and the job's end commit together: a crash loses
        # none of them and sends nothing twice.
        async with write_session(self.sessions) as session:
            await self._complete(job, report, priority=_result_priority(job), session=session)
            session.add(
                Submission(
                    job_id=job.id,
                    owner=job.owner,
                    repo=job.repo,
                    head_sha=job.head_sha,
                    status=outcome.status.value,
                    conclusion=report.conclusion,
                    score=penalized(outcome.score, penalty),
                    max_score=outcome.max_score,
                    outcome=outcome.model_dump(mode="json"),
                    late=late is not None,
                    penalty=penalty,
                    level=level.value,
                    reveal_at=reveal_at,
                    image_id=outcome.image_id,
                    image=image,
                    image_digest=outcome.image_digest,
                )
            )
            # Keep what intake noted (locked fields the repo file tried to change) beside it.
            note = "; ".join(filter(None, [job.note, outcome.reason]))
            await queue.end(session, job.id, worker=self.name, note=note)

    async def _run(
        self, job: Job, gh: InstallationClient, config: AssignmentConfig, archive: Path
    ) -> tuple[Outcome, str | None]:
        """Grade the archive in the assignment's image: its `image`, or the image built from its
        `grader` repo (waiting while another job builds it; a failed build is the outcome).
        Also the image reference graded with (None when there was none)."""
        image = None
        rules = self.tenants.rules(job.owner)
        refused = tenant_problems(config, rules, owner=job.owner)
        if refused:  # the policy changed since intake: nothing runs that it no longer allows
            return Outcome.errored(ErrorKind.OVER_LIMITS, in_one_line(refused)), None
        if config.grader is not None:
            built = await self.graders.image_for(gh, job.owner, config.grader)
            if built.tag is None:
                outcome = Outcome.errored(
                    ErrorKind.GRADER_BUILD_FAILED, built.problem, log=built.log_tail
                )
                return outcome, None
            image = built.tag
        # A built grader is never pulled: it exists only on this engine.
        spec = config.sandbox_spec(image=image, pull_missing=image is None)
        auth = None if image is not None else await self.tenants.pull_auth(rules, spec.image)
        spec = dataclasses.replace(
            spec,
            pull_auth=auth,
            limits=dataclasses.replace(spec.limits, output_flood_bytes=rules.ceilings.output),
        )
        return await grade_async(archive, spec, sandbox=self.sandbox), spec.image

    async def _lateness(self, job: Job, config: AssignmentConfig) -> Lateness | None:
        timing = judge(config, await queue.pushed_at(self.sessions, job))
        if timing.standing is not Standing.LATE or config.due is None:
            return None
        return Lateness(describe(timing.late_by), show(config.due), timing.penalty)

    async def _complete(
        self,
        job: Job,
        report: CheckRunReport,
        *,
        rerun: bool = True,
        revealing: bool = False,
        priority: Priority = Priority.FINAL,
        session=None,
        name: str | None = None,
    ) -> None:
        batches = report.annotation_batches() or [()]
        body = {
            "status": "completed",
            "conclusion": report.conclusion,
            "output": report.output(batches[0]),
            "details_url": f"{self.public_url}/jobs/{job.id}",
        }
        if not revealing:  # a reveal changes what is shown, not when grading finished
            body["completed_at"] = _iso(utcnow())
        if rerun:
            body["actions"] = [RERUN_BUTTON]
        if name is not None:  # else the assignment's check_name
            body["name"] = name
        more = [report.output(batch) for batch in batches[1:]]  # 50 annotations a request
        kind = "reveal" if revealing else "final"
        await self._post(job, kind, priority, body, more_outputs=more, session=session)

    # -- reveal ----------------------------------------------------------------------------------

    async def _reveals(self, stop: asyncio.Event) -> None:
        """Re-render runs graded before their deadline once it passes, each once, durably: the
        moment is stored with the submission, and a reveal is claimed under a lease."""
        while not stop.is_set():
            try:
                submission = await queue.claim_reveal(self.sessions, lease_s=self.lease_s)
                if submission is not None:
                    await self._reveal(submission)
                    continue
            except Exception:
                log.exception("revealing a graded run failed; it is tried again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_s)

    async def _reveal(self, submission: Submission) -> None:
        async with self.sessions() as session:
            job = await session.get(Job, submission.job_id)
        if job is None or job.check_run_id is None or not job.config:
            await queue.revealed(self.sessions, submission.id, submission.level or "")
            return
        config = AssignmentConfig.model_validate(job.config)
        outcome = Outcome.model_validate(submission.outcome)
        level, after_due = shown_at(config, utcnow())
        late = await self._lateness(job, config)
        report = render_report(outcome, visibility=level, after_due=after_due, late=late)
        await self._complete(job, report, revealing=True, priority=Priority.BACKGROUND)
        await queue.revealed(self.sessions, submission.id, level.value)
        log.info("%s/%s@%s revealed at %s", job.owner, job.repo, job.head_sha[:7], level.value)


_ENGINE_TROUBLE = frozenset({ErrorKind.DOCKER_UNAVAILABLE, ErrorKind.SANDBOX_FAILED})


class WorkerFailed(Exception):
    """A loop this worker cannot do without keeps failing: the process should exit non-zero."""


class EngineTrouble(Exception):
    """The Docker engine failed under a run: retried, as any transient failure is."""


def _result_priority(job: Job) -> Priority:
    # A teacher's regrade from the dashboard must never delay a student's fresh result.
    return Priority.BACKGROUND if job.trigger == "dashboard" else Priority.FINAL


async def _has_writes(worker: Worker, job: Job) -> bool:
    async with worker.sessions() as session:
        return (
            await session.scalar(select(OutboxWrite.id).where(OutboxWrite.job_id == job.id))
        ) is not None


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
