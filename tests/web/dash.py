"""Helpers for the dashboard's tests: a simulator with two orgs and their people, pushgrade's
web side serving it, a seeded database, and HTTP clients that sign in as GitHub users do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from yarl import URL

from ghapp.store.models import Job, JobState, RosterStudent, Submission
from ghsim import GitHubSimulator
from pushgrade import serve
from pushgrade.demo import simulator_settings
from pushgrade.serve import running

ORG, OTHER = "cs101", "cs202"
TEACHER, TA, STUDENT, OTHER_TEACHER = "prof", "ta-tom", "alice", "prof-other"
# What no one but a teacher of cs101 may ever read.
SECRETS = ("HIDDEN-ANSWER-42", "hw1-alice", "hw1-bob", "hw1-carol", "S-0042-ALICE", "Alice Liddell")
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SESSION_SECRET = "a-test-session-secret-of-enough-length-0123456789"


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        simulator.install(OTHER)
        simulator.add_member(ORG, TEACHER, role="admin")
        simulator.add_member(ORG, TA)
        simulator.add_member(ORG, STUDENT)
        simulator.add_team_member(ORG, "cs101-staff", TA)
        simulator.add_member(OTHER, OTHER_TEACHER, role="admin")
        simulator.create_repo(
            ORG,
            ".github",
            files={
                ".github/pushgrade.yml": "teachers: cs101-staff\nassignments:\n"
                '  hw1: {repos: "hw1-*", image: "grader:1"}\n'
            },
        )
        yield simulator


@pytest.fixture
async def web(sim, tmp_path):
    """pushgrade's web side only (no worker): pages over a database the test fills."""
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'dash.sqlite3'}")
    settings = dataclasses.replace(settings, workers=0, session_secret=SESSION_SECRET)
    async with running(settings) as started:
        yield started


@pytest.fixture
async def web_db(sim, db_url, monkeypatch):
    """`web` on SQLite and on PostgreSQL (tests.conftest's `db_url`), counting how often the
    dashboard wakes the worker (`woken`): there is none here, only the hook."""
    original = serve._dashboard

    def counting(*args, **kwargs):
        dashboard = original(*args, **kwargs)
        if dashboard is not None:

            def woken() -> None:
                started.woken += 1

            dashboard.on_new_work = woken
        return dashboard

    monkeypatch.setattr(serve, "_dashboard", counting)
    settings = dataclasses.replace(
        simulator_settings(sim, db_url), workers=0, session_secret=SESSION_SECRET
    )
    async with running(settings) as started:
        started.woken = 0
        yield started


@pytest.fixture
async def teacher(sim, web_db):
    """A client signed in as the org's teacher, over `web_db` seeded with `seed` (`.ids`)."""
    client = await signed_in_teacher(web_db, sim)
    yield client
    await client.close()


async def signed_in_teacher(app, sim) -> Client:
    """A client signed in as the org's teacher, over `app` seeded with `seed` (`.ids`)."""
    client = Client(app.url, sim)
    client.ids = await seed(app, sim)
    assert (await client.sign_in(TEACHER)).status == 303
    return client


def outcome(score: float, *, hidden_output: str = "HIDDEN-ANSWER-42", error=None) -> dict:
    tests = [
        {"name": "visible: it runs", "status": "passed", "score": 1, "max_score": 1},
        {
            "name": "hidden: the answer",
            "status": "passed" if score >= 5 else "failed",
            "score": score - 1,
            "max_score": 4,
            "output": hidden_output,
            "visibility": "hidden",
        },
    ]
    status = "errored" if error else ("passed" if score >= 5 else "failed")
    return {
        "status": status,
        "score": None if error else score,
        "max_score": None if error else 5,
        "tests": [] if error else tests,
        "duration_s": 1.5,
        "log": "<script>alert('log')</script>\ncollected 2 items",
        "error": error,
        "reason": "the image grader:1 was not found" if error else None,
    }


