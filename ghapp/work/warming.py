"""Pushes to the org's own repositories, its `.github` repo and its grader repos: never graded,
they make the grader images ready before a student's push needs one.

- A push to the org's `.github` repo may change the policy: the org file is read again at once,
  and every assignment's image is made ready: built from its grader repo, or pulled.
- A push to the branch an assignment builds its grader from builds the new image at once. With
  `on_grader_push: regrade`, every repo's latest graded push of that assignment is then graded
  again with it, once, in the transaction that ends the push's job (a crash neither loses nor
  doubles the regrade). A build that fails regrades nothing.

The worker that handles the push warms its own Docker engine and leaves a `WarmRequest` that
every other worker follows (`follow`), so workers with engines of their own are warm too.

Either push gets a check run on its commit saying what was made ready, for the teacher. The one
on the `.github` repo, which orgs often make public, names assignments and nothing of the
images: what went wrong is in the job's note on the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from ghapp.core.config import AssignmentConfig, ConfigError, OnGraderPush, PushgradeConfig
from ghapp.core.oneline import said
from ghapp.core.report import Conclusion, render_notice
from ghapp.core.tenants import in_one_line, tenant_problems
from ghapp.github import InstallationClient
from ghapp.store import requests, warm_requests
from ghapp.store.db import after_commit, write_session
from ghapp.store.models import Job, JobState, WarmRequest, utcnow
from ghapp.work.config_reader import CONFIG_PATH, ORG_CONFIG_REPO
from ghapp.work.crew import Crew
from ghapp.work.finish import conclude, finish
from runner.registry import EngineError, ImageNotFound, PullError

log = logging.getLogger(__name__)

GRADER_CHECK_NAME = "pushgrade grader"
CONFIG_CHECK_NAME = "pushgrade config"
FOLLOW_S = 10.0  # how often a worker looks for images to warm on its engine
FOLLOW_WINDOW_S = 3600.0  # a worker starting warms what was asked this long before


@dataclass(frozen=True)
class OrgRepoPush:
    """What a push to one of the org's own repos asks for."""

    kind: str  # "config" (the .github repo) or "grader"
    branch: str
    # The assignments whose image it changes (all of them for the config), by name.
    assignments: tuple[tuple[str, AssignmentConfig], ...]


@dataclass(frozen=True)
class Readiness:
    name: str  # the assignment
    image: str | None  # the image made ready; None: it could not be
    problem: str = ""


def classify(job: Job, org: PushgradeConfig | None) -> OrgRepoPush | None:
    """None for a student's repo; else which assignments the push concerns (none: a branch no
    grader is built from, or not the config's own branch)."""
    branch = (job.ref or "").removeprefix("refs/heads/")
    default = job.default_branch
    if job.repo.lower() == ORG_CONFIG_REPO:
        on_default = _on_default_branch(job)
        everything = tuple(org.assignments.items()) if org is not None and on_default else ()
        return OrgRepoPush("config", branch, everything)
    if org is None:
        return None
    mine = [
        (name, config)
        for name, config in org.assignments.items()
        if config.grader is not None
        and tuple(p.lower() for p in config.grader.full_name(job.owner))
        == (job.owner.lower(), job.repo.lower())
    ]
    if not mine:
        return None
    moved = tuple(
        (name, config)
        for name, config in mine
        if (config.grader.ref or default) in (None, branch)  # None: default branch unknown
    )
    return OrgRepoPush("grader", branch, moved)


def _on_default_branch(job: Job) -> bool:
    branch = (job.ref or "").removeprefix("refs/heads/")
    return job.default_branch is None or branch == job.default_branch


async def on_org_repo_push(crew: Crew, job: Job, gh: InstallationClient) -> bool:
    """Handle `job` if it is a push to the org's `.github` or grader repos; False when it is a
    student's (nothing was done)."""
    config_push = job.repo.lower() == ORG_CONFIG_REPO
    if config_push:
        crew.configs.forget_org(gh, job.owner)  # the teacher's edit applies now
    try:
        org = await crew.configs.org_file(gh, job.owner)
    except ConfigError as err:
        if not config_push:
            return False  # the student's intake reports the broken org file
        if not _on_default_branch(job):  # the error is the default branch's, not this commit's
            await finish(crew, job, JobState.SKIPPED, "config push to another branch")
            return True
        await conclude(
            crew,
            job,
            render_notice(
                "The config has errors",
                f"Pushes are not graded until it is fixed:\n\n```\n{err}\n```",
                Conclusion.FAILURE,
            ),
            CONFIG_CHECK_NAME,
            f"org config invalid: {err}",
        )
        return True
    push = classify(job, org)
    if push is None:
        return False
    if not push.assignments:
        if push.kind == "grader":
            why = "no assignment builds its grader from this branch"
        elif _on_default_branch(job):
            why = f"no {CONFIG_PATH} there"
        else:
            why = "not the org's default branch"

        await finish(crew, job, JobState.SKIPPED, f"{push.kind} push to {push.branch}: {why}")
        return True
    await _ask_everywhere(crew, job, push.assignments)
    ready = await warm(crew, gh, job.owner, push.assignments)
    if push.kind == "config":
        report, note = _config_report(ready)
        await conclude(crew, job, report, CONFIG_CHECK_NAME, note)
    else:
        await _grader_pushed(crew, job, push, ready)
    return True


