"""The dashboard's queries and its session rows on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from ghapp.store import reads
from ghapp.store.models import Job, JobState, Submission
from tests.web.dash import ORG, OTHER, SESSION_SECRET, seed
from web import gradebook
from web.sessions import Cookies, SessionStore


def fake_sim():
    ids = {ORG: 40_000_001, OTHER: 40_000_002}
    installation_for = lambda login: SimpleNamespace(id=ids[login])  # noqa: E731
    return SimpleNamespace(world=SimpleNamespace(installation_for=installation_for))


async def test_every_page_query_answers_the_same_on_both_backends(db_sessions):
    ids = await seed(SimpleNamespace(sessions=db_sessions), fake_sim())
    accounts = await reads.accounts(db_sessions)
    assert [(a.login, a.installation_id) for a in accounts] == [
        (ORG, 40_000_001),
        (OTHER, 40_000_002),
    ]
    assert (await reads.account(db_sessions, "CS101")).login == ORG
    [hw1] = await reads.assignments(db_sessions, ORG)
    assert (hw1.name, hw1.repos, hw1.graded, hw1.late, hw1.failing) == ("hw1", 4, 2, 1, 1)
    runs, jobs = await reads.gradebook_input(db_sessions, ORG, "hw1")
    table = gradebook.rows(runs, jobs)
    assert [(r.repo, r.attempts, r.late) for r in table] == [
        ("hw1-alice", 2, True),
        ("hw1-bob", 1, False),
        ("hw1-carol", 0, False),
        ("hw1-erin", 0, False),
    ]
    assert [p.repo for p in await reads.config_problems(db_sessions, ORG)] == ["hw1-dave"]
    assert [p.repo for p in await reads.grader_problems(db_sessions, ORG, "hw1")] == ["hw1-bob"]
    queue = await reads.queue(db_sessions, ORG)
    assert [len(queue[k]) for k in ("waiting", "running", "failed")] == [1, 0, 1]
    job, graded = await reads.job(db_sessions, ids["alice2"])
    assert job.repo == "hw1-alice" and graded.late and graded.score == 5
    assert await reads.job(db_sessions, 10**6) is None
    history = await reads.repo_history(db_sessions, ORG, "hw1-alice")
    assert [(h.job.id, h.score) for h in history] == [(ids["alice2"], 5), (ids["alice1"], 3)]
    assert not any(h.image_id or h.first_image_id or h.image_changed for h in history)
    assert (await reads.assignment_config(db_sessions, ORG, "hw1"))["image"] == "grader:1"


async def test_a_commits_first_image_id_is_what_its_regrades_are_compared_with(db_sessions):
    ids = await seed(SimpleNamespace(sessions=db_sessions), fake_sim())
    first, other = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    async with db_sessions() as session, session.begin():
        alice1 = await session.get(Job, ids["alice1"])
        graded = await session.scalar(select(Submission).where(Submission.job_id == alice1.id))
        graded.image_id = first
        for n, image_id in enumerate((None, other, first)):  # one without an id, two regrades
            regrade = Job(
                state=JobState.DONE,
                trigger="dashboard",
                installation_id=alice1.installation_id,
                owner=ORG,
                repo=alice1.repo,
                head_sha=alice1.head_sha,
                received_at=alice1.received_at + timedelta(days=1 + n),
                note="",
            )
            session.add(regrade)
            await session.flush()
            session.add(
                Submission(
                    job_id=regrade.id,
                    owner=ORG,
                    repo=alice1.repo,
                    head_sha=alice1.head_sha,
                    status="passed",
                    conclusion="success",
                    outcome={},
                    image_id=image_id,
                )
            )
    firsts = await reads.first_image_ids(db_sessions, ORG, "hw1-alice", ["a" * 40, "b" * 40])
    assert firsts == {"a" * 40: first}  # b's grading recorded none
    assert await reads.first_image_ids(db_sessions, ORG, "hw1-alice", []) == {}
    assert await reads.first_image_ids(db_sessions, ORG, "hw1-bob", ["a" * 40]) == {}
    history = await reads.repo_history(db_sessions, ORG, "hw1-alice")
    assert [(h.image_id, h.first_image_id, h.image_changed) for h in history] == [
        (first, first, False),  # the second regrade: the first image again
        (other, first, True),
        (None, first, False),
        (None, None, False),  # alice2: another commit, never pinned
        (first, first, False),  # alice1 itself
    ]


async def test_sessions_are_stored_found_and_ended_on_both_backends(db_sessions):
    store = SessionStore(db_sessions, Cookies(SESSION_SECRET, secure=False))
    raw = await store.create(login="prof", user_id=7, token="ghu_secret")
    found = await store.load(raw)
    assert (found.login, found.user_id) == ("prof", 7) and len(found.csrf) >= 40
    assert await store.user_token(found) == "ghu_secret"
    assert await store.load("x" * 43) is None
    await store.end(found)
    assert await store.load(raw) is None
