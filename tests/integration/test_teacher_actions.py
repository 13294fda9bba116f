"""A teacher's requests from the dashboard: cancel a job (waiting or running), grade a commit
again. The web pages call these queue functions; the worker carries them out."""

from __future__ import annotations

import asyncio

import pytest

from ghapp.store import requests
from ghapp.store.models import JobState
from tests.conftest import BUSYBOX
from tests.integration.e2e import EXAMPLE, ORG, jobs, new_repo, settled_jobs

pytestmark = pytest.mark.docker


async def test_cancelling_a_running_job_stops_its_container_and_says_so(
    sim, app, sandbox, build_image
):
    slow = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "sleep 30; echo graded"]\n')
    new_repo(sim, "hw1-max", slow)
    sha = await sim.push(ORG, "hw1-max", {"a.txt": "1"})
    run = await sim.wait_for_check_run(ORG, "hw1-max", sha, status="in_progress", timeout=60)
    [job] = await _jobs_of(app, "hw1-max")
    assert await requests.request_cancel(app.sessions, job.id, by="prof")
    run = await sim.wait_for_check_run(ORG, "hw1-max", sha, status="completed", timeout=30)
    assert run["conclusion"] == "cancelled"
    assert run["output"]["title"] == "Cancelled by a teacher"
    [job] = await settled_jobs(app, "hw1-max")
    assert job.state == JobState.CANCELLED and job.note == "cancel requested by prof"
    assert sandbox.leftovers() == []
    assert not await requests.request_cancel(app.sessions, job.id, by="prof")  # already over


async def test_a_teacher_regrade_grades_the_commit_again_in_a_new_check_run(
    sim, app, example_grader
):
    new_repo(sim, "hw1-ned", example_grader, max_graded_per_day=1)
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-ned", {"calc.py": calc})
    await sim.wait_for_check_run(ORG, "hw1-ned", sha, status="completed", timeout=120)
    [first] = await settled_jobs(app, "hw1-ned")
    # From the dashboard, so a teacher's: not counted against the daily limit of one.
    new_id = await requests.request_regrade(app.sessions, first.id, by="prof")
    assert new_id is not None and new_id != first.id
    for _ in range(240):
        runs = sim.check_runs(ORG, "hw1-ned", sha)
        if len(runs) == 2 and runs[-1]["status"] == "completed":
            break
        await asyncio.sleep(0.25)
    assert [r["conclusion"] for r in runs] == ["success", "success"]
    jobs = await settled_jobs(app, "hw1-ned")
    assert [(j.trigger, j.counted, j.assignment) for j in jobs] == [
        ("push", True, "default"),
        ("dashboard", False, "default"),
    ]
    assert await requests.request_regrade(app.sessions, 10**9, by="prof") is None


async def _jobs_of(app, repo: str):
    for _ in range(100):
        found = [j for j in await jobs(app) if j.repo == repo]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no job for {repo}")
