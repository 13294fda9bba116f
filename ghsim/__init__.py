"""A GitHub double for tests and `pushgrade demo`: one GitHub App's REST API served on loopback
with GitHub's real shapes (app JWTs, installation tokens, contents, archives, check runs, webhook
deliveries), plus Python calls that play GitHub's side (install the App, push, press buttons)
and deliver signed webhooks. It imports nothing from pushgrade's own packages."""

from ghsim.api import Fault
from ghsim.server import GitHubSimulator
from ghsim.state import Account, Installation, RecordedRequest, Repo
from ghsim.webhooks import Delivery

__all__ = [
    "Account",
    "Delivery",
    "Fault",
    "GitHubSimulator",
    "Installation",
    "RecordedRequest",
    "Repo",
]
