"""Handing out on the simulator: one repository per student and assignment made from the
template, whatever double clicks, concurrent accepts, a dead maker or a missing permission do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update

from ghapp.core.config import load_file
from ghapp.github import GitHubApp
from ghapp.store import handouts
from ghapp.store.models import HandOut, utcnow
from ghapp.work.handout import HandOutRefused, hand_out
from ghsim import GitHubSimulator

ORG = "school"
HANDOUT = {"administration": "write", "contents": "read", "metadata": "read", "members": "read"}
STARTER = {"README.md": "# hw1\n", "calc.py": "def add(a, b):\n    pass\n"}
HW1 = load_file(
    'assignments:\n  hw1: {repos: "hw1-*", image: "g:1", template: hw1-template}\n',
    org=True,
    standalone=True,
).assignments["hw1"]


@pytest.fixture
async def sim() -> AsyncIterator[GitHubSimulator]:
    async with GitHubSimulator() as simulator:
        simulator.install(ORG, permissions=HANDOUT)
        simulator.create_repo(ORG, "hw1-template", files=STARTER, template=True)
        simulator.add_member(ORG, "alice")
        for login in ("bob", "carol", "dave"):
            simulator.create_user(login)
        yield simulator


@pytest.fixture
async def gh(sim):
    async with aiohttp.ClientSession() as http:
        app = GitHubApp(
            app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
        )
        yield app.installation(sim.world.installation_for(ORG).id)


def generated(sim) -> list[str]:
    return [
        r.body["name"] for r in sim.requests if r.path.endswith("/generate") and r.status == 201
    ]


async def accept(db_sessions, gh, login: str, *, maker: str = "web-1", config=HW1):
    return await hand_out(
        db_sessions, gh, org=ORG, assignment="hw1", config=config, login=login, maker=maker
    )


async def test_a_member_gets_push_access_and_an_outsider_an_invitation(sim, gh, db_sessions):
    alice = await accept(db_sessions, gh, "Alice")
    assert (alice.repo, alice.invitation, alice.adopted) == ("hw1-alice", False, False)
    repo = sim.world.require_repo(ORG, "hw1-alice")
    assert repo.private and repo.resolve("main").files == {
        k: v.encode() for k, v in STARTER.items()
    }
    assert sim.permission_of(repo, "alice") == "push"
    bob = await accept(db_sessions, gh, "bob")
    assert (bob.repo, bob.invitation) == ("hw1-bob", True)
    assert [i.repo.name for i in sim.invitations_for("bob")] == ["hw1-bob"]
    rows = await handouts.handouts_of(db_sessions, ORG, "hw1")
    assert [(r.holder, r.state) for r in rows] == [("alice", "ready"), ("bob", "ready")]


async def test_double_clicks_and_concurrent_accepts_make_one_repository(sim, gh, db_sessions):
    answers = await asyncio.gather(
        *(accept(db_sessions, gh, "carol", maker=f"web-{i % 2}") for i in range(6))
    )
    assert {a.repo for a in answers} == {"hw1-carol"}
    again = await accept(db_sessions, gh, "carol")
    assert again.repo == "hw1-carol"
    assert generated(sim) == ["hw1-carol"]
    assert len(sim.invitations_for("carol")) == 1


async def test_an_existing_repository_is_adopted_never_overwritten(sim, gh, db_sessions):
    sim.create_repo(ORG, "hw1-dave", files={"work.py": "dave's own work\n"})
    dave = await accept(db_sessions, gh, "dave")
    assert (dave.repo, dave.adopted, dave.invitation) == ("hw1-dave", True, True)
    files = sim.world.require_repo(ORG, "hw1-dave").resolve("main").files
    assert files == {"work.py": b"dave's own work\n"}
    assert generated(sim) == []


async def test_a_name_another_student_holds_is_refused(sim, gh, db_sessions):
    await accept(db_sessions, gh, "bob")
    renamed = HW1.model_copy(update={"repo_name": "hw1-{login}x"})
    async with db_sessions() as session, session.begin():  # bob's row, as if named hw1-carolx
        await session.execute(update(HandOut).values(repo="hw1-carolx"))
    with pytest.raises(HandOutRefused, match="already handed out to someone else"):
        await accept(db_sessions, gh, "carol", config=renamed)
    assert "hw1-carolx" not in generated(sim)


async def test_without_the_permission_nothing_is_half_made_and_a_retry_succeeds(
    sim, gh, db_sessions
):
    installation = sim.world.installation_for(ORG)
    installation.permissions = {"contents": "read", "metadata": "read"}
    with pytest.raises(HandOutRefused) as err:
        await accept(db_sessions, gh, "bob")
    assert err.value.for_teacher and "needs the Administration" in str(err.value)
    assert sim.world.repo(ORG, "hw1-bob") is None
    (row,) = await handouts.handouts_of(db_sessions, ORG, "hw1")
    assert row.state == "failed" and "Administration" in row.problem
    installation.permissions = dict(HANDOUT)
    gh.app._tokens.clear()  # the next token carries the new permissions
    assert (await accept(db_sessions, gh, "bob")).repo == "hw1-bob"


async def test_a_dead_makers_hand_out_is_taken_over_and_finished(sim, gh, db_sessions):
    claim = await handouts.claim(
        db_sessions,
        org=ORG,
        assignment="hw1",
        holder="bob",
        login="bob",
        repo="hw1-bob",
        maker="web-dead",
        lease_s=60,
    )
    assert claim.mine
    # It had made the repository, then died before sharing it.
    await gh.generate_repo(ORG, "hw1-template", owner=ORG, name="hw1-bob", description="")
    waited = asyncio.create_task(accept(db_sessions, gh, "bob", maker="web-2"))
    await asyncio.sleep(0.5)
    assert not waited.done()  # a live lease: the second accept waits for the first
    async with db_sessions() as session, session.begin():
        await session.execute(update(HandOut).values(lease_until=utcnow() - timedelta(seconds=1)))
    bob = await asyncio.wait_for(waited, 10)
    assert bob.repo == "hw1-bob" and bob.invitation
    assert generated(sim) == ["hw1-bob"]  # made once


async def test_a_template_that_is_not_one_is_the_teachers_to_fix(sim, gh, db_sessions):
    sim.create_repo(ORG, "plain", files=STARTER)
    plain = HW1.model_copy(update={"template": "plain"})
    with pytest.raises(HandOutRefused, match="plain is not a template repository"):
        await accept(db_sessions, gh, "bob", config=plain)
    elsewhere = HW1.model_copy(update={"template": "other-org/hw1-template"})
    with pytest.raises(HandOutRefused, match="is not a repository of school"):
        await accept(db_sessions, gh, "carol", config=elsewhere)