async def warm(
    crew: Crew,
    gh: InstallationClient,
    owner: str,
    assignments: tuple[tuple[str, AssignmentConfig], ...],
) -> list[Readiness]:
    """Build or pull each assignment's image now, all at once (one build per grader commit,
    one pull per reference, however many assignments share them)."""

    async def one(name: str, config: AssignmentConfig) -> Readiness:
        if config.grader is not None:
            built = await crew.graders.image_for(gh, owner, config.grader)
            return Readiness(name, built.tag, built.problem)
        assert config.image is not None
        rules = crew.tenants.rules(owner)
        refused = tenant_problems(config, rules, owner=owner)
        if refused:
            return Readiness(name, None, in_one_line(refused))
        try:
            auth = await crew.tenants.pull_auth(rules, config.image)
            await asyncio.to_thread(crew.sandbox.images.get, config.image, auth=auth)
        except PullError as err:
            return Readiness(name, None, err.reason)
        except ImageNotFound:
            return Readiness(name, None, f"The grader image {config.image} was not found.")
        except EngineError as err:
            return Readiness(name, None, f"The Docker engine failed: {err}")
        return Readiness(name, config.image)

    ready = await asyncio.gather(*(one(name, config) for name, config in assignments))
    for item in ready:
        log.info("%s/%s ready: %s", owner, item.name, item.image or item.problem.split("\n")[0])
    return list(ready)


# -- every engine ---------------------------------------------------------------------------------


async def _ask_everywhere(
    crew: Crew, job: Job, assignments: tuple[tuple[str, AssignmentConfig], ...]
) -> None:
    """Ask every worker to make these images ready on its own engine (see `follow`)."""
    configs = {name: config.model_dump(mode="json") for name, config in assignments}
    await warm_requests.ask(crew.sessions, job.installation_id, job.owner, configs)


async def follow(crew: Crew, stop: asyncio.Event, *, every_s: float = FOLLOW_S) -> None:
    """Make ready on this worker's engine every image another worker was asked to warm: the
    requests of the last `FOLLOW_WINDOW_S` at start (a worker started just after a push is
    warmed too), then each new one. On an engine where it is ready already this costs a look
    (one build per grader commit and engine; a tag resolved recently is not pulled again)."""
    since = utcnow() - timedelta(seconds=FOLLOW_WINDOW_S)
    cursor = 0
    while not stop.is_set():
        try:
            found = await warm_requests.after(crew.sessions, cursor, since=since)
            if found:
                cursor = found[-1].id
                await _warm_requested(crew, found)
            await warm_requests.forget_old(crew.sessions)
        except Exception as err:
            log.error("warming the images other workers were asked for failed: %s", said(err))
            log.debug("warming's failure", exc_info=err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def _warm_requested(crew: Crew, requests: list[WarmRequest]) -> None:
    latest: dict[tuple[int, str, str], WarmRequest] = {}
    for request in requests:  # the newest settings of each assignment
        latest[(request.installation_id, request.owner.lower(), request.assignment)] = request
    for request in latest.values():
        gh = crew.github.installation(request.installation_id)
        config = AssignmentConfig.model_validate(request.config)
        [ready] = await warm(crew, gh, request.owner, ((request.assignment, config),))
        if ready.image is None:
            log.warning("%s/%s could not be warmed here: %s", request.owner, request.assignment,
                        ready.problem.split("\n")[0])  # fmt: skip


async def _grader_pushed(crew: Crew, job: Job, push: OrgRepoPush, ready: list[Readiness]) -> None:
    failed = [item for item in ready if item.image is None]
    regrade = (
        []
        if failed  # a grader that does not build regrades nobody
        else [n for n, c in push.assignments if c.on_grader_push is OnGraderPush.REGRADE]
    )
    lines = [f"- **{item.name}**: `{item.image}`" for item in ready if item.image]
    lines += [f"- **{i.name}**: could not be built\n\n```\n{i.problem}\n```" for i in failed]
    async with write_session(crew.sessions) as session:
        regraded: dict[str, int] = {}
        for name in regrade:
            ids = await requests.regrade_all(
                session,
                owner=job.owner,
                assignment=name,
                by=job.sender or job.repo,
                note=f"regrade of every repo of {name} after {job.repo}@{job.head_sha[:7]}",
            )
            regraded[name] = len(ids)
        if any(regraded.values()):
            after_commit(session, crew.wake)  # the regrades are claimable once committed
        if failed:
            title = "The grader could not be built"
            conclusion = Conclusion.FAILURE
            lines.append("\nNothing was regraded; pushes are graded with it once it builds.")
        else:
            title = f"Built for {', '.join(item.name for item in ready)}"[:200]
            conclusion = Conclusion.SUCCESS
            for name, _ in push.assignments:
                if name in regraded:
                    lines.append(f"\n{name}: regrading the latest push of {regraded[name]} repos.")
                else:
                    lines.append(f"\n{name}: the next pushes are graded with it.")
        summary = "\n".join(lines)
        note = f"grader push: {title}; " + "; ".join(
            f"{name} regraded {count} repos" for name, count in regraded.items()
        )
        await conclude(
            crew,
            job,
            render_notice(title, summary, conclusion),
            GRADER_CHECK_NAME,
            note,
            session=session,
        )


def _config_report(ready: list[Readiness]):
    failed = [item.name for item in ready if item.image is None]
    names = ", ".join(item.name for item in ready)
    if failed:
        title = f"The grader image of {', '.join(failed)} is not ready"
        summary = (
            f"Assignments: {names}. The grader image of {', '.join(failed)} could not be made "
            "ready: a teacher can read why in pushgrade's dashboard."
        )
        report = render_notice(title[:200], summary, Conclusion.FAILURE)
    else:
        report = render_notice(
            f"{len(ready)} assignments ready",
            f"Assignments: {names}. Every grader image is ready.",
            Conclusion.SUCCESS,
        )
    problems = "; ".join(f"{item.name}: {item.problem}" for item in ready if item.image is None)
    return report, f"org config pushed: {report.title}" + (f": {problems}" if problems else "")
