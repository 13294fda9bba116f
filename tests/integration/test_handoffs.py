"""Hand-offs are announced once what they hand over is committed: with every poll an hour
long, results still reach GitHub. A write staged inside a transaction (a result with the job's
end; a bulk regrade's only write) used to wake the publisher before the commit, so it found
nothing and slept until its next poll."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import aiohttp
import pytest
from sqlalchemy import text

from ghapp import metrics
from ghapp.core import phases
from ghapp.store import requests
from ghapp.store.db import after_commit, write_session
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.e2e import (
    EXAMPLE,
    ORG,
    jobs,
    new_repo,
    org_file,
    settings_for,
    settled_jobs,
)

pytestmark = pytest.mark.docker

AN_HOUR = 3600.0
PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()


async def completed_run(sim, repo: str, sha: str, external_id: str, timeout: float = 60) -> dict:
    for _ in range(int(timeout / 0.2)):
        for run in sim.check_runs(ORG, repo, sha):
            if run["external_id"] == external_id and run["status"] == "completed":
                return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"no completed check run for job {external_id} within {timeout} s")


async def test_results_reach_github_with_every_poll_an_hour_long(
    sim, tmp_path, sandbox, example_grader
):
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file(example_grader)})
    sim.create_repo(ORG, "hw1-ann", files={"README.md": "homework\n"})
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=AN_HOUR) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        sha = await sim.push(ORG, "hw1-ann", {"calc.py": PASSING})
        [pushed] = await settled_jobs(app, "hw1-ann", timeout=60)
        first = await completed_run(sim, "hw1-ann", sha, str(pushed.id))
        assert first["conclusion"] == "success"

        # A bulk regrade sends nothing but its result, staged with the job's end.
        [regrade] = await requests.request_regrade_all(
            app.sessions, owner=ORG, assignment="hw1", by="teacher"
        )
        app.worker.wake()  # as the dashboard's "regrade all" tells the worker in its process
        run = await completed_run(sim, "hw1-ann", sha, str(regrade))
        assert run["conclusion"] == "success"
        assert [job.id for job in await jobs(app)] == [pushed.id, regrade]


async def test_after_commit_announces_what_was_committed_and_nothing_rolled_back(db_sessions):
    told: list[str] = []
    async with write_session(db_sessions) as session:
        after_commit(session, lambda: told.append("stored"))
        await session.execute(text("SELECT 1"))
        assert told == []  # not while the transaction is open
    assert told == ["stored"]
    with pytest.raises(RuntimeError):
        async with write_session(db_sessions) as session:
            after_commit(session, lambda: told.append("rolled back"))
            raise RuntimeError("the transaction fails")
    async with write_session(db_sessions):
        pass  # a later transaction of the same sessionmaker announces nothing left over
    assert told == ["stored"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_worker_of_its_own_hears_of_a_push_without_polling(
    db_url, sim, sandbox, example_grader
):
    """The split deployment: the web process stores the push's job and announces it; the
    worker, another process with its own connections (here: its own engine), polls once an
    hour and still grades it at once."""
    settings = dataclasses.replace(simulator_settings(sim, db_url), worker_port=0)
    new_repo(sim, "hw1-bea", example_grader)
    async with (
        running(settings, serve_web=False, sandbox=sandbox, poll_s=AN_HOUR) as worker,
        running(settings, run_worker=False) as web,
    ):
        sim.webhook_url = f"{web.url}/webhooks/github"
        await asyncio.sleep(0.5)  # the worker's first look at the queue is behind it
        sha = await sim.push(ORG, "hw1-bea", {"calc.py": PASSING})
        run = await sim.wait_for_check_run(ORG, "hw1-bea", sha, status="completed", timeout=60)
        assert run["conclusion"] == "success"
        [job] = await jobs(worker)
        assert job.lease_owner is None and job.state == "done"


async def test_a_graded_push_keeps_its_timeline_from_push_to_github(
    sim, tmp_path, sandbox, example_grader
):
    """Every phase of a graded push is stored with its job, in order, up to GitHub accepting
    the result; each step is observed once in the per-phase histogram."""
    new_repo(sim, "hw1-cy", example_grader)
    labels = (*phases.PHASES[1:], phases.TOTAL)
    before = {phase: observed(phase) for phase in labels}
    async with running(settings_for(sim, tmp_path), sandbox=sandbox) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        sha = await sim.push(ORG, "hw1-cy", {"calc.py": PASSING})
        run = await sim.wait_for_check_run(ORG, "hw1-cy", sha, status="completed", timeout=60)
        seen_completed = time.time()
        for _ in range(100):  # the publisher stores the moment just after GitHub's answer
            [job] = await jobs(app)
            if job.phases and "accepted" in job.phases:
                break
            await asyncio.sleep(0.05)
        timeline = job.phases
        assert list(timeline) == list(phases.PHASES), timeline
        moments = [timeline[phase] for phase in phases.PHASES]
        assert moments == sorted(moments), timeline
        assert timeline["received"] == job.received_at.timestamp()
        assert timeline["accepted"] <= seen_completed + 0.5
        assert run["conclusion"] == "success"
        async with aiohttp.ClientSession() as http, http.get(f"{app.url}/metrics") as response:
            exposed = await response.text()
        for phase in labels:
            assert f'pushgrade_job_phase_seconds_count{{phase="{phase}"}}' in exposed, phase
        assert {phase: observed(phase) - before[phase] for phase in labels} == dict.fromkeys(
            labels, 1.0
        )


def observed(phase: str) -> float:
    """How many steps ending at `phase` this process's histogram has seen."""
    found = metrics.REGISTRY.get_sample_value("pushgrade_job_phase_seconds_count", {"phase": phase})
    return found or 0.0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_cancel_from_the_web_process_stops_a_running_job_without_waiting_for_a_poll(
    db_url, sim, sandbox, build_image
):
    """A teacher cancels in the web process; the worker running the job (another process
    here: its own engine, every poll an hour, its lease renewed every 20 minutes) hears of it
    at once and kills the container instead of letting it sleep its 50 s."""
    settings = dataclasses.replace(simulator_settings(sim, db_url), worker_port=0)
    slow = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "sleep 50; echo graded"]\n')
    new_repo(sim, "hw1-dee", slow)
    async with (
        running(
            settings, serve_web=False, sandbox=sandbox, poll_s=AN_HOUR, lease_s=AN_HOUR
        ) as worker,
        running(settings, run_worker=False) as web,
    ):
        sim.webhook_url = f"{web.url}/webhooks/github"
        await asyncio.sleep(0.5)  # the worker's first look at the queue is behind it
        sha = await sim.push(ORG, "hw1-dee", {"a.txt": "1"})
        for _ in range(300):
            running_jobs = [job for job in await jobs(web) if job.state == "running"]
            if running_jobs:
                break
            await asyncio.sleep(0.1)
        [job] = running_jobs
        assert await requests.request_cancel(web.sessions, job.id, by="prof")
        run = await sim.wait_for_check_run(ORG, "hw1-dee", sha, status="completed", timeout=30)
        assert run["conclusion"] == "cancelled"
        [job] = await jobs(worker)
        assert job.state == "cancelled"
