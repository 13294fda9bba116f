"""Reveals: once the deadline passes, runs graded before it are shown at the `after_due`
level — each once, durably: the moment is stored with the submission, and a reveal is claimed
under a lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ghapp.core.budget import Priority
from ghapp.core.config import AssignmentConfig
from ghapp.core.oneline import said
from ghapp.store import jobs
from ghapp.store.models import Submission
from ghapp.store.reveals import claim_reveal, revealed
from ghapp.work.crew import Crew
from ghapp.work.finish import complete
from ghapp.work.grading import student_view_of
from runner.outcome import Outcome

log = logging.getLogger(__name__)


async def reveals(crew: Crew, stop: asyncio.Event) -> None:
    """Re-render runs graded before their deadline once it passes."""
    while not stop.is_set():
        try:
            submission = await claim_reveal(crew.sessions, lease_s=crew.lease_s)
            if submission is not None:
                await reveal(crew, submission)
                continue
        except Exception as err:
            log.error("revealing a graded run failed: %s; it is tried again later", said(err))
            log.debug("revealing's failure", exc_info=err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), crew.poll_s)


async def reveal(crew: Crew, submission: Submission) -> None:
    job = await jobs.get(crew.sessions, submission.job_id)
    if job is None or job.check_run_id is None or not job.config:
        await revealed(crew.sessions, submission.id, submission.level or "")
        return
    config = AssignmentConfig.model_validate(job.config)
    outcome = Outcome.model_validate(submission.outcome)
    view = await student_view_of(crew, job, config, outcome, daily=False)
    await complete(crew, job, view.report, revealing=True, priority=Priority.BACKGROUND)
    await revealed(crew.sessions, submission.id, view.level.value)
    log.info("%s/%s@%s revealed at %s", job.owner, job.repo, job.head_sha[:7], view.level.value)
