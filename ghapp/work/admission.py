"""Admission: whether the policy grades a push — its branch, its deadline standing, the repo's
daily limit — and, when not, what the student and the teacher are told. Who is a teacher (org
owners, members of the org file's `teachers:` teams) decides whose re-runs are not counted."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch

from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.core import markdown as md
from ghapp.core.config import AssignmentConfig, ConfigError
from ghapp.core.deadline import Standing, day_window, judge, show
from ghapp.github import InstallationClient
from ghapp.store import queue
from ghapp.store.models import Job
from ghapp.work.config_reader import ConfigReader

ROLE_TTL_S = 300.0  # how long an org role (teacher or not) is trusted


class Admission:
    def __init__(self, sessions: async_sessionmaker, configs: ConfigReader, *, worker: str) -> None:
        self.sessions = sessions
        self.configs = configs
        self.name = worker  # the worker holding the jobs (the daily count marks them as it)
        self._roles: dict[tuple[int, str, str], tuple[float, bool]] = {}

    async def refusal(
        self, job: Job, gh: InstallationClient, config: AssignmentConfig
    ) -> tuple[str, str, str] | None:
        """Why the policy does not grade this push — (title, summary for the student, note for
        the teacher) — or None when it is to be graded. Sets `job.timing`."""
        branch = (job.ref or "").removeprefix("refs/heads/")
        graded = config.branches or ((job.default_branch,) if job.default_branch else None)
        if job.trigger == "push" and graded and not _any_match(branch, graded):
            names = ", ".join(f"`{md.inline(name, 100)}`" for name in graded)
            return (
                "Not graded: this branch is not graded",
                f"Pushes to `{md.inline(branch, 100)}` are not graded for this assignment. "
                f"Pushes to {names} are.",
                f"branch {branch} is not graded",
            )
        timing = judge(config, await queue.pushed_at(self.sessions, job))
        job.timing = timing.standing.value
        if timing.standing is Standing.CLOSED:
            return ("Not graded: after the deadline", timing.why, timing.why)
        limit = config.max_graded_per_day
        if limit is not None and await self.counts(job, gh):
            window = day_window(config, job.received_at)
            graded_today = await queue.admit(
                self.sessions,
                job.id,
                worker=self.name,
                owner=job.owner,
                repo=job.repo,
                window=window,
                limit=limit,
            )
            if graded_today is not None:
                return (
                    "Not graded: daily limit reached",
                    f"This assignment grades at most {limit} push{'es' if limit > 1 else ''} "
                    f"a day, and this repository has had {graded_today} graded today. "
                    f"Grading resumes at {show(window[1])}: push again after that. "
                    "Your teacher can still have this commit graded.",
                    f"the daily limit of {limit} was reached",
                )
        return None

    async def counts(self, job: Job, gh: InstallationClient) -> bool:
        """Whether the job counts against the daily limit: a teacher's re-run does not."""
        if job.trigger == "dashboard":  # only teachers reach the dashboard's buttons
            return False
        if job.trigger == "push" or not job.sender:
            return True
        return not await self.is_teacher(gh, job.owner, job.sender)

    async def is_teacher(self, gh: InstallationClient, owner: str, login: str) -> bool:
        if login.lower() == owner.lower():  # the account's own owner (a user installation)
            return True
        key = (gh.installation_id, owner.lower(), login.lower())
        cached = self._roles.get(key)
        if cached is not None and cached[0] > asyncio.get_running_loop().time():
            return cached[1]
        teacher = await gh.org_role(owner, login) == "admin"
        if not teacher:  # or a member of a team the org file names (`teachers:`)
            with contextlib.suppress(ConfigError):
                org = await self.configs.org_file(gh, owner)
                for team in (org.teachers or ()) if org else ():
                    if await gh.team_member(owner, team, login):
                        teacher = True
                        break
        self._roles[key] = (asyncio.get_running_loop().time() + ROLE_TTL_S, teacher)
        return teacher


def _any_match(name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs)
