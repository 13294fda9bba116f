"""A job's last word: the check run's write staged in the outbox, and the job's end, stored
together. Every part of a worker ends its jobs through here."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from ghapp.core import checkrun
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.core.report import CheckRunReport, render_cancelled, render_not_graded
from ghapp.core.retry import JOBS
from ghapp.store import jobs, outbox
from ghapp.store.db import after_commit, write_session
from ghapp.store.models import Job, JobState, clipped, utcnow
from ghapp.work.crew import Crew

MAX_ATTEMPTS = JOBS.max_attempts  # claims across both phases before a job is given up


async def post(
    crew: Crew,
    job: Job,
    kind: WriteKind,
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
        "body": {**checkrun.identity(job.config, job.head_sha, job.id), **body},
        "more_outputs": more_outputs,
        "delay_s": delay_s,
    }
    if session is None:
        await outbox.enqueue(crew.sessions, job, **write)
        crew.publisher.wake()
    else:
        await outbox.stage(session, job, **write)
        after_commit(session, crew.publisher.wake)  # before, it would find nothing to send


async def complete(
    crew: Crew,
    job: Job,
    report: CheckRunReport,
    *,
    rerun: bool = True,
    revealing: bool = False,
    priority: Priority = Priority.FINAL,
    session=None,
    name: str | None = None,
) -> None:
    """Stage the completed check run that `report` makes."""
    body, more = checkrun.completed(
        report,
        details_url=f"{crew.public_url}/jobs/{job.id}",
        completed_at=None if revealing else utcnow(),
        rerun=rerun,
        name=name,
    )
    kind = WriteKind.REVEAL if revealing else WriteKind.FINAL
    await post(crew, job, kind, priority, body, more_outputs=more, session=session)


async def finish(crew: Crew, job: Job, state: JobState, note: str | None, **values) -> None:
    """The job's last word: its final state, and a note for the teacher (None: keep the
    note it has)."""
    if note is not None:
        values["note"] = clipped(note)
    await jobs.transition(
        crew.sessions, job.id, worker=crew.name, state=state, finished_at=utcnow(), **values
    )


async def conclude(
    crew: Crew, job: Job, report: CheckRunReport, name: str, note: str, *, session=None
) -> None:
    """A notice on the pushed commit (its own check run `name`) and the job's end, in one
    transaction."""
    if session is None:
        async with write_session(crew.sessions) as session:
            await conclude(crew, job, report, name, note, session=session)
        return
    await complete(crew, job, report, priority=Priority.NOTICE, session=session, name=name)
    await jobs.end(session, job.id, worker=crew.name, note=note)


async def cancelled(crew: Crew, job: Job) -> None:
    """A teacher cancelled the job: its check run, if it has one, says so."""
    if (
        job.check_run_id is not None
        or job.attempts > 1
        or await outbox.has_writes(crew.sessions, job.id)
    ):
        await complete(crew, job, render_cancelled())
    await finish(crew, job, JobState.CANCELLED, None)  # the note says who asked


async def retry_later(crew: Crew, job: Job, err: Exception) -> None:
    if JOBS.gives_up(job.attempts):
        await give_up(crew, job, f"{type(err).__name__}: {err}")
        return
    backoff = JOBS.wait_s(job.attempts)
    await jobs.transition(
        crew.sessions,
        job.id,
        worker=crew.name,
        release=False,
        lease_owner=None,
        lease_expires_at=utcnow() + timedelta(seconds=backoff),
        note=clipped(f"attempt {job.attempts} failed: {type(err).__name__}: {err}"),
    )


async def give_up(crew: Crew, job: Job, reason: str) -> None:
    report = render_not_graded(
        "Could not be graded",
        "pushgrade could not grade this commit after several attempts. A teacher can re-run it.",
    )
    with contextlib.suppress(Exception):
        await complete(crew, job, report)
    await finish(crew, job, JobState.FAILED, f"gave up after {job.attempts} attempts: {reason}")
