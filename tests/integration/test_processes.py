"""pushgrade as separate processes: `pushgrade web` and `pushgrade worker` sharing one SQLite
database, and a worker killed with SIGKILL mid-run whose job a new worker finishes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from ghapp.db import make_engine, sessionmaker
from ghapp.models import Job, JobState
from ghsim import GitHubSimulator
from tests.conftest import BUSYBOX

pytestmark = pytest.mark.docker

ORG = "cs102"
CLI = str(Path(sys.executable).with_name("pushgrade"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(sim: GitHubSimulator, tmp_path: Path, port: int) -> dict[str, str]:
    key = tmp_path / "app.pem"
    key.write_bytes(sim.private_key_pem)
    return dict(
        os.environ,
        PUSHGRADE_APP_ID=str(sim.app_id),
        PUSHGRADE_PRIVATE_KEY_FILE=str(key),
        PUSHGRADE_WEBHOOK_SECRET=sim.webhook_secret,
        PUSHGRADE_GITHUB_API_URL=sim.url,
        PUSHGRADE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}",
        PUSHGRADE_PORT=str(port),
        PUSHGRADE_WORKERS="1",
        PUSHGRADE_LEASE_SECONDS="5",
    )


async def start(command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        CLI, command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert b"running" in line, line
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        yield simulator


async def test_web_and_worker_processes_share_the_queue(sim, tmp_path, sandbox, build_image):
    image = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - works"]\n')
    port = free_port()
    env = environment(sim, tmp_path, port)
    web = await start("web", env)
    worker = await start("worker", env)
    try:
        sim.webhook_url = f"http://127.0.0.1:{port}/webhooks/github"
        sim.create_repo(ORG, "hw2-olga", files={".github/pushgrade.yml": f"image: {image}\n"})
        sha = await sim.push(ORG, "hw2-olga", {"main.sh": "echo hi\n"})
        run = await sim.wait_for_check_run(ORG, "hw2-olga", sha, status="completed", timeout=90)
        assert run["conclusion"] == "success"
    finally:
        await stop(worker)
        await stop(web)
    assert (web.returncode, worker.returncode) == (0, 0)


async def test_a_worker_killed_mid_run_is_taken_over_by_a_new_one(
    sim, tmp_path, sandbox, docker_client, build_image
):
    image = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "sleep 4; echo 1..1; echo ok 1"]\n')
    port = free_port()
    env = environment(sim, tmp_path, port)
    web = await start("web", env)
    doomed = await start("worker", env)
    try:
        sim.webhook_url = f"http://127.0.0.1:{port}/webhooks/github"
        sim.create_repo(ORG, "hw2-pavel", files={".github/pushgrade.yml": f"image: {image}\n"})
        sha = await sim.push(ORG, "hw2-pavel", {"main.sh": "echo hi\n"})
        await sim.wait_for_check_run(ORG, "hw2-pavel", sha, status="in_progress", timeout=60)
        doomed.kill()  # SIGKILL: no cleanup, the lease is simply never renewed again
        await doomed.wait()
        # The dead worker's container is an orphan now (sweeping them is issue 5's); remove it
        # so the only grading left is the new worker's.
        for container in docker_client.containers.list(
            all=True, filters={"label": "pushgrade.managed"}
        ):
            container.remove(force=True, v=True)
        for volume in docker_client.volumes.list(filters={"label": "pushgrade.managed"}):
            volume.remove(force=True)
        successor = await start("worker", env)
        try:
            run = await sim.wait_for_check_run(
                ORG, "hw2-pavel", sha, status="completed", timeout=150
            )
        finally:
            await stop(successor)
        assert run["conclusion"] == "success"
        assert len(sim.check_runs(ORG, "hw2-pavel", sha)) == 1
    finally:
        await stop(web)
    engine = make_engine(env["PUSHGRADE_DATABASE_URL"])
    async with sessionmaker(engine)() as session:
        [job] = list((await session.execute(select(Job))).scalars())
    await engine.dispose()
    assert job.state == JobState.DONE and job.attempts == 3
