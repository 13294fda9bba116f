"""Fair share on SQLite and PostgreSQL: one repo's many jobs take one grading slot at a time,
so the other repos' pushes go on."""

from __future__ import annotations

from datetime import timedelta

from ghapp.store import jobs
from ghapp.store.models import Job, JobState, utcnow

GRADING = (JobState.QUEUED, JobState.RUNNING)


async def add(sessions, repo: str, n: int, installation: int = 1, owner: str = "cs101") -> None:
    async with sessions() as session, session.begin():
        for i in range(n):
            session.add(
                Job(
                    state=JobState.QUEUED,
                    trigger="rerequested",
                    installation_id=installation,
                    owner=owner,
                    repo=repo,
                    head_sha=f"{i:040x}",
                    attempts=0,
                    note="",
                )
            )


async def claim(sessions, worker: str) -> Job | None:
    return await jobs.claim(sessions, GRADING, worker=worker, lease_s=60, one_per_repo=True)


async def test_a_busy_repo_takes_one_slot_and_the_others_go_on(db_sessions):
    await add(db_sessions, "hw1-busy", 50)
    await add(db_sessions, "hw1-quiet", 1)
    first, second, third = [await claim(db_sessions, f"w{i}") for i in range(3)]
    assert (first.repo, second.repo, third) == ("hw1-busy", "hw1-quiet", None)
    # Once the busy repo's job ends, its next one is taken.
    await jobs.transition(db_sessions, first.id, worker="w0", state=JobState.DONE)
    assert (await claim(db_sessions, "w3")).repo == "hw1-busy"


async def test_a_lapsed_lease_does_not_keep_its_repo_busy(db_sessions):
    await add(db_sessions, "hw1-orphan", 2)
    async with db_sessions() as session, session.begin():
        job = await session.get(Job, 1)
        job.state, job.lease_owner = JobState.RUNNING, "dead:1"
        job.lease_expires_at = utcnow() - timedelta(seconds=5)
    taken = await claim(db_sessions, "w1")
    assert taken.id == 1  # the orphan itself is taken over first
    assert await claim(db_sessions, "w2") is None  # and now it holds its repo


async def test_without_the_cap_every_slot_may_take_one_repo(db_sessions):
    await add(db_sessions, "hw1-busy", 3)
    taken = [await jobs.claim(db_sessions, GRADING, worker="w", lease_s=60) for _ in range(3)]
    assert [job.repo for job in taken] == ["hw1-busy"] * 3


async def test_an_installation_cap_leaves_slots_for_other_orgs(db_sessions):
    for repo in ("hw1-a", "hw1-b", "hw1-c"):
        await add(db_sessions, repo, 1, installation=1)
    await add(db_sessions, "lab-z", 1, installation=2)
    taken = [
        await jobs.claim(
            db_sessions, GRADING, worker=f"w{i}", lease_s=60, one_per_repo=True,
            per_installation=2,
        )
        for i in range(4)
    ]  # fmt: skip
    assert [job.repo if job else None for job in taken] == ["hw1-a", "hw1-b", "lab-z", None]


async def test_each_tenant_has_the_running_cap_its_operator_gave_it(db_sessions):
    # The operator's policy: 1 at once by default, uni-big 3, uni-free no cap at all.
    caps = (1, {"uni-big": 3, "UNI-FREE": None})
    for org, installation in (("uni-small", 1), ("Uni-Big", 2), ("uni-free", 3)):
        for i in range(5):
            await add(db_sessions, f"hw1-{org}-{i}", 1, installation=installation, owner=org)
    taken = []
    while (job := await jobs.claim(
        db_sessions, GRADING, worker="w", lease_s=60, one_per_repo=True, per_installation=caps
    )) is not None:  # fmt: skip
        taken.append(job.owner)
    assert (taken.count("uni-small"), taken.count("Uni-Big"), taken.count("uni-free")) == (1, 3, 5)
