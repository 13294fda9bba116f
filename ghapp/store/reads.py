"""What the dashboard's pages read from the database: accounts, assignments, gradebooks, the
queue, one job. Read-only queries; each page costs a few of them, whatever the class size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select

from ghapp.store.models import Extension, Installation, Job, JobState, Submission
from runner.outcome import ErrorKind


@dataclass(frozen=True)
class Account:
    """An org (or user) pushgrade is installed on, as the database knows it."""

    login: str
    installation_id: int
    kind: str = "Organization"
    suspended: bool = False


@dataclass(frozen=True)
class GradedRun:
    """One submission: a commit graded."""

    submission_id: int
    job_id: int
    repo: str
    head_sha: str
    score: float | None  # after any late penalty
    max_score: float | None
    late: bool
    status: str  # the Outcome's: passed, failed, errored, timed_out (hidden tests count)
    graded_at: datetime


@dataclass(frozen=True)
class JobSeen:
    job_id: int
    repo: str
    state: str
    trigger: str
    sender: str | None
    received_at: datetime
    head_sha: str


# Problems of the teacher's making (the grader image), shown at the top of an assignment.
GRADER_PROBLEMS = frozenset(
    {
        ErrorKind.IMAGE_NOT_FOUND,
        ErrorKind.IMAGE_NO_COMMAND,
        ErrorKind.BAD_RESULTS,
        ErrorKind.GRADER_FAILED,
        ErrorKind.OVER_LIMITS,
    }
)
WAITING = (JobState.RECEIVED, JobState.QUEUED)


async def accounts(sessions) -> list[Account]:
    """Every account pushgrade knows: installations, and owners of jobs (an installation made
    while the webhook was not reaching pushgrade is known by its pushes)."""
    found: dict[str, Account] = {}
    async with sessions() as session:
        for id_, login, kind, suspended in await session.execute(
            select(
                Installation.id,
                Installation.account_login,
                Installation.account_type,
                Installation.suspended_at,
            ).order_by(Installation.id)
        ):
            found[login.lower()] = Account(
                login, id_, kind or "Organization", suspended is not None
            )
        for owner, installation_id in await session.execute(
            select(Job.owner, func.max(Job.installation_id)).group_by(Job.owner)
        ):
            found.setdefault(owner.lower(), Account(owner, installation_id))
    return sorted(found.values(), key=lambda a: a.login.lower())


async def account(sessions, login: str) -> Account | None:
    return next((a for a in await accounts(sessions) if a.login.lower() == login.lower()), None)


@dataclass(frozen=True)
class AssignmentSummary:
    name: str
    repos: int
    graded: int  # repos with a graded run
    late: int  # repos whose latest graded run is late
    failing: int  # repos whose latest graded run did not pass (hidden tests count here)
    due: str | None
    visibility: str | None
    image: str | None


async def assignments(sessions, org: str) -> list[AssignmentSummary]:
    async with sessions() as session:
        repos = dict(
            (
                await session.execute(
                    select(Job.assignment, func.count(func.distinct(Job.repo)))
                    .where(Job.owner == org, Job.assignment.is_not(None))
                    .group_by(Job.assignment)
                )
            ).all()
        )
        newest = (
            select(func.max(Job.id))
            .where(Job.owner == org, Job.assignment.is_not(None), Job.config.is_not(None))
            .group_by(Job.assignment)
        )
        configs = {
            name: config or {}
            for name, config in await session.execute(
                select(Job.assignment, Job.config).where(Job.id.in_(newest))
            )
        }
        latest = (
            select(func.max(Submission.id))
            .join(Job, Job.id == Submission.job_id)
            .where(Job.owner == org)
            .group_by(Job.assignment, Submission.repo)
        )
        standing = (
            await session.execute(
                select(Job.assignment, Submission.late, Submission.status)
                .join(Job, Job.id == Submission.job_id)
                .where(Submission.id.in_(latest))
            )
        ).all()
    summaries = []
    for name in sorted(repos, key=str.lower):
        mine = [(late, status) for a, late, status in standing if a == name]
        config = configs.get(name, {})
        summaries.append(
            AssignmentSummary(
                name=name,
                repos=repos[name],
                graded=len(mine),
                late=sum(1 for late, _ in mine if late),
                failing=sum(1 for _, status in mine if status != "passed"),
                due=config.get("due"),
                visibility=config.get("visibility"),
                image=config.get("image"),
            )
        )
    return summaries


async def assignment_config(sessions, org: str, name: str) -> dict | None:
    """The newest resolved config of an assignment (None when no job has it): the class's, not
    one a student's extension changed the dates of (unless every job's was)."""
    extended_repo = exists().where(
        Extension.org == func.lower(Job.owner),
        Extension.assignment == Job.assignment,
        Extension.repo == func.lower(Job.repo),
    )
    newest = (
        select(Job.config)
        .where(Job.owner == org, Job.assignment == name, Job.config.is_not(None))
        .order_by(Job.id.desc())
        .limit(1)
    )
    async with sessions() as session:
        found = await session.scalar(newest.where(~extended_repo))
        return found if found is not None else await session.scalar(newest)


@dataclass(frozen=True)
class Standing:
    """A repo's latest graded run's leaderboard entries ([{name, value, order}])."""

    repo: str
    job_id: int
    entries: list


def _latest_per_repo(org: str, name: str):
    """The id of each repo's latest graded run of the assignment (a subquery)."""
    return (
        select(func.max(Submission.id))
        .join(Job, Job.id == Submission.job_id)
        .where(Job.owner == org, Job.assignment == name)
        .group_by(Submission.repo)
    )


