"""Similarity reports end to end, on the GitHub simulator and a real database (SQLite and
PostgreSQL): graded repos of an assignment, the worker's loop downloads each latest commit (and
the template) through the App, compares them in a process of its own and stores the report; a
new commit refreshes it, downloading only that commit; the template's code counts for nobody;
another org's copy of a student's code never enters the report; one worker computes a report
however many look for one."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from sqlalchemy import select

from ghapp.github import GitHubApp
from ghapp.store import similarity as reports
from ghapp.store.models import Job, JobState, SimilaritySource, Submission, utcnow
from ghapp.work import similarity
from ghsim import GitHubSimulator

ORG, RIVAL = "school", "rival"
SAMPLES = Path(__file__).resolve().parents[1] / "unit" / "samples" / "similarity"
# Four pairs of samples: two planted copies (renamed; reordered), two independent solutions,
# and two students who barely started (the template and one function each).
STUDENTS = ("gus", "hal", "omar", "ola", "ada", "ben", "yuri", "zoe")
COPIES = {frozenset({"hw3-gus", "hw3-hal"}), frozenset({"hw3-omar", "hw3-ola"})}
CONFIG = {"image": "grader:1", "repos": ["hw3-*"], "template": "hw3-template"}


def sample(name: str) -> dict[str, str]:
    folder = SAMPLES / name
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        simulator.install(RIVAL)
        simulator.create_repo(ORG, "hw3-template", files=sample("template"), template=True)
        for student in STUDENTS:
            simulator.create_repo(ORG, f"hw3-{student}", files=sample(student))
        # Another org's assignment of the same name: mallory's is gus's code, word for word.
        simulator.create_repo(RIVAL, "hw3-template", files=sample("template"), template=True)
        simulator.create_repo(RIVAL, "hw3-mallory", files=sample("gus"))
        simulator.create_repo(RIVAL, "hw3-nina", files=sample("cleo"))
        yield simulator


@pytest.fixture
async def crews(sim, db_sessions):
    """Two workers' worth of what the similarity loop uses."""
    async with aiohttp.ClientSession() as http:
        app = GitHubApp(
            app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
        )
        yield [SimpleNamespace(sessions=db_sessions, github=app, name=f"w{i}") for i in (1, 2)]


async def graded(sim, sessions, owner: str, repo: str, *, sha: str | None = None) -> str:
    """A push of `repo`'s head (or `sha`) graded, as grading stores it."""
    sha = sha or sim.world.require_repo(owner, repo).resolve("main").sha
    async with sessions() as session, session.begin():
        job = Job(
            state=JobState.DONE,
            trigger="push",
            installation_id=sim.world.installation_for(owner).id,
            owner=owner,
            repo=repo,
            head_sha=sha,
            ref="refs/heads/main",
            sender=repo.split("-")[-1],
            attempts=1,
            assignment="hw3",
            config=CONFIG,
            note="",
        )
        session.add(job)
        await session.flush()
        session.add(
            Submission(
                job_id=job.id, owner=owner, repo=repo, head_sha=sha, status="passed",
                conclusion="success", score=5, max_score=5, outcome={"status": "passed"},
            )
        )  # fmt: skip
    return sha


async def all_graded(sim, sessions) -> None:
    for student in STUDENTS:
        await graded(sim, sessions, ORG, f"hw3-{student}")
    for repo in ("hw3-mallory", "hw3-nina"):
        await graded(sim, sessions, RIVAL, repo)


def downloads(sim, owner: str | None = None) -> list[str]:
    return [
        r.path.split("/")[3]
        for r in sim.requests
        if "/tarball/" in r.path and (owner is None or r.path.split("/")[2] == owner)
    ]


def pairs_of(report) -> set[frozenset]:
    return {frozenset({p.a, p.b}) for p in report}


async def stored_pairs(sessions, org: str) -> set[frozenset]:
    report = await reports.report_of(sessions, org, "hw3")
    return {frozenset({p.repo_a, p.repo_b}) for p in await reports.pairs_of(sessions, report.id)}


@pytest.fixture
def no_debounce(monkeypatch):
    monkeypatch.setattr(reports, "QUIET_S", 0.0)
    monkeypatch.setattr(reports, "REFRESH_EVERY_S", 0.0)


