"""Fixtures for the GitHub double's own tests: a started simulator with the App installed on
`cs101` (repo `hw1-alice`), gidgethub clients, and a webhook receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from gidgethub import apps, sansio
from gidgethub.aiohttp import GitHubAPI

from ghsim import GitHubSimulator
from ghsim.auth import generate_private_key

ORG = "cs101"
REPO = "hw1-alice"
STARTER = {"README.md": "# hw1\n", "calc.py": "def add(a, b):\n    return a + b\n"}


@pytest.fixture(scope="session")
def app_key() -> bytes:
    """One RSA key for the whole session: generating one per test is slow."""
    return generate_private_key()


@pytest.fixture
async def sim(app_key: bytes) -> AsyncIterator[GitHubSimulator]:
    async with GitHubSimulator(private_key_pem=app_key, seed=1) as simulator:
        simulator.install(ORG, repos=[REPO])
        simulator.create_repo(ORG, REPO, files=STARTER)
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def gh(sim: GitHubSimulator, session: aiohttp.ClientSession) -> GitHubAPI:
    return GitHubAPI(session, "ghsim-tests", base_url=sim.url)


def app_jwt(sim: GitHubSimulator) -> str:
    return apps.get_jwt(app_id=str(sim.app_id), private_key=sim.private_key_pem)


@pytest.fixture
async def token(sim: GitHubSimulator, gh: GitHubAPI) -> str:
    installation = sim.world.installation_for(ORG)
    assert installation is not None
    answer = await apps.get_installation_access_token(
        gh,
        installation_id=str(installation.id),
        app_id=str(sim.app_id),
        private_key=sim.private_key_pem,
    )
    return answer["token"]


@dataclass
class Receiver:
    """A loopback webhook endpoint that verifies each delivery with gidgethub."""

    secret: str
    url: str = ""
    events: list[sansio.Event] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 202

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.event == event]


@pytest.fixture
async def receiver(sim: GitHubSimulator) -> AsyncIterator[Receiver]:
    received = Receiver(secret=sim.webhook_secret)

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        event = sansio.Event.from_http(request.headers, body, secret=received.secret)
        received.events.append(event)
        received.headers.append(dict(request.headers))
        return web.Response(status=received.status, text="queued")

    app = web.Application()
    app.router.add_post("/webhooks/github", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    received.url = f"http://{host}:{port}/webhooks/github"
    sim.webhook_url = received.url
    yield received
    await runner.cleanup()