async def leaderboard_input(sessions, org: str, name: str) -> list[Standing]:
    """The leaderboard of each repo's latest graded run of the assignment, where it has one."""
    async with sessions() as session:
        latest = _latest_per_repo(org, name)
        found = await session.execute(
            select(Submission.repo, Submission.job_id, Submission.leaderboard).where(
                Submission.id.in_(latest)
            )
        )
        return [Standing(*row) for row in found if isinstance(row[2], list) and row[2]]


# A GradedRun's fields, in its order: every query that makes GradedRuns selects these.
GRADED_RUN_COLUMNS = (
    Submission.id,
    Submission.job_id,
    Submission.repo,
    Submission.head_sha,
    Submission.score,
    Submission.max_score,
    Submission.late,
    Submission.status,
    Submission.graded_at,
)


async def gradebook_input(sessions, org: str, name: str) -> tuple[list[GradedRun], list[JobSeen]]:
    async with sessions() as session:
        runs = [
            GradedRun(*row)
            for row in await session.execute(
                select(*GRADED_RUN_COLUMNS)
                .join(Job, Job.id == Submission.job_id)
                .where(Job.owner == org, Job.assignment == name)
                .order_by(Submission.id)
            )
        ]
        jobs = [
            JobSeen(*row)
            for row in await session.execute(
                select(
                    Job.id,
                    Job.repo,
                    Job.state,
                    Job.trigger,
                    Job.sender,
                    Job.received_at,
                    Job.head_sha,
                )
                .where(Job.owner == org, Job.assignment == name)
                .order_by(Job.id)
            )
        ]
    return runs, jobs


@dataclass(frozen=True)
class Problem:
    """A config or grader problem, with the newest job that met it."""

    repo: str
    job_id: int
    text: str
    at: datetime


async def config_problems(sessions, org: str) -> list[Problem]:
    """Repos whose newest job past intake found an invalid config file."""
    async with sessions() as session:
        newest = (
            select(func.max(Job.id))
            .where(Job.owner == org, Job.state != str(JobState.RECEIVED))
            .group_by(Job.repo)
        )
        found = await session.execute(
            select(Job.repo, Job.id, Job.note, Job.received_at)
            .where(Job.id.in_(newest), Job.note.like("invalid config:%"))
            .order_by(Job.repo)
        )
        return [Problem(*row) for row in found]


async def grader_problems(sessions, org: str, name: str) -> list[Problem]:
    """Repos whose newest graded run of this assignment could not run the grader image."""
    async with sessions() as session:
        latest = _latest_per_repo(org, name)
        found = await session.execute(
            select(Submission.repo, Submission.job_id, Submission.outcome, Submission.graded_at)
            .where(Submission.id.in_(latest), Submission.status == "errored")
            .order_by(Submission.repo)
        )
        problems = []
        for repo, job_id, outcome, at in found:
            if (outcome or {}).get("error") in GRADER_PROBLEMS:
                problems.append(Problem(repo, job_id, outcome.get("reason") or "", at))
    return problems


