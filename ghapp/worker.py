"""The worker: takes jobs from the queue and carries each through to a completed check run.

Two phases, each with its own slots so a long grading run never delays a fresh push's "queued":
- intake (state received): read the repo's config at the pushed commit; no config → skipped,
  nothing on GitHub; a bad config → an `action_required` check run; else a `queued` check run.
- grading (state queued, or running with a lapsed lease): `in_progress`, download the commit,
  grade it in the sandbox, store the full Outcome, complete the check run.
A job is held under a lease renewed while work goes on; a crashed worker's job is taken again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

from ghapp import queue
from ghapp.config import AssignmentConfig, ConfigError, load_file
from ghapp.db import write_session
from ghapp.events import RERUN_ACTION
from ghapp.github import DownloadTooLarge, GitHubApp, InstallationClient
from ghapp.models import Job, JobState, Submission, utcnow
from ghapp.policy import Resolution, resolve
from ghapp.report import (
    CheckRunReport,
    render_error_report,
    render_in_progress,
    render_not_graded,
    render_queued,
    render_report,
)
from runner.grade import grade_async
from runner.outcome import ErrorKind, Outcome
from runner.sandbox import Sandbox

log = logging.getLogger(__name__)

CONFIG_PATH = ".github/pushgrade.yml"
ORG_CONFIG_REPO = ".github"  # the org-level file lives in the org's .github repository
CHECK_NAME = "pushgrade"
RERUN_BUTTON = {
    "label": "Re-run",
    "description": "Grade this commit again",
    "identifier": RERUN_ACTION,
}
MAX_ATTEMPTS = 6  # claims across both phases before a job is given up
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
    ) -> None:
        self.sessions = sessions
        self.github = github
        self.sandbox = sandbox or Sandbox()
        self.slots = slots
        self.intake_slots = intake_slots
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.public_url = public_url.rstrip("/")
        self.name = name or worker_name()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New work was stored: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        loops = [
            self._loop(stop, (JobState.RECEIVED,), self._intake) for _ in range(self.intake_slots)
        ]
        loops += [
            self._loop(stop, (JobState.QUEUED, JobState.RUNNING), self._grade)
            for _ in range(self.slots)
        ]
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await asyncio.gather(*tasks)
        finally:
            # Whatever stops us, every loop has finished (containers removed, sessions closed)
            # before we return and the caller disposes of the database engine.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, stop: asyncio.Event, states, handle) -> None:
        while not stop.is_set():
            try:
                job = await queue.claim(
                    self.sessions, states, worker=self.name, lease_s=self.lease_s
                )
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(self._wake.wait(), stop.wait()), self.poll_s)
                continue
            await self._work(job, handle)

    async def _work(self, job: Job, handle) -> None:
        if job.attempts > MAX_ATTEMPTS:
            # Its workers died every time (killed, out of memory) before they could say why.
            await self._give_up(job, "every worker that took it stopped before finishing")
            return
        renewer = asyncio.create_task(self._renew(job, asyncio.current_task()))
        try:
            await handle(job)
        except asyncio.CancelledError:
            if renewer.done() and renewer.result() is False:
                log.warning("job %s: lease lost to another worker; stopped", job.id)
                return
            raise
        except Exception as err:
            log.exception("job %s failed on attempt %d", job.id, job.attempts)
            await self._retry_later(job, err)
        finally:
            renewer.cancel()

    async def _renew(self, job: Job, work: asyncio.Task) -> bool:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not await queue.renew(self.sessions, job.id, worker=self.name, lease_s=self.lease_s):
                work.cancel()
                return False

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
            await self._complete(job, self.github.installation(job.installation_id), report)
        await self._finish(job, JobState.FAILED, f"gave up after {job.attempts} attempts: {reason}")

    async def _finish(self, job: Job, state: JobState, note: str) -> None:
        """The job's last word: its final state, and a note for the teacher."""
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            state=state,
            finished_at=utcnow(),
            note=note[:2000],
        )

    # -- intake -----------------------------------------------------------------------------------

    async def _intake(self, job: Job) -> None:
        gh = self.github.installation(job.installation_id)
        try:
            resolution = await self._policy(job, gh)
        except ConfigError as err:
            # A repo file is the student's own; an org file's details are the teacher's.
            mine = err.file == CONFIG_PATH
            report = render_error_report(str(err), kind="config", student_may_read=mine)
            await self._complete(job, gh, report)
            await self._finish(job, JobState.DONE, f"invalid config: {err}")
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
        job.config = config.model_dump(mode="json")
        await self._write(job, gh, {"status": "queued", "output": render_queued()})
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            state=JobState.QUEUED,
            config=job.config,
            check_run_id=job.check_run_id,
            # For the teacher: what the repo file tried to change and could not.
            note="; ".join(resolution.locked_overrides)[:2000],
        )
        self.wake()

    async def _policy(self, job: Job, gh: InstallationClient) -> Resolution | None:
        """The org file (the org's .github repository, default branch) merged with the repo's
        file at the pushed commit; None when neither exists."""
        org_raw = await gh.file(job.owner, ORG_CONFIG_REPO, CONFIG_PATH, None)
        repo_raw = await gh.file(job.owner, job.repo, CONFIG_PATH, job.head_sha)
        if org_raw is None and repo_raw is None:
            return None
        org_file = f"{job.owner}/{ORG_CONFIG_REPO}/{CONFIG_PATH}"
        org = load_file(org_raw, file=org_file, org=True) if org_raw is not None else None
        repo = load_file(repo_raw, file=CONFIG_PATH) if repo_raw is not None else None
        return resolve(job.repo, org=org, repo=repo)

    async def _write(self, job: Job, gh: InstallationClient, body: dict) -> None:
        """Create the job's one check run with `body`, or update it to `body`. After a crash
        between creating it and storing its id, it is found again by external_id (the job id)."""
        if job.check_run_id is None and job.attempts > 1:
            job.check_run_id = await gh.find_check_run(
                job.owner, job.repo, job.head_sha, str(job.id)
            )
        if job.check_run_id is not None:
            await gh.update_check_run(job.owner, job.repo, job.check_run_id, body)
            return
        created = await gh.create_check_run(
            job.owner,
            job.repo,
            {
                "name": (job.config or {}).get("check_name") or CHECK_NAME,
                "head_sha": job.head_sha,
                "external_id": str(job.id),
                **body,
            },
        )
        job.check_run_id = created["id"]
        await queue.transition(
            self.sessions, job.id, worker=self.name, release=False, check_run_id=job.check_run_id
        )

    # -- grading ----------------------------------------------------------------------------------

    async def _grade(self, job: Job) -> None:
        gh = self.github.installation(job.installation_id)
        config = AssignmentConfig.model_validate(job.config or {})
        started = utcnow()
        await queue.transition(
            self.sessions,
            job.id,
            worker=self.name,
            release=False,
            state=JobState.RUNNING,
            started_at=started,
        )
        await self._write(
            job,
            gh,
            {"status": "in_progress", "started_at": _iso(started), "output": render_in_progress()},
        )
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-job-"))
        try:
            archive = scratch / "commit.tar.gz"
            try:
                await gh.download_tarball(
                    job.owner, job.repo, job.head_sha, archive, cap=ARCHIVE_CAP
                )
            except DownloadTooLarge as err:
                outcome = Outcome.errored(ErrorKind.BAD_ARCHIVE, f"{err}.")
            else:
                outcome = await grade_async(archive, config.sandbox_spec(), sandbox=self.sandbox)
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        report = render_report(outcome, visibility=config.visibility)
        await self._complete(job, gh, report)
        async with write_session(self.sessions) as session:
            session.add(
                Submission(
                    job_id=job.id,
                    owner=job.owner,
                    repo=job.repo,
                    head_sha=job.head_sha,
                    status=outcome.status.value,
                    conclusion=report.conclusion,
                    score=outcome.score,
                    max_score=outcome.max_score,
                    outcome=outcome.model_dump(mode="json"),
                )
            )
        # Keep what intake noted (locked fields the repo file tried to change) beside the reason.
        await self._finish(job, JobState.DONE, "; ".join(filter(None, [job.note, outcome.reason])))

    async def _complete(self, job: Job, gh: InstallationClient, report: CheckRunReport) -> None:
        batches = report.annotation_batches() or [()]
        body = {
            "status": "completed",
            "conclusion": report.conclusion,
            "completed_at": _iso(utcnow()),
            "output": report.output(batches[0]),
        }
        if report.conclusion == "action_required":
            body["details_url"] = f"{self.public_url}/jobs/{job.id}"
        body["actions"] = [RERUN_BUTTON]
        await self._write(job, gh, body)
        for batch in batches[1:]:  # GitHub takes 50 annotations per request; the rest follow
            await gh.update_check_run(
                job.owner, job.repo, job.check_run_id, {"output": report.output(batch)}
            )


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _first(*aws) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
