"""Grading (a job queued, or running with a lapsed lease): a push superseded by a newer one to
its branch → `skipped`; else `in_progress`, download the commit, grade it in the sandbox, store
the full Outcome, and complete the check run at the visibility the policy allows now."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import tempfile
import time
from pathlib import Path

from ghapp import metrics
from ghapp.core import checkrun, phases
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.core.config import AssignmentConfig
from ghapp.core.deadline import day_window, penalized
from ghapp.core.events import Trigger
from ghapp.core.gradescope_meta import Previous, submission_metadata
from ghapp.core.oneline import said
from ghapp.core.report import render_superseded
from ghapp.core.student import StudentView, student_view
from ghapp.core.tenants import in_one_line, tenant_problems
from ghapp.github import DownloadTooLarge, InstallationClient
from ghapp.store import extensions, history, jobs
from ghapp.store.db import write_session
from ghapp.store.jobs import LeaseLost
from ghapp.store.models import Job, JobState, Submission, utcnow
from ghapp.work.crew import Crew
from ghapp.work.finish import MAX_ATTEMPTS, complete, finish, post
from runner.grade import grade_async
from runner.outcome import ErrorKind, Outcome

log = logging.getLogger(__name__)

# "In progress" is sent only if the result has not come within this long: a quick grading run
# costs two writes (queued, completed), not three.
IN_PROGRESS_DELAY_S = 3.0
ARCHIVE_CAP = 200 * 1024 * 1024
_ENGINE_TROUBLE = frozenset({ErrorKind.DOCKER_UNAVAILABLE, ErrorKind.SANDBOX_FAILED})


class EngineTrouble(Exception):
    """The Docker engine failed under a run: retried, as any transient failure is."""


async def grade(crew: Crew, job: Job) -> None:
    gh = crew.github.installation(job.installation_id)
    config = AssignmentConfig.model_validate(job.config or {})
    if (job.trigger == Trigger.PUSH or job.background) and job.ref:
        newer = await history.newer_push(crew.sessions, job)
        if newer is not None and job.background:
            # A bulk regrade: the newer push is graded with the current grader anyway, and
            # the commit keeps its last result, so there is nothing to say.
            await finish(crew, job, JobState.SKIPPED, f"not regraded: {newer} came since")
            return
        if newer is not None:
            await complete(
                crew, job, render_superseded(newer), rerun=False, priority=Priority.NOTICE
            )
            await finish(crew, job, JobState.SKIPPED, f"superseded by {newer}")
            return
    started = utcnow()
    timeline = {"received": job.received_at.timestamp(), "claimed": started.timestamp()}
    async with write_session(crew.sessions) as session:
        running = await jobs.move(
            session,
            job.id,
            worker=crew.name,
            release=False,
            state=JobState.RUNNING,
            started_at=started,
        )
        if not running:
            raise LeaseLost(f"job {job.id} was taken over before it ran")
        if not job.background:
            await post(
                crew,
                job,
                WriteKind.IN_PROGRESS,
                Priority.INTERMEDIATE,
                checkrun.in_progress(started),
                delay_s=IN_PROGRESS_DELAY_S,
                session=session,
            )
    scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-job-"))
    try:
        archive = scratch / "commit.tar.gz"
        try:
            await gh.download_tarball(job.owner, job.repo, job.head_sha, archive, cap=ARCHIVE_CAP)
        except DownloadTooLarge as err:
            outcome, image = Outcome.errored(ErrorKind.BAD_ARCHIVE, f"{err}."), None
        else:
            timeline["downloaded"] = time.time()
            outcome, image = await _run(crew, job, gh, config, archive)
            timeline |= outcome.phases
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    if outcome.error in _ENGINE_TROUBLE and job.attempts < MAX_ATTEMPTS:
        # The engine restarting, a container that vanished: not the submission's doing nor
        # the teacher's. Try again later (with backoff) before saying anything final.
        raise EngineTrouble(outcome.reason or str(outcome.error))
    view = await student_view_of(crew, job, config, outcome)
    report, level, penalty = view.report, view.level, view.penalty
    # Shown less now than after the deadline: the run is re-rendered then (see reveal.py).
    reveal_when = view.reveal_at
    # The result, the check run's write and the job's end commit together: a crash loses
    # none of them and sends nothing twice.
    async with write_session(crew.sessions) as session:
        await complete(crew, job, report, priority=_result_priority(job), session=session)
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
                late=view.late is not None,
                penalty=penalty,
                level=level.value,
                reveal_at=reveal_when,
                image_id=outcome.image_id,
                image=image,
                image_digest=outcome.image_digest,
                leaderboard=[e.model_dump() for e in outcome.leaderboard] or None,
            )
        )
        # Keep what intake noted (locked fields the repo file tried to change) beside it.
        note = "; ".join(filter(None, [job.note, outcome.reason]))
        timeline["staged"] = time.time()
        await jobs.end(session, job.id, worker=crew.name, note=note, phases=timeline)
    for phase, seconds in phases.observations(timeline, upto="staged"):
        metrics.JOB_PHASES.labels(phase).observe(seconds)


async def _run(
    crew: Crew, job: Job, gh: InstallationClient, config: AssignmentConfig, archive: Path
) -> tuple[Outcome, str | None]:
    """Grade the archive in the assignment's image: its `image`, or the image built from its
    `grader` repo (waiting while another job builds it; a failed build is the outcome).
    Also the image reference graded with (None when there was none)."""
    image = None
    rules = crew.tenants.rules(job.owner)
    refused = tenant_problems(config, rules, owner=job.owner)
    if refused:  # the policy changed since intake: nothing runs that it no longer allows
        return Outcome.errored(ErrorKind.OVER_LIMITS, in_one_line(refused)), None
    if config.grader is not None:
        built = await crew.graders.image_for(gh, job.owner, config.grader)
        if built.tag is None:
            outcome = Outcome.errored(
                ErrorKind.GRADER_BUILD_FAILED, built.problem, log=built.log_tail
            )
            return outcome, None
        image = built.tag
    # A built grader is never pulled: it exists only on this engine.
    spec = config.sandbox_spec(image=image, pull_missing=image is None)
    auth = None if image is not None else await crew.tenants.pull_auth(rules, spec.image)
    spec = dataclasses.replace(
        spec,
        pull_auth=auth,
        limits=dataclasses.replace(spec.limits, output_flood_bytes=rules.ceilings.output),
        gradescope_metadata=_metadata_asked(crew, job, config),
    )
    return await grade_async(archive, spec, sandbox=crew.sandbox), spec.image


def _metadata_asked(crew: Crew, job: Job, config: AssignmentConfig):
    """What the sandbox calls, from its thread, when the image is a Gradescope image: the
    submission_metadata.json of `job`, read from the database on this loop (None if it could
    not be: the run goes on without the file, and the worker's log says why)."""
    loop = asyncio.get_running_loop()

    def metadata() -> bytes | None:
        future = asyncio.run_coroutine_threadsafe(_metadata(crew, job, config), loop)
        try:
            return future.result(timeout=60)
        except Exception as err:  # the database away, say: grading need not wait for it
            future.cancel()
            log.warning("job %s: no submission_metadata.json: %s", job.id, said(err))
            return None

    return metadata


async def _metadata(crew: Crew, job: Job, config: AssignmentConfig) -> bytes:
    earlier = await history.earlier_graded(crew.sessions, job)
    pusher = await history.first_pusher(crew.sessions, job)
    return submission_metadata(
        submission_id=job.id,
        created_at=await history.pushed_at(crew.sessions, job),
        assignment=job.assignment or job.repo,
        config=config,
        users=[pusher] if pusher else [],
        previous=[Previous(*entry) for entry in earlier],
    )


async def student_view_of(
    crew: Crew, job: Job, config: AssignmentConfig, outcome: Outcome, *, daily: bool = True
) -> StudentView:
    """The check run `outcome` of `job` shows its student now: judged by the time its commit
    was first pushed, with the pushes left today when it counts against a daily limit (not
    `daily`: a reveal, perhaps days later, says nothing of "today")."""
    pushed = await history.pushed_at(crew.sessions, job)
    graded_today = None
    if daily and config.max_graded_per_day is not None and job.counted:
        window = day_window(config, job.received_at)
        graded_today = await history.counted_on(
            crew.sessions, owner=job.owner, repo=job.repo, window=window
        )
    granted = await extensions.find(
        crew.sessions, org=job.owner, assignment=job.assignment, repo=job.repo
    )
    return student_view(
        config,
        outcome,
        pushed_at=pushed,
        now=utcnow(),
        graded_today=graded_today,
        extended=granted is not None and granted.due == config.due,
    )


def _result_priority(job: Job) -> Priority:
    # A teacher's regrade from the dashboard must never delay a student's fresh result.
    return Priority.BACKGROUND if job.trigger == Trigger.DASHBOARD else Priority.FINAL