async def queue(sessions, org: str, *, failed_limit: int = 50) -> dict[str, list[Job]]:
    """The org's jobs waiting and running (all, oldest first) and the latest that failed."""
    async with sessions() as session:
        unfinished = (
            await session.execute(
                select(Job)
                .where(Job.owner == org, Job.state.in_([str(s) for s in (*WAITING, "running")]))
                .order_by(Job.id)
            )
        ).scalars()
        failed = (
            await session.execute(
                select(Job)
                .where(Job.owner == org, Job.state == str(JobState.FAILED))
                .order_by(Job.id.desc())
                .limit(failed_limit)
            )
        ).scalars()
        jobs = list(unfinished)
        return {
            "waiting": [j for j in jobs if j.state in WAITING],
            "running": [j for j in jobs if j.state == JobState.RUNNING],
            "failed": list(failed),
        }


async def job(sessions, job_id: int) -> tuple[Job, Submission | None] | None:
    async with sessions() as session:
        found = await session.get(Job, job_id)
        if found is None:
            return None
        graded = await session.scalar(select(Submission).where(Submission.job_id == job_id))
        return found, graded


@dataclass(frozen=True)
class Pushed:
    """One of a repo's jobs, its graded score and the image id it ran with (None until graded),
    and the image id of the first grading of its commit (None when none recorded one)."""

    job: Job
    score: float | None
    max_score: float | None
    image_id: str | None
    first_image_id: str | None

    @property
    def image_changed(self) -> bool:
        """Graded with another image than its commit was first graded with (a regrade after
        the grader changed, or a tag that moved)."""
        return bool(self.image_id and self.first_image_id and self.image_id != self.first_image_id)


async def repo_history(sessions, owner: str, repo: str, *, limit: int = 30) -> list[Pushed]:
    """The repo's newest jobs, newest first, each with its graded score and image id."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(Job, Submission.score, Submission.max_score, Submission.image_id)
                .outerjoin(Submission, Submission.job_id == Job.id)
                .where(Job.owner == owner, Job.repo == repo)
                .order_by(Job.id.desc())
                .limit(limit)
            )
        ).all()
    firsts = await first_image_ids(sessions, owner, repo, {job.head_sha for job, *_ in found})
    return [
        Pushed(job, score, max_score, image_id, firsts.get(job.head_sha))
        for job, score, max_score, image_id in found
    ]


async def first_image_ids(sessions, owner: str, repo: str, shas) -> dict[str, str]:
    """For each of these commits of a repo, the image id of its first grading that recorded
    one: what a regrade's image is compared with. One query, whatever the number of commits."""
    shas = sorted(set(shas))
    if not shas:
        return {}
    first = (
        select(func.min(Submission.id))
        .where(
            Submission.owner == owner,
            Submission.repo == repo,
            Submission.head_sha.in_(shas),
            Submission.image_id.is_not(None),
        )
        .group_by(Submission.head_sha)
    )
    async with sessions() as session:
        found = await session.execute(
            select(Submission.head_sha, Submission.image_id).where(Submission.id.in_(first))
        )
        return dict(found.all())


@dataclass(frozen=True)
class RepoLatest:
    """A repo's newest job config and graded run of an assignment, for its student's page."""

    config: dict | None
    outcome: dict | None
    job_id: int | None
    received_at: datetime | None
    head_sha: str | None


async def repo_latest(sessions, org: str, repo: str, assignment: str) -> RepoLatest:
    async with sessions() as session:
        config = await session.scalar(
            select(Job.config)
            .where(
                func.lower(Job.owner) == org.lower(),
                func.lower(Job.repo) == repo.lower(),
                Job.assignment == assignment,
                Job.config.is_not(None),
            )
            .order_by(Job.id.desc())
            .limit(1)
        )
        latest = (
            await session.execute(
                select(Submission.outcome, Job.id, Job.received_at, Job.head_sha)
                .join(Job, Job.id == Submission.job_id)
                .where(
                    func.lower(Job.owner) == org.lower(),
                    func.lower(Job.repo) == repo.lower(),
                    Job.assignment == assignment,
                )
                .order_by(Submission.id.desc())
                .limit(1)
            )
        ).first()
    if latest is None:
        return RepoLatest(config, None, None, None, None)
    return RepoLatest(config, *latest)
