"""Regrade all, the button on an assignment's gradebook: the latest graded push of each repo
graded again, once per press, asked by the teacher, the worker woken; then the gradebook says
how many. On SQLite and on PostgreSQL. (Who may press it: tests.web.test_roles.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ghapp.store.models import Job, JobState
from tests.web.dash import ORG, T0, TEACHER

HW1 = f"/orgs/{ORG}/assignments/hw1"


async def regrades(app) -> list[Job]:
    async with app.sessions() as session:
        found = await session.execute(
            select(Job).where(Job.trigger == "dashboard").order_by(Job.id)
        )
        return list(found.scalars())


async def jobs_stored(app) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Job))


async def test_a_teacher_regrades_the_latest_graded_push_of_every_repo(teacher, web_db):
    page = await (await teacher.get(HW1)).text()
    assert f'action="{HW1}/regrade"' in page
    assert 'data-confirm="Regrade all 2 graded repos of hw1?' in page
    answer = await teacher.post(f"{HW1}/regrade", {"csrf": await teacher.csrf()})
    assert answer.status == 303
    assert answer.headers["Location"] == f"{HW1}?regraded=2"
    # alice's latest graded push (her second), bob's (an image error is graded too); not
    # carol's (waiting), erin's (failed), dave's (no assignment) nor cs202's zed.
    assert [
        (j.repo, j.head_sha, j.trigger, j.sender, j.state, j.counted)
        for j in await regrades(web_db)
    ] == [
        ("hw1-alice", "b" * 40, "dashboard", TEACHER, JobState.RECEIVED, False),
        ("hw1-bob", "c" * 40, "dashboard", TEACHER, JobState.RECEIVED, False),
    ]
    assert all(f"asked by {TEACHER}" in j.note for j in await regrades(web_db))
    assert web_db.woken == 1
    back = await (await teacher.get(answer.headers["Location"])).text()
    assert "2 repos queued for regrading" in back
    assert f'href="/orgs/{ORG}/queue">grading queue</a>' in back
    # They wait in the queue, where the teacher can follow (or cancel) them.
    queue = await (await teacher.get(f"/orgs/{ORG}/queue")).text()
    assert 'class="count-waiting">3<' in queue  # carol's push and the two regrades


async def test_each_press_regrades_once_so_a_second_press_queues_a_second_set(teacher, web_db):
    """Pressing twice is asking twice, as running `pushgrade regrade` twice is (the browser's
    confirm() and a form that sends once keep a double click from doing it by accident). The
    second set regrades the same pushes: the first set's jobs are not graded yet."""
    token = await teacher.csrf()
    for _ in range(2):
        answer = await teacher.post(f"{HW1}/regrade", {"csrf": token})
        assert answer.status == 303 and answer.headers["Location"] == f"{HW1}?regraded=2"
    found = await regrades(web_db)
    assert [(j.repo, j.head_sha) for j in found] == [
        ("hw1-alice", "b" * 40),
        ("hw1-bob", "c" * 40),
    ] * 2
    assert len({j.id for j in found}) == 4 and web_db.woken == 2


async def test_an_assignment_with_nothing_graded_says_so_and_queues_nothing(teacher, web_db, sim):
    inst = sim.world.installation_for(ORG).id
    async with web_db.sessions() as session, session.begin():
        session.add(
            Job(
                state=JobState.QUEUED,
                trigger="push",
                installation_id=inst,
                owner=ORG,
                repo="hw2-alice",
                head_sha="7" * 40,
                sender="alice",
                received_at=T0 + timedelta(hours=1),
                assignment="hw2",
                config={"image": "grader:2"},
                note="",
            )
        )
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw2")).text()
    assert "/regrade" not in page  # no button: there is nothing to regrade
    before = await jobs_stored(web_db)
    answer = await teacher.post(
        f"/orgs/{ORG}/assignments/hw2/regrade", {"csrf": await teacher.csrf()}
    )
    assert answer.status == 303
    assert answer.headers["Location"] == f"/orgs/{ORG}/assignments/hw2?regraded=0"
    assert await jobs_stored(web_db) == before and web_db.woken == 0
    back = await (await teacher.get(answer.headers["Location"])).text()
    assert "Nothing was graded yet" in back and "queued for regrading" not in back


async def test_an_unknown_assignment_or_a_bad_post_changes_nothing(teacher, web_db):
    token = await teacher.csrf()
    before = await jobs_stored(web_db)
    for path, status in (
        (f"/orgs/{ORG}/assignments/nope/regrade", 404),
        (f"/orgs/{ORG}/assignments/..%2F..%2Fetc/regrade", 404),
        ("/orgs/cs202/assignments/lab1/regrade", 403),  # another org's, even with a token
        ("/orgs/no-such-org/assignments/hw1/regrade", 403),
    ):
        assert (await teacher.post(path, {"csrf": token})).status == status, path
    huge = await teacher.post(f"{HW1}/regrade", {"csrf": token, "pad": "x" * 100_000})
    assert huge.status == 413
    assert (await teacher.get(f"{HW1}/regrade")).status == 405  # a link never regrades
    assert await jobs_stored(web_db) == before and web_db.woken == 0


async def test_the_message_shows_a_count_and_nothing_else(teacher):
    for query in ("regraded=<script>", "regraded=-1", "regraded=99999999999", "regraded="):
        page = await (await teacher.get(f"{HW1}?{query}")).text()
        assert "queued for regrading" not in page and "Nothing was graded" not in page, query
        assert "<script>" not in page
    assert "1 repo queued for regrading" in await (await teacher.get(f"{HW1}?regraded=1")).text()
