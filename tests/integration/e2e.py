"""Helpers and fixtures for end-to-end tests: a GitHub simulator with the App installed on
`cs101`, pushgrade serving it over loopback (web and worker in one process, SQLite)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ghapp.settings import Settings
from ghapp.store.models import Job, JobState, utcnow
from ghsim import GitHubSimulator
from pushgrade.demo import simulator_settings
from pushgrade.serve import running

EXAMPLE = Path(__file__).parents[2] / "examples" / "python-pytest"
ORG = "cs101"


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        yield simulator


def settings_for(sim: GitHubSimulator, tmp_path: Path) -> Settings:
    return simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'pushgrade.sqlite3'}")


@pytest.fixture
async def app(sim, tmp_path, sandbox):
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5) as started:
        sim.webhook_url = f"{started.url}/webhooks/github"
        yield started


def config(image: str, **extra) -> str:
    lines = [f"image: {image}", "timeout: 60"] + [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def new_repo(sim, name: str, image: str, *, files: dict[str, str] | None = None, **extra) -> None:
    sim.create_repo(
        ORG,
        name,
        files={
            ".github/pushgrade.yml": config(image, **extra),
            "README.md": "homework\n",
            **(files or {}),
        },
    )


def installation(sim) -> int:
    return sim.world.installation_for(ORG).id


def head(sim, name: str) -> str:
    repo = sim.world.repo(ORG, name)
    return repo.branches[repo.default_branch]


async def orphaned_job(app, sim, repo: str, image: str, *, attempts: int) -> None:
    """A job left running by a worker that vanished: its lease lapsed five seconds ago."""
    async with app.sessions() as session, session.begin():
        session.add(
            Job(
                state=JobState.RUNNING,
                trigger="push",
                installation_id=installation(sim),
                owner=ORG,
                repo=repo,
                head_sha=head(sim, repo),
                attempts=attempts,
                lease_owner="dead-host:1",
                lease_expires_at=utcnow() - timedelta(seconds=5),
                config={"image": image, "timeout": 60},
                note="",
            )
        )


async def jobs(app) -> list[Job]:
    async with app.sessions() as session:
        return list((await session.execute(select(Job).order_by(Job.id))).scalars())


SETTLED = (JobState.DONE, JobState.SKIPPED, JobState.FAILED, JobState.CANCELLED)


async def settled_jobs(app, repo: str, timeout: float = 30) -> list[Job]:
    """The repo's jobs once none is still in flight (the job row is finished just after the
    check run is)."""
    for _ in range(int(timeout / 0.25)):
        found = [job for job in await jobs(app) if job.repo == repo]
        if found and all(job.state in SETTLED for job in found):
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"jobs of {repo} did not settle: {[j.state for j in found]}")


def org_file(image: str) -> str:
    return (
        "assignments:\n"
        "  hw1:\n"
        '    repos: "hw1-*"\n'
        f"    image: {image}\n"
        "    visibility: tests\n"
        "    check_name: hw1 autograder\n"
    )


@pytest.fixture
def remove_grader_images(docker_client):
    """The images the test's builds made (labelled with the grader commit), removed after it."""
    commits: list[str] = []
    yield commits
    for sha in commits:
        for image in docker_client.images.list(filters={"label": f"pushgrade.grader.commit={sha}"}):
            for tag in image.tags:
                docker_client.images.remove(tag, force=True)