async def test_the_loop_computes_each_orgs_report_from_its_downloaded_commits(
    sim, crews, db_sessions, monkeypatch
):
    await all_graded(sim, db_sessions)
    await graded(sim, db_sessions, ORG, "hw3-ghost", sha="0" * 40)  # a commit GitHub lost
    # Noticed at once, but computed only once the pushes have quietened.
    assert await similarity.notice_changes(crews[0], similarity.Watermark()) == 2
    assert await similarity.refresh_due(crews[0]) is False
    assert downloads(sim) == []
    monkeypatch.setattr(reports, "QUIET_S", 0.0)
    stop = asyncio.Event()
    loop = asyncio.create_task(similarity.follow(crews[0], stop, every_s=0.1))
    try:
        for _ in range(600):
            seen = [await reports.report_of(db_sessions, org, "hw3") for org in (ORG, RIVAL)]
            if all(r is not None and r.computed_at is not None for r in seen):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await loop
    school, rival = seen
    # The planted copies, and nothing else: the independent solutions and the two who barely
    # started (whose code is nearly all the template's, which is left out) are not paired.
    assert await stored_pairs(db_sessions, ORG) == COPIES
    assert (school.submissions, school.compared) == (9, 8)
    assert school.skipped == [["hw3-ghost", "GitHub answered 404"]]
    template_head = sim.world.require_repo(ORG, "hw3-template").resolve("main").sha
    assert (school.template, school.template_sha) == ("hw3-template", template_head)
    assert school.stale_since is None and school.requested_at is None and not school.problem
    # Each org's own: mallory's copy of gus's code is in the other org, never paired with it.
    assert await stored_pairs(db_sessions, RIVAL) == set()
    assert rival.compared == 2
    # Every commit downloaded once, through its own org's installation.
    assert sorted(downloads(sim, ORG)) == sorted(
        ["hw3-template", "hw3-ghost", *(f"hw3-{s}" for s in STUDENTS)]
    )
    assert sorted(downloads(sim, RIVAL)) == ["hw3-mallory", "hw3-nina", "hw3-template"]
    by_installation = {
        r.path.split("/")[2]: r.installation_id for r in sim.requests if "/tarball/" in r.path
    }
    assert by_installation == {
        ORG: sim.world.installation_for(ORG).id,
        RIVAL: sim.world.installation_for(RIVAL).id,
    }


async def test_a_new_commit_refreshes_the_report_downloading_only_that_commit(
    sim, crews, db_sessions, no_debounce
):
    await all_graded(sim, db_sessions)
    seen = similarity.Watermark()
    await similarity.notice_changes(crews[0], seen)
    while await similarity.refresh_due(crews[0]):
        pass
    first = len(downloads(sim))
    before = await reports.report_of(db_sessions, ORG, "hw3")
    # ben now hands in ada's solution with its comments changed.
    ben = sim.world.require_repo(ORG, "hw3-ben")
    copied = sample("ada")["wordstats.py"].replace('"""The mean', '"""Average: the mean')
    commit = sim.world.commit(
        ben,
        parent=ben.resolve("main"),
        changes={"wordstats.py": copied.encode()},
        message="improved",
        author=sim.world.account("ben"),
        now=time.time(),
    )
    ben.branches["main"] = commit.sha
    old_sha = before.commits["hw3-ben"]
    await graded(sim, db_sessions, ORG, "hw3-ben", sha=commit.sha)
    assert await similarity.notice_changes(crews[1], seen) == 1
    assert (await reports.report_of(db_sessions, ORG, "hw3")).stale_since is not None
    assert await similarity.refresh_due(crews[1]) is True
    assert downloads(sim)[first:] == ["hw3-ben"]  # the others' code was kept
    after = await reports.report_of(db_sessions, ORG, "hw3")
    assert after.computed_at > before.computed_at and after.commits["hw3-ben"] == commit.sha
    assert await stored_pairs(db_sessions, ORG) == {*COPIES, frozenset({"hw3-ada", "hw3-ben"})}
    async with db_sessions() as session:
        kept = set(
            await session.scalars(
                select(SimilaritySource.commit_sha).where(SimilaritySource.repo == "hw3-ben")
            )
        )
    assert kept == {commit.sha} and old_sha not in kept  # a commit no longer compared: dropped
    # Nothing changed since: nothing is due, however often the loop looks.
    assert await similarity.notice_changes(crews[1], seen) == 0
    assert await similarity.refresh_due(crews[1]) is False


