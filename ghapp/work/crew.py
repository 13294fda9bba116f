"""What the parts of one worker share: the database, GitHub, the sandbox, and the services
built on them, put together by `pushgrade.serve.build_worker`. Intake, grading, reveals,
warming and housekeeping each take a `Crew`, never the `Worker`, so none of them depends on the
loop that claims their jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ghapp.github import GitHubApp
from ghapp.store.budget import WriteBudget
from ghapp.work.config_reader import ConfigReader
from ghapp.work.graders import Graders
from ghapp.work.publisher import Publisher
from ghapp.work.tenancy import Tenants
from runner.sandbox import Sandbox


@dataclass(eq=False)
class Crew:
    sessions: object  # an async_sessionmaker
    github: GitHubApp
    sandbox: Sandbox
    name: str  # the worker's, as leases and containers know it
    public_url: str  # where check runs link to (the job's page)
    lease_s: float
    poll_s: float
    configs: ConfigReader
    tenants: Tenants
    graders: Graders
    budget: WriteBudget
    publisher: Publisher
    # Set when new work is stored: the claim loops look now instead of at their next poll.
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.woken.set()
