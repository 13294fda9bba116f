"""The job queue (ghapp.store: jobs, deliveries, history, requests) on both backends: every
test runs on SQLite and on a real PostgreSQL (`db_sessions` / `db_url` in tests/conftest.py),
since several web and worker processes share one queue only on PostgreSQL, where its claims
rest on `FOR UPDATE SKIP LOCKED` rather than on SQLite's single writer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from ghapp.core import events
from ghapp.store import deliveries, history, jobs, requests
from ghapp.store.db import make_engine, sessionmaker
from ghapp.store.models import Delivery, Installation, Job, JobState, Repository, Submission, utcnow
from tests.payloads import payload

RECEIVED = (JobState.RECEIVED,)


def grade_request(n: int, *, owner: str = "cs101-fall", repo: str = "hw1-alice"):
    return events.GradeRequest(
        installation_id=4242,
        repository_id=900,
        owner=owner,
        repo=repo,
        head_sha=f"{n:040x}",
        ref="refs/heads/main",
        trigger="push",
    )


async def push(sessions, n: int) -> int:
    """Ingest delivery `guid-n`, a push that implies one job; that job's id."""
    ids = await deliveries.ingest(
        sessions, guid=f"guid-{n}", event="push", action=None, decisions=[grade_request(n)]
    )
    assert ids is not None and len(ids) == 1
    return ids[0]


async def count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def job(sessions, job_id: int) -> Job:
    """The job as the database has it now (a fresh session, nothing cached)."""
    async with sessions() as session:
        found = await session.get(Job, job_id)
    assert found is not None, f"job {job_id} is not in the database"
    return found


# -- ingest ---------------------------------------------------------------------------------------


async def test_a_push_is_stored_as_its_delivery_and_one_job(db_sessions):
    data = payload("push/with-new-branch.payload.json")
    decisions = events.decide("push", data)
    received = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC)

    ids = await deliveries.ingest(
        db_sessions,
        guid="f4c3d2e0-cc78-11e3-81ab-4c9367dc0958",
        event="push",
        action=None,
        decisions=decisions,
        received_at=received,
    )

    assert ids is not None and len(ids) == 1
    stored = await job(db_sessions, ids[0])
    assert (stored.state, stored.trigger, stored.attempts) == (JobState.RECEIVED, "push", 0)
    assert (stored.owner, stored.repo) == ("Codertocat", "Hello-World")
    assert (stored.head_sha, stored.ref) == (data["after"], data["ref"])
    assert stored.installation_id == data["installation"]["id"]
    assert stored.repository_id == data["repository"]["id"]
    assert stored.delivery_guid == "f4c3d2e0-cc78-11e3-81ab-4c9367dc0958"
    assert (stored.lease_owner, stored.lease_expires_at) == (None, None)
    # The server's receive time, exactly and time-zone aware: deadlines are judged by it.
    assert stored.received_at == received and stored.received_at.tzinfo is not None
    async with db_sessions() as session:
        delivery = await session.get(Delivery, "f4c3d2e0-cc78-11e3-81ab-4c9367dc0958")
    assert (delivery.event, delivery.action) == ("push", None)
    assert delivery.installation_id == data["installation"]["id"]
    assert delivery.result == "1 job queued"
    assert delivery.received_at == received


async def test_a_redelivery_of_the_same_guid_creates_nothing_and_returns_none(db_sessions):
    first = await deliveries.ingest(
        db_sessions, guid="same", event="push", action=None, decisions=[grade_request(1)]
    )
    again = await deliveries.ingest(
        db_sessions,
        guid="same",
        event="push",
        action=None,
        decisions=[grade_request(2), grade_request(3)],
    )

    assert first is not None and len(first) == 1
    assert again is None
    assert await count(db_sessions, Job) == 1
    assert await count(db_sessions, Delivery) == 1
    assert (await job(db_sessions, first[0])).head_sha == f"{1:040x}"


async def test_deliveries_that_imply_no_job_are_stored_with_why(db_sessions):
    ids = await deliveries.ingest(
        db_sessions,
        guid="tag-push",
        event="push",
        action=None,
        decisions=events.decide("push", payload("push/with-installation.payload.json")),
    )

    assert ids == []
    assert await count(db_sessions, Job) == 0
    async with db_sessions() as session:
        delivery = await session.get(Delivery, "tag-push")
    assert delivery.result == "ignored: refs/tags/simple-tag was deleted"


