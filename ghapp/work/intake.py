"""Intake (a job in state received): read the policy (org and repo files); none → skipped,
nothing on GitHub; a bad one → an `action_required` check run. A push the policy does not grade
(a branch not graded, after the deadline, over the daily limit) → a `neutral` check run saying
why and when grading resumes; else a `queued` check run, and the job waits for grading."""

from __future__ import annotations

import logging

from ghapp.core import checkrun
from ghapp.core.budget import Priority
from ghapp.core.checkrun import WriteKind
from ghapp.core.config import ConfigError, ConfigProblem
from ghapp.core.extension import extended
from ghapp.core.report import render_error_report, render_not_graded
from ghapp.core.tenants import tenant_problems
from ghapp.store import extensions, jobs
from ghapp.store.db import after_commit, write_session
from ghapp.store.jobs import LeaseLost
from ghapp.store.models import Job, JobState, clipped
from ghapp.work import warming
from ghapp.work.admission import Admission
from ghapp.work.config_reader import CONFIG_PATH, ORG_CONFIG_REPO
from ghapp.work.crew import Crew
from ghapp.work.finish import complete, finish, post

log = logging.getLogger(__name__)


async def intake(crew: Crew, admission: Admission, job: Job) -> None:
    if not await crew.tenants.serves(job.owner, job.installation_id):
        # No check run: the deployment does not answer accounts its operator does not serve.
        note = f"not graded: {job.owner} is not served by this deployment (operator's policy)"
        await finish(crew, job, JobState.SKIPPED, note)
        return
    gh = crew.github.installation(job.installation_id)
    if await warming.on_org_repo_push(crew, job, gh):
        return  # the org's .github or a grader repo: images made ready, nothing graded
    try:
        resolution = await crew.configs.resolution(gh, job.owner, job.repo, job.head_sha)
    except ConfigError as err:
        # A repo file is the student's own; an org file's details are the teacher's.
        mine = err.file == CONFIG_PATH
        report = render_error_report(str(err), kind="config", student_may_read=mine)
        await complete(crew, job, report)
        await finish(crew, job, JobState.DONE, f"invalid config: {err}")
        return
    if resolution is not None and resolution.repo_file_ignored:
        # Said to whoever pushed, in words of their own file: nothing of the org file's.
        problem = (
            f"This repository's {CONFIG_PATH} is not used: in {job.owner}, the org's own "
            f"file ({ORG_CONFIG_REPO} repository) decides which repositories are graded, and "
            f"none of its assignments names {job.repo}. A teacher can add it to one."
        )
        report = render_error_report(problem, kind="config", student_may_read=True)
        await complete(crew, job, report)
        await finish(crew, job, JobState.DONE, f"not graded: {problem}")
        return
    if resolution is None or resolution.config is None:
        why = (
            f"no {CONFIG_PATH} in this repository or in {job.owner}/{ORG_CONFIG_REPO}"
            if resolution is None
            else f"no assignment in the config files matches {job.repo}"
        )
        log.info("%s/%s@%s not graded: %s", job.owner, job.repo, job.head_sha[:7], why)
        await finish(crew, job, JobState.SKIPPED, f"{why}: not graded")
        return
    config = resolution.config
    refused = tenant_problems(config, crew.tenants.rules(job.owner), owner=job.owner)
    if refused:
        # What the config asks is beyond what the operator gives this org: its owner acts.
        mine = resolution.source == "repo"
        where = CONFIG_PATH if mine else f"{job.owner}/{ORG_CONFIG_REPO}/{CONFIG_PATH}"
        err = ConfigError(where, [ConfigProblem("", f, m) for f, m in refused])
        report = render_error_report(str(err), kind="config", student_may_read=mine)
        await complete(crew, job, report)
        await finish(
            crew,
            job,
            JobState.DONE,
            f"not graded, beyond this deployment's policy: {err}",
            config=config.model_dump(mode="json"),
            assignment=resolution.assignment_name,
        )
        return
    granted = await extensions.find(
        crew.sessions, org=job.owner, assignment=resolution.assignment_name, repo=job.repo
    )
    if granted is not None:  # this repo's own dates decide from here on
        config = extended(config, granted.due, granted.cutoff)
    job.config = config.model_dump(mode="json")
    # For the teacher: what the repo file tried to change and could not.
    locked = "; ".join(resolution.locked_overrides)
    refusal = await admission.refusal(job, gh, config)
    if refusal is not None:
        title, summary, why = refusal
        await complete(crew, job, render_not_graded(title, summary), priority=Priority.NOTICE)
        note = "; ".join(filter(None, [f"not graded: {why}", locked]))
        await finish(
            crew,
            job,
            JobState.DONE,
            note,
            config=job.config,
            timing=job.timing,
            assignment=resolution.assignment_name,
        )
        return
    # Queued, and its "queued" check run staged, in one transaction: a lost lease stages nothing.
    async with write_session(crew.sessions) as session:
        if not job.background:  # a bulk regrade's commit keeps its last result meanwhile
            ahead = await jobs.ahead(session, job.id)
            await post(
                crew,
                job,
                WriteKind.QUEUED,
                Priority.NOTICE,
                checkrun.queued(ahead),
                session=session,
            )
        moved = await jobs.move(
            session,
            job.id,
            worker=crew.name,
            state=JobState.QUEUED,
            config=job.config,
            timing=job.timing,
            assignment=resolution.assignment_name,
            note=clipped("; ".join(filter(None, [job.note, locked]))),  # a regrade's says why
        )
        if not moved:
            raise LeaseLost(f"job {job.id} was taken over while it was read")
        after_commit(session, crew.queued)