async def seed(app, sim) -> dict[str, int]:
    """cs101/hw1: alice graded twice (3, then a late 5), bob once (an image error), carol
    waiting; dave's push met an invalid config. cs202/lab1: zed graded once. Job ids by name."""
    cs101 = sim.world.installation_for(ORG).id
    cs202 = sim.world.installation_for(OTHER).id
    config = {
        "image": "grader:1",
        "visibility": "tests",
        "due": "2026-11-21T00:00:00+00:00",
        "repos": ["hw1-*"],
    }
    made: dict[str, int] = {}
    async with app.sessions() as session, session.begin():

        def job(name, inst, owner, repo, sha, minutes, state=JobState.DONE, **extra):
            extra.setdefault("assignment", "hw1" if owner == ORG else "lab1")
            extra.setdefault("config", config)
            extra.setdefault("note", "")
            row = Job(
                state=state,
                trigger="push",
                installation_id=inst,
                owner=owner,
                repo=repo,
                head_sha=sha * 40,
                ref="refs/heads/main",
                sender=repo.split("-")[-1],
                received_at=T0 + timedelta(minutes=minutes),
                attempts=1,
                **extra,
            )
            session.add(row)
            made[name] = row
            return row

        def graded(job_row, score, *, late=False, error=None, minutes=0):
            session.add(
                Submission(
                    job_id=job_row.id,
                    owner=job_row.owner,
                    repo=job_row.repo,
                    head_sha=job_row.head_sha,
                    status="errored" if error else ("passed" if score >= 5 else "failed"),
                    conclusion="success" if score >= 5 and not error else "failure",
                    score=None if error else score,
                    max_score=None if error else 5,
                    outcome=outcome(score, error=error),
                    graded_at=job_row.received_at + timedelta(minutes=1 + minutes),
                    late=late,
                )
            )

        job("alice1", cs101, ORG, "hw1-alice", "a", 0, check_run_id=77)
        job("alice2", cs101, ORG, "hw1-alice", "b", 900, timing="late")
        job("bob1", cs101, ORG, "hw1-bob", "c", 10)
        job("carol1", cs101, ORG, "hw1-carol", "d", 20, state=JobState.QUEUED)
        job(
            "dave1",
            cs101,
            ORG,
            "hw1-dave",
            "e",
            30,
            assignment=None,
            config=None,
            note="invalid config: .github/pushgrade.yml: line 2 timeout: not a number",
        )
        job("failed1", cs101, ORG, "hw1-erin", "f", 40, state=JobState.FAILED, note="gave up")
        job("zed1", cs202, OTHER, "lab1-zed", "9", 5)
        await session.flush()
        for name, score, late, error in (
            ("alice1", 3, False, None),
            ("alice2", 5, True, None),
            ("bob1", 0, False, "image_not_found"),
            ("zed1", 4, False, None),
        ):
            graded(made[name], score, late=late, error=error)
        session.add_all(
            [
                RosterStudent(
                    org="cs101",
                    identifier="S-0042-ALICE",
                    identifier_key="s-0042-alice",
                    name="Alice Liddell",
                    section="Lab 1",
                    login="alice",
                ),
                RosterStudent(
                    org="cs202", identifier="Z-1", identifier_key="z-1", name="Zed Zebra"
                ),
            ]
        )
    return {name: row.id for name, row in made.items()}


class Client:
    """A browser stand-in: a cookie jar, redirects not followed, and GitHub's sign-in."""

    def __init__(self, base: str, sim: GitHubSimulator) -> None:
        self.base, self.sim = base, sim
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs) -> aiohttp.ClientResponse:
        response = await self.http.get(self.base + path, allow_redirects=False, **kwargs)
        await response.read()
        return response

    async def post(self, path: str, data=None, **kwargs) -> aiohttp.ClientResponse:
        response = await self.http.post(
            self.base + path, data=data or {}, allow_redirects=False, **kwargs
        )
        await response.read()
        return response

    async def start_login(self, next_path: str = "/") -> tuple[str, dict]:
        """GET /login; returns GitHub's authorize URL and its query."""
        response = await self.get(f"/login?next={next_path}")
        assert response.status == 302, response.status
        location = response.headers["Location"]
        return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def authorize(self, location: str, login: str) -> str:
        """The simulator's consent, as `login`: the callback URL it sends the browser to."""
        response = await self.http.get(f"{location}&login={login}", allow_redirects=False)
        assert response.status == 302, await response.text()
        return response.headers["Location"]

    async def sign_in(self, login: str, next_path: str = "/") -> aiohttp.ClientResponse:
        location, _ = await self.start_login(next_path)
        callback = await self.authorize(location, login)
        assert callback.startswith(self.base)
        return await self.get(callback[len(self.base) :])

    def set_cookie(self, name: str, value: str) -> None:
        """Replace the browser's cookie `name` (as someone holding or forging one would)."""
        self.http.cookie_jar.clear(lambda morsel: morsel.key == name)
        self.http.cookie_jar.update_cookies({name: value}, response_url=URL(self.base))

    def cookie(self, name: str) -> str | None:
        found = [c for c in self.http.cookie_jar if c.key == name]
        return found[0].value if found else None

    async def csrf(self) -> str:
        text = await (await self.get("/")).text()
        marker = 'name="csrf" value="'
        assert marker in text, text
        return text.split(marker, 1)[1].split('"', 1)[0]


def artifacts() -> Path:
    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