async def test_ingest_is_one_transaction_a_failure_leaves_nothing_behind(db_sessions):
    seen = events.InstallationSeen(4242, "cs101-fall", "Organization", ((900, "cs101/hw1", True),))
    broken = events.GradeRequest(
        installation_id=4242,
        repository_id=900,
        owner=None,  # NOT NULL: the job's insert fails after the installation's was flushed
        repo="hw1",
        head_sha="a" * 40,
        ref="refs/heads/main",
        trigger="push",
    )

    with pytest.raises(IntegrityError):
        await deliveries.ingest(
            db_sessions, guid="half", event="push", action=None, decisions=[seen, broken]
        )

    for model in (Delivery, Installation, Repository, Job):
        assert await count(db_sessions, model) == 0, f"{model.__name__} rows left behind"
    # Nothing of it was kept, not even the GUID: the same delivery, sent again, is stored.
    ids = await deliveries.ingest(
        db_sessions, guid="half", event="push", action=None, decisions=[seen, grade_request(1)]
    )
    assert ids is not None and len(ids) == 1
    assert await count(db_sessions, Installation) == 1


def installation_payload(name: str, installation_id: int = 957387) -> dict:
    data = payload(name)
    data["installation"]["id"] = installation_id
    return data


async def deliver(sessions, guid: str, event: str, data: dict, at: datetime | None = None):
    return await deliveries.ingest(
        sessions,
        guid=guid,
        event=event,
        action=data.get("action"),
        decisions=events.decide(event, data),
        received_at=at,
    )


async def test_installation_events_keep_installations_and_repositories(db_sessions):
    async def installation() -> Installation | None:
        async with db_sessions() as session:
            return await session.get(Installation, 957387)

    async def repositories() -> dict[int, tuple[str, str, bool]]:
        async with db_sessions() as session:
            rows = (await session.scalars(select(Repository))).all()
        return {r.id: (r.owner, r.name, r.private) for r in rows if r.installation_id == 957387}

    created = installation_payload("installation/created.payload.json")
    assert await deliver(db_sessions, "d1", "installation", created) == []
    assert (await installation()).account_login == "Codertocat"
    assert await repositories() == {186853002: ("Codertocat", "Hello-World", False)}

    added = installation_payload("installation_repositories/added.payload.json")
    await deliver(db_sessions, "d2", "installation_repositories", added)
    assert await repositories() == {
        186853002: ("Codertocat", "Hello-World", False),
        186853007: ("Codertocat", "Space", False),
    }
    assert await count(db_sessions, Installation) == 1  # the same one, remembered again

    suspended_at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    suspend = installation_payload("installation/suspend.payload.json")
    await deliver(db_sessions, "d3", "installation", suspend, at=suspended_at)
    assert (await installation()).suspended_at == suspended_at
    unsuspend = installation_payload("installation/unsuspend.payload.json")
    await deliver(db_sessions, "d4", "installation", unsuspend)
    assert (await installation()).suspended_at is None

    removed = installation_payload("installation_repositories/removed.payload.json")
    removed["repositories_removed"] = [{"id": 186853002, "full_name": "Codertocat/Hello-World"}]
    await deliver(db_sessions, "d5", "installation_repositories", removed)
    assert await repositories() == {186853007: ("Codertocat", "Space", False)}

    deleted = installation_payload("installation/deleted.payload.json")
    await deliver(db_sessions, "d6", "installation", deleted)
    assert await installation() is None
    assert await repositories() == {}

    async with db_sessions() as session:
        deliveries = {d.guid: d for d in (await session.scalars(select(Delivery))).all()}
    assert {d.installation_id for d in deliveries.values()} == {957387}
    assert deliveries["d1"].result == "installation 957387 remembered"
    assert deliveries["d6"].result == "installation 957387 forgotten"
    assert deliveries["d5"].action == "removed"


# -- claim, renew, transition ---------------------------------------------------------------------


