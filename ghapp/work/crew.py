"""What the parts of one worker share: the database, GitHub, the sandbox, and the services
built on them, put together by `pushgrade.serve.build_worker`. Intake, grading, reveals,
warming and housekeeping each take a `Crew`, never the `Worker`, so none of them depends on the
loop that claims their jobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghapp.github import GitHubApp
from ghapp.store.budget import WriteBudget
from ghapp.work.config_reader import ConfigReader
from ghapp.work.graders import Graders
from ghapp.work.publisher import Publisher
from ghapp.work.tenancy import Tenants
from ghapp.work.waiting import Broadcast, Doorbell
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
    # Rung when new work is stored: an idle claim loop looks now instead of at its next poll.
    intake_bell: Doorbell = field(default_factory=Doorbell)  # deliveries to read
    grading_bell: Doorbell = field(default_factory=Doorbell)  # jobs queued for grading
    news: Broadcast = field(default_factory=Broadcast)  # running jobs look for a cancel

    def wake(self) -> None:
        """Work of any kind was stored (a delivery, a regrade, a cancel; work another process
        stored)."""
        self.intake_bell.ring()
        self.grading_bell.ring()
        self.news.ring()

    def queued(self) -> None:
        """A job was queued for grading."""
        self.grading_bell.ring()
