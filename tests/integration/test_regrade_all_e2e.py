"""`pushgrade regrade ASSIGNMENT --org ORG`: the latest graded push of every repo of one
assignment graded again, once per repo, at the lowest write priority, uncounted, on time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ghapp.core.budget import Priority
from ghapp.store import outbox
from ghapp.store.models import Job, JobState, Submission
from pushgrade.cli import main
from tests.integration.e2e import EXAMPLE, ORG, jobs, settings_for, settled_jobs

pytestmark = pytest.mark.docker

PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()
FAILING = (EXAMPLE / "submission-fail" / "calc.py").read_text()
REPOS = ("hw1-ann", "hw1-bob", "hw1-cy")


def org_file(image: str, due: str) -> str:
    return (
        "assignments:\n"
        "  hw1:\n"
        "    repos: 'hw1-*'\n"
        f"    image: {image}\n"
        f"    due: {due}\n"
        "    max_graded_per_day: 2\n"
        "  hw2:\n"
        "    repos: 'hw2-*'\n"
        f"    image: {image}\n"
    )


async def test_regrade_all_regrades_each_repo_once_in_the_background_and_on_time(
    sim, app, example_grader, tmp_path, monkeypatch, capsys
):
    due = (datetime.now(UTC) + timedelta(seconds=12)).replace(microsecond=0)
    sim.create_repo(
        ORG, ".github", files={".github/pushgrade.yml": org_file(example_grader, due.isoformat())}
    )
    for name in (*REPOS, "hw2-ann"):
        sim.create_repo(ORG, name, files={"README.md": "homework\n"})
    latest = {}
    for name in REPOS:  # two graded pushes each: the daily limit (2) is used up
        await sim.push(ORG, name, {"calc.py": FAILING})
        latest[name] = await sim.push(ORG, name, {"calc.py": PASSING})
    await sim.push(ORG, "hw2-ann", {"calc.py": PASSING})
    for name in (*REPOS, "hw2-ann"):
        await settled_jobs(app, name, timeout=120)
    before = {job.id for job in await jobs(app)}
    shown = {name: sim.check_runs(ORG, name, sha)[-1]["id"] for name, sha in latest.items()}
    while datetime.now(UTC) <= due:  # the regrade comes after the deadline
        await asyncio.sleep(0.5)

    finals: list[tuple[int, Priority]] = []
    stage, enqueue = outbox.stage, outbox.enqueue

    async def record_stage(session, job, **write):
        if write["kind"] == "final":
            finals.append((job.id, write["priority"]))
        return await stage(session, job, **write)

    async def record_enqueue(sessions, job, **write):
        if write["kind"] == "final":
            finals.append((job.id, write["priority"]))
        return await enqueue(sessions, job, **write)

    monkeypatch.setattr(outbox, "stage", record_stage)
    monkeypatch.setattr(outbox, "enqueue", record_enqueue)
    monkeypatch.setenv("PUSHGRADE_DATABASE_URL", settings_for(sim, tmp_path).database_url)
    # A name mistyped is told, with the names there are, and queues nothing.
    assert await asyncio.to_thread(main, ["regrade", "hw7", "--org", ORG]) == 2
    said = capsys.readouterr()
    assert said.err == f"pushgrade: {ORG} has no assignment 'hw7' (its assignments: hw1, hw2)\n"
    assert not said.out
    assert await asyncio.to_thread(main, ["regrade", "hw1", "--org", ORG]) == 0
    assert "3 repositories queued for regrading" in capsys.readouterr().out

    for name in REPOS:
        await settled_jobs(app, name, timeout=120)
    regrades = [job for job in await jobs(app) if job.id not in before]
    assert sorted(job.repo for job in regrades) == sorted(REPOS)  # once per repo, not hw2
    for job in regrades:
        assert job.trigger == "dashboard" and job.state == JobState.DONE
        assert job.head_sha == latest[job.repo]  # the latest graded push
        assert job.timing == "on_time"  # as the push it regrades, though past the deadline
        assert job.counted is False
    assert sorted(finals) == sorted((job.id, Priority.BACKGROUND) for job in regrades)
    async with app.sessions() as session:
        graded = (
            await session.execute(
                select(Submission).where(Submission.job_id.in_([j.id for j in regrades]))
            )
        ).scalars()
        graded = list(graded)
    assert len(graded) == 3
    assert all(s.late is False and s.conclusion == "success" for s in graded)
    for name in REPOS:  # a new check run on each commit shows the regrade's result
        run = await sim.wait_for_check_run(ORG, name, latest[name], after=shown[name])
        assert run["conclusion"] == "success"
        assert run["external_id"] == str(next(j.id for j in regrades if j.repo == name))


async def test_regrade_all_with_nothing_graded_queues_nothing(
    sim, app, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PUSHGRADE_DATABASE_URL", settings_for(sim, tmp_path).database_url)
    assert await asyncio.to_thread(main, ["regrade", "hw9", "--org", ORG]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"pushgrade: no account {ORG} in this database (the accounts in it:")
    async with app.sessions() as session:
        assert (await session.execute(select(Job))).first() is None