async def test_claim_tells_when_another_job_is_waiting_to_be_claimed(db_sessions):
    """The hint that wakes one more idle loop: given while a job is left, not for the last."""
    for n in range(2):
        await push(db_sessions, n)
    told: list[str] = []
    taken = []
    for w in ("w1", "w2", "w3"):
        more = lambda w=w: told.append(w)  # noqa: E731
        taken.append(await jobs.claim(db_sessions, RECEIVED, worker=w, lease_s=60, more=more))
    assert [t is not None for t in taken] == [True, True, False]
    assert told == ["w1"]


async def test_claim_takes_the_oldest_job_under_a_fresh_lease(db_sessions):
    ids = [await push(db_sessions, n) for n in range(3)]

    before = utcnow()
    first = await jobs.claim(db_sessions, RECEIVED, worker="w1", lease_s=60)
    after = utcnow()
    second = await jobs.claim(db_sessions, RECEIVED, worker="w2", lease_s=60)

    assert (first.id, second.id) == (ids[0], ids[1])
    stored = await job(db_sessions, ids[0])
    assert (stored.lease_owner, stored.attempts) == ("w1", 1)
    assert before + timedelta(seconds=60) <= stored.lease_expires_at
    assert stored.lease_expires_at <= after + timedelta(seconds=60)
    assert first.lease_expires_at == stored.lease_expires_at  # what claim returns is what's stored
    assert (first.lease_owner, first.attempts) == ("w1", 1)
    assert (await job(db_sessions, ids[1])).lease_owner == "w2"
    untouched = await job(db_sessions, ids[2])
    assert (untouched.lease_owner, untouched.lease_expires_at) == (None, None)
    assert untouched.attempts == 0


async def test_a_bulk_regrades_jobs_are_claimed_after_every_students_push(db_sessions):
    first = await push(db_sessions, 1)  # graded: the latest graded push of hw1-alice
    async with db_sessions() as session, session.begin():
        await session.execute(
            text("UPDATE jobs SET assignment = 'hw1', state = 'done' WHERE id = :id"),
            {"id": first},
        )
        session.add(
            Submission(
                job_id=first,
                owner="cs101-fall",
                repo="hw1-alice",
                head_sha=f"{1:040x}",
                status="passed",
                conclusion="success",
                outcome={},
            )
        )
    [regrade] = await requests.request_regrade_all(
        db_sessions, owner="cs101-fall", assignment="hw1", by="teacher"
    )
    later = await push(db_sessions, 2)  # a student's push after the regrade was asked for
    claimed = [await jobs.claim(db_sessions, RECEIVED, worker=w, lease_s=60) for w in "ab"]
    assert [j.id for j in claimed] == [later, regrade]
    assert (await job(db_sessions, regrade)).background is True
    # That push is newer than the commit the regrade grades: the regrade is moot.
    async with db_sessions() as session:
        regrade_job = await session.get(Job, regrade)
    await jobs.transition(db_sessions, later, worker="a", state=JobState.QUEUED, release=True)
    assert await history.newer_push(db_sessions, regrade_job) == f"{2:040x}"


async def test_claim_returns_none_when_every_job_is_held_or_there_is_none(db_sessions):
    assert await jobs.claim(db_sessions, RECEIVED, worker="w1", lease_s=60) is None
    await push(db_sessions, 1)
    assert await jobs.claim(db_sessions, RECEIVED, worker="w1", lease_s=60) is not None
    assert await jobs.claim(db_sessions, RECEIVED, worker="w2", lease_s=60) is None


async def test_claim_takes_only_jobs_in_the_states_asked_for(db_sessions):
    a, b = await push(db_sessions, 1), await push(db_sessions, 2)
    held = await jobs.claim(db_sessions, RECEIVED, worker="intake", lease_s=60)
    assert held.id == a
    assert await jobs.transition(db_sessions, a, worker="intake", state=JobState.QUEUED)

    assert await jobs.claim(db_sessions, (JobState.RUNNING,), worker="w", lease_s=60) is None
    queued = await jobs.claim(db_sessions, (JobState.QUEUED,), worker="grader", lease_s=60)
    assert (queued.id, queued.state, queued.attempts) == (a, JobState.QUEUED, 2)
    received = await jobs.claim(
        db_sessions, (JobState.QUEUED, JobState.RECEIVED), worker="w", lease_s=60
    )
    assert received.id == b

    assert await jobs.transition(db_sessions, a, worker="grader", state=JobState.DONE)
    assert await jobs.transition(db_sessions, b, worker="w", state=JobState.SKIPPED)
    unfinished = (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)
    assert await jobs.claim(db_sessions, unfinished, worker="w", lease_s=60) is None
    assert await jobs.claim(db_sessions, (JobState.DONE,), worker="w", lease_s=60) is not None


