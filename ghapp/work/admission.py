"""Admission at work: the facts the verdicts of `ghapp.core.admission` need — when a push was
made, how many the repo had graded today (counted and claimed in one transaction), and who is a
teacher (org owners, members of the org file's `teachers:` teams), whose re-runs are not
counted."""

from __future__ import annotations

import asyncio
import contextlib

from ghapp.core.admission import Refusal, closed, counts_toward_limit, off_branch, over_daily_limit
from ghapp.core.config import AssignmentConfig, ConfigError
from ghapp.core.deadline import day_window, judge
from ghapp.github import InstallationClient
from ghapp.store import history
from ghapp.store.db import Sessions
from ghapp.store.models import Job
from ghapp.work.config_reader import ConfigReader

ROLE_TTL_S = 300.0  # how long an org role (teacher or not) is trusted


class Admission:
    def __init__(self, sessions: Sessions, configs: ConfigReader, *, worker: str) -> None:
        self.sessions = sessions
        self.configs = configs
        self.name = worker  # the worker holding the jobs (the daily count marks them as it)
        self._roles: dict[tuple[int, str, str], tuple[float, bool]] = {}

    async def refusal(
        self, job: Job, gh: InstallationClient, config: AssignmentConfig
    ) -> Refusal | None:
        """Why the policy does not grade this push, or None when it is to be graded. Sets
        `job.timing`."""
        refused = off_branch(
            config, trigger=job.trigger, ref=job.ref, default_branch=job.default_branch
        )
        if refused is not None:
            return refused
        timing = judge(config, await history.pushed_at(self.sessions, job))
        job.timing = timing.standing.value
        refused = closed(timing)
        if refused is not None:
            return refused
        limit = config.max_graded_per_day
        if limit is not None and await self.counts(job, gh):
            window = day_window(config, job.received_at)
            graded_today = await history.admit(
                self.sessions,
                job.id,
                worker=self.name,
                owner=job.owner,
                repo=job.repo,
                window=window,
                limit=limit,
            )
            if graded_today is not None:
                return over_daily_limit(limit, graded_today, window[1])
        return None

    async def counts(self, job: Job, gh: InstallationClient) -> bool:
        """Whether the job counts against the daily limit: a teacher's re-run does not."""
        counts = counts_toward_limit(job.trigger, job.sender)
        if counts is not None:
            return counts
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