async def test_one_worker_computes_a_report_however_many_look(sim, crews, db_sessions, no_debounce):
    for student in STUDENTS[:4]:
        await graded(sim, db_sessions, ORG, f"hw3-{student}")
    await asyncio.gather(
        *(similarity.notice_changes(crew, similarity.Watermark()) for crew in crews)
    )
    done = await asyncio.gather(*(similarity.refresh_due(crew) for crew in crews * 2))
    assert sorted(done) == [False, False, False, True]
    assert sorted(downloads(sim)) == sorted(["hw3-template", *(f"hw3-{s}" for s in STUDENTS[:4])])
    assert await stored_pairs(db_sessions, ORG) == COPIES


async def test_pushes_waiting_to_be_graded_come_first(sim, crews, db_sessions, no_debounce):
    for student in STUDENTS[:2]:
        await graded(sim, db_sessions, ORG, f"hw3-{student}")
    async with db_sessions() as session, session.begin():
        session.add(
            Job(
                state=JobState.QUEUED, trigger="push", owner=ORG, repo="hw3-ada",
                installation_id=sim.world.installation_for(ORG).id, head_sha="e" * 40,
                received_at=utcnow() - timedelta(minutes=2), attempts=0, note="",
            )
        )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.create_task(similarity.follow(crews[0], stop, every_s=0.1))
    await asyncio.sleep(1.0)
    stop.set()
    await loop
    report = await reports.report_of(db_sessions, ORG, "hw3")
    assert report.stale_since is not None and report.computed_at is None
    assert downloads(sim) == []


async def test_a_teachers_request_is_computed_even_when_nothing_changed(
    sim, crews, db_sessions, no_debounce
):
    for student in STUDENTS[:2]:
        await graded(sim, db_sessions, ORG, f"hw3-{student}")
    await similarity.notice_changes(crews[0], similarity.Watermark())
    assert await similarity.refresh_due(crews[0]) is True
    first = await reports.report_of(db_sessions, ORG, "hw3")
    assert await similarity.refresh_due(crews[0]) is False
    await reports.request_refresh(db_sessions, ORG.upper(), "hw3", by="prof")
    asked = await reports.report_of(db_sessions, ORG, "hw3")
    assert asked.requested_by == "prof"
    # At most every ASKED_EVERY_S: a teacher pressing again and again costs one refresh.
    assert await similarity.refresh_due(crews[0]) is False
    async with db_sessions() as session, session.begin():
        report = await session.get(type(first), first.id)
        report.computed_at = utcnow() - timedelta(seconds=reports.ASKED_EVERY_S + 1)
    assert await similarity.refresh_due(crews[0]) is True
    again = await reports.report_of(db_sessions, ORG, "hw3")
    assert again.requested_at is None and again.computed_at > first.computed_at
    assert len(downloads(sim)) == 3  # nothing downloaded twice
    assert await stored_pairs(db_sessions, ORG) == {frozenset({"hw3-gus", "hw3-hal"})}


async def test_a_comparison_that_cannot_finish_keeps_the_last_report_and_says_so(
    sim, crews, db_sessions, no_debounce, monkeypatch, caplog
):
    for student in STUDENTS[:2]:
        await graded(sim, db_sessions, ORG, f"hw3-{student}")
    await similarity.notice_changes(crews[0], similarity.Watermark())
    assert await similarity.refresh_due(crews[0]) is True
    first = await reports.report_of(db_sessions, ORG, "hw3")
    monkeypatch.setattr(similarity, "COMPUTE_TIMEOUT_S", 0.05)  # its process is killed
    monkeypatch.setattr(reports, "ASKED_EVERY_S", 0.0)
    await reports.request_refresh(db_sessions, ORG, "hw3", by="prof")
    assert await similarity.refresh_due(crews[0]) is True
    failed = await reports.report_of(db_sessions, ORG, "hw3")
    assert "The last refresh failed" in failed.problem and "Traceback" not in failed.problem
    assert failed.requested_at is None and failed.stale_since is None  # not tried again at once
    assert await stored_pairs(db_sessions, ORG) == {frozenset({"hw3-gus", "hw3-hal"})}
    assert failed.computed_at > first.computed_at
    assert any("took longer than" in r.getMessage() for r in caplog.records)
    assert not any("def read_words" in r.getMessage() for r in caplog.records)  # no code logged
    assert await similarity.refresh_due(crews[0]) is False