async def test_a_lapsed_lease_is_claimed_again_by_another_worker(db_sessions):
    job_id = await push(db_sessions, 1)
    mine = await jobs.claim(db_sessions, RECEIVED, worker="dead", lease_s=0.3)
    assert mine.id == job_id

    await asyncio.sleep(0.5)  # the worker died: nobody renews
    taken = await jobs.claim(db_sessions, RECEIVED, worker="alive", lease_s=60)

    assert taken is not None and taken.id == job_id
    assert (taken.lease_owner, taken.attempts) == ("alive", 2)
    # The dead worker, come back, finds it is no longer its own: it cannot renew nor finish it.
    assert not await jobs.renew(db_sessions, job_id, worker="dead", lease_s=60)
    assert not await jobs.transition(db_sessions, job_id, worker="dead", state=JobState.DONE)
    stored = await job(db_sessions, job_id)
    assert (stored.state, stored.lease_owner) == (JobState.RECEIVED, "alive")
    assert stored.lease_expires_at == taken.lease_expires_at


async def test_renew_extends_only_the_lease_holders_lease(db_sessions):
    job_id = await push(db_sessions, 1)
    held = await jobs.claim(db_sessions, RECEIVED, worker="w1", lease_s=30)

    assert not await jobs.renew(db_sessions, job_id, worker="w2", lease_s=600)
    assert (await job(db_sessions, job_id)).lease_expires_at == held.lease_expires_at

    assert await jobs.renew(db_sessions, job_id, worker="w1", lease_s=600)
    renewed = await job(db_sessions, job_id)
    assert renewed.lease_owner == "w1"
    assert renewed.lease_expires_at > held.lease_expires_at + timedelta(seconds=500)
    assert renewed.attempts == 1  # renewing is not another attempt


async def test_transition_is_done_only_by_the_lease_holder(db_sessions):
    job_id = await push(db_sessions, 1)
    await jobs.claim(db_sessions, RECEIVED, worker="w1", lease_s=60)

    assert not await jobs.transition(db_sessions, job_id, worker="w2", state=JobState.DONE)
    stored = await job(db_sessions, job_id)
    assert (stored.state, stored.lease_owner) == (JobState.RECEIVED, "w1")

    # Keeping the lease: the holder records progress and still holds the job.
    started = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert await jobs.transition(
        db_sessions,
        job_id,
        worker="w1",
        release=False,
        state=JobState.RUNNING,
        check_run_id=77,
        started_at=started,
    )
    stored = await job(db_sessions, job_id)
    assert (stored.state, stored.check_run_id, stored.started_at) == ("running", 77, started)
    assert stored.lease_owner == "w1" and stored.lease_expires_at is not None

    # Releasing it: the job is done and nobody's any more, the former holder's included.
    assert await jobs.transition(db_sessions, job_id, worker="w1", state=JobState.DONE)
    stored = await job(db_sessions, job_id)
    assert (stored.state, stored.lease_owner, stored.lease_expires_at) == ("done", None, None)
    assert not await jobs.transition(db_sessions, job_id, worker="w1", state=JobState.FAILED)
    assert (await job(db_sessions, job_id)).state == JobState.DONE


# -- concurrency: separate engines, as separate processes would have -----------------------------


async def test_concurrent_claimers_take_every_job_exactly_once(db_sessions, db_url):
    ids = set()
    for n in range(40):
        ids.add(await push(db_sessions, n))
    engines = [make_engine(db_url) for _ in range(8)]
    go = asyncio.Event()

    async def claimer(name: str, sessions) -> list[int]:
        taken = []
        await go.wait()
        while (
            claimed := await jobs.claim(sessions, RECEIVED, worker=name, lease_s=60)
        ) is not None:
            taken.append(claimed.id)
        return taken

    try:
        claimers = [
            asyncio.create_task(claimer(f"w{i}", sessionmaker(engine)))
            for i, engine in enumerate(engines)
        ]
        await asyncio.sleep(0)
        go.set()
        taken = await asyncio.wait_for(asyncio.gather(*claimers), timeout=120)
    finally:
        for engine in engines:
            await engine.dispose()

    everything = [job_id for each in taken for job_id in each]
    assert sorted(everything) == sorted(ids), "a job was claimed twice, or never"
    assert sum(1 for each in taken if each) > 1, "the claimers did not run concurrently"
    async with db_sessions() as session:
        stored = {j.id: j for j in (await session.scalars(select(Job))).all()}
    for worker, each in enumerate(taken):
        for job_id in each:
            assert (stored[job_id].lease_owner, stored[job_id].attempts) == (f"w{worker}", 1)


async def test_concurrent_redeliveries_store_one_delivery_and_one_job(db_sessions, db_url):
    engines = [make_engine(db_url) for _ in range(6)]
    try:
        results = await asyncio.gather(
            *(
                deliveries.ingest(
                    sessionmaker(engine),
                    guid="raced",
                    event="push",
                    action=None,
                    decisions=[grade_request(1)],
                )
                for engine in engines
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()

    stored = [r for r in results if r is not None]
    assert len(stored) == 1 and len(stored[0]) == 1, results
    assert await count(db_sessions, Job) == 1
    assert await count(db_sessions, Delivery) == 1


async def sessions_waiting_on_a_lock(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


async def until_waiting(sessions, n: int) -> None:
    for _ in range(200):
        if await sessions_waiting_on_a_lock(sessions) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {n} sessions waiting on a lock")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_deliveries_introducing_one_installation_at_once_are_both_stored(
    db_sessions, db_url
):
    """Deterministically, on PostgreSQL: delivery A inserts installation 2 and is then held up
    (by a row lock on a repository it updates) before it commits; delivery B, meanwhile, does
    not see installation 2 yet, inserts it too and waits for A. Both are GitHub's deliveries
    of real events (say two repositories added one after the other on an installation
    pushgrade had not seen); both must be stored."""
    old = events.InstallationSeen(1, "old-org", "Organization", ((500, "old-org/hw1", True),))
    await deliveries.ingest(
        db_sessions, guid="setup", event="installation", action=None, decisions=[old]
    )
    engines = [make_engine(db_url) for _ in range(3)]
    holder = sessionmaker(engines[0])()
    first = second = None
    try:
        await holder.begin()
        await holder.execute(select(Repository).where(Repository.id == 500).with_for_update())
        first = asyncio.create_task(
            deliveries.ingest(
                sessionmaker(engines[1]),
                guid="A",
                event="installation_repositories",
                action="added",
                decisions=[
                    events.InstallationSeen(
                        2, "new-org", "Organization", ((500, "new-org/hw1", True),)
                    )
                ],
            )
        )
        await until_waiting(db_sessions, 1)  # A: installation 2 inserted, stuck on repository 500
        second = asyncio.create_task(
            deliveries.ingest(
                sessionmaker(engines[2]),
                guid="B",
                event="installation_repositories",
                action="added",
                decisions=[
                    events.InstallationSeen(
                        2, "new-org", "Organization", ((501, "new-org/hw2", True),)
                    )
                ],
            )
        )
        await until_waiting(db_sessions, 2)  # B: inserting installation 2 too, waiting for A
        await holder.commit()
        results = await asyncio.wait_for(asyncio.gather(first, second), timeout=30)
    finally:
        for task in (first, second):
            if task is not None and not task.done():
                task.cancel()
        await holder.close()
        for engine in engines:
            await engine.dispose()

    assert all(r == [] for r in results), results
    assert await count(db_sessions, Delivery) == 3
    async with db_sessions() as session:
        repos = {r.id: r.installation_id for r in (await session.scalars(select(Repository)))}
    assert repos == {500: 1, 501: 2}
