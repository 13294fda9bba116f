"""Who sees what: anonymous, a student, a teacher of another org, an owner and a member of the
teachers' team, on every page, fragment, CSV and button of an org. Zero unauthorized reads."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlalchemy import func, select

from ghapp.store.models import Job, RosterStudent
from tests.web.dash import (
    ORG,
    OTHER_TEACHER,
    SECRETS,
    STUDENT,
    TA,
    TEACHER,
    Client,
    seed,
)
from web.access import Account, GitHubUnavailable, Teachers, may_teach

ANONYMOUS = None


@pytest.fixture
async def ids(sim, web):
    return await seed(web, sim)


def org_pages(ids: dict[str, int]) -> list[str]:
    return [
        f"/orgs/{ORG}",
        f"/orgs/{ORG}/assignments/hw1",
        f"/orgs/{ORG}/assignments/hw1/gradebook.csv",
        f"/orgs/{ORG}/assignments/hw1/export/canvas.csv",
        f"/orgs/{ORG}/assignments/hw1/export/moodle.csv",
        f"/orgs/{ORG}/assignments/hw1/export/classroom.csv",
        f"/orgs/{ORG}/queue",
        f"/orgs/{ORG}/queue?part=live",
        f"/orgs/{ORG}/roster",
        f"/jobs/{ids['alice1']}",
        f"/jobs/{ids['alice1']}?part=live",
        f"/jobs/{ids['bob1']}",
        f"/jobs/{ids['carol1']}",
        f"/jobs/{ids['dave1']}",
    ]


async def client_as(web, sim, login: str | None) -> Client:
    client = Client(web.url, sim)
    if login is not None:
        assert (await client.sign_in(login)).status == 303
    return client


@pytest.mark.parametrize("login", [ANONYMOUS, STUDENT, OTHER_TEACHER])
async def test_nobody_but_the_orgs_teachers_reads_a_thing(sim, web, ids, login):
    client = await client_as(web, sim, login)
    try:
        for path in org_pages(ids):
            answer = await client.get(path)
            body = await answer.text()
            if login is ANONYMOUS:
                live = path.endswith("part=live")
                assert answer.status == (401 if live else 303), path
                if not live:
                    assert answer.headers["Location"].startswith("/login?next="), path
            else:
                assert answer.status == 403, path
                assert login in body  # the page says who is signed in, and why not
            for secret in SECRETS:
                assert secret not in body, (path, secret)
            assert "text/csv" not in answer.headers.get("Content-Type", "")
        home = await (await client.get("/")).text()
        assert f'href="/orgs/{ORG}"' not in home
    finally:
        await client.close()


@pytest.mark.parametrize("login", [TEACHER, TA])
async def test_an_owner_and_the_teachers_team_read_everything(sim, web, ids, login):
    client = await client_as(web, sim, login)
    try:
        for path in org_pages(ids):
            answer = await client.get(path)
            assert answer.status == 200, path
        job = await (await client.get(f"/jobs/{ids['alice1']}")).text()
        assert "HIDDEN-ANSWER-42" in job  # a hidden test's output, for the teacher
        csv = await (await client.get(f"/orgs/{ORG}/assignments/hw1/gradebook.csv")).text()
        assert "hw1-alice" in csv and "hw1-bob" in csv
        # Not the other org's, though.
        assert (await client.get("/orgs/cs202")).status == 403
        assert (await client.get(f"/jobs/{ids['zed1']}")).status == 403
    finally:
        await client.close()


async def test_a_teacher_of_another_org_sees_only_their_own(sim, web, ids):
    client = await client_as(web, sim, OTHER_TEACHER)
    try:
        home = await (await client.get("/")).text()
        assert 'href="/orgs/cs202"' in home and 'href="/orgs/cs101"' not in home
        assert (await client.get("/orgs/cs202/assignments/lab1")).status == 200
        zed = await client.get(f"/jobs/{ids['zed1']}")
        assert zed.status == 200 and "lab1-zed" in await zed.text()
    finally:
        await client.close()


@pytest.mark.parametrize("login", [ANONYMOUS, STUDENT, OTHER_TEACHER])
async def test_nobody_else_presses_a_button(sim, web, ids, login):
    client = await client_as(web, sim, login)
    try:
        for action, job in (("rerun", "alice1"), ("cancel", "carol1"), ("rerun", "failed1")):
            answer = await client.post(f"/jobs/{ids[job]}/{action}", {"csrf": "guess"})
            assert answer.status == (401 if login is ANONYMOUS else 403), (action, job)
        for assignment in ("hw1", "nope"):  # whether it exists is not theirs to learn either
            answer = await client.post(f"/orgs/{ORG}/assignments/{assignment}/regrade")
            assert answer.status == (401 if login is ANONYMOUS else 403), assignment
            if login is not ANONYMOUS:
                assert login in await answer.text()
        for path in (f"/orgs/{ORG}/roster", f"/orgs/{ORG}/roster/unlink"):
            form = aiohttp.FormData({"csrf": "guess", "identifier": "S-0042-ALICE"})
            form.add_field("roster", b"identifier,login\nS-0042-ALICE,mallory\n", filename="r.csv")
            answer = await client.post(path, form)
            assert answer.status == (401 if login is ANONYMOUS else 403), path
        async with web.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == len(ids)
            carol = await session.get(Job, ids["carol1"])
            assert not carol.cancel_requested
            alice = await session.scalar(
                select(RosterStudent).where(RosterStudent.identifier == "S-0042-ALICE")
            )
            assert alice.login == "alice"
    finally:
        await client.close()


async def test_a_teacher_presses_a_button_only_with_the_forms_token(sim, web, ids):
    client = await client_as(web, sim, TEACHER)
    try:
        regrade_all = f"/orgs/{ORG}/assignments/hw1/regrade"
        for path in (f"/jobs/{ids['alice1']}/rerun", regrade_all):
            for form in ({"csrf": ""}, {"csrf": "guess"}, {}):
                answer = await client.post(path, form)
                assert answer.status == 403, (path, form)
                assert "reload the page" in await answer.text()
            answer = await client.post(
                path, {"csrf": await client.csrf()}, headers={"Origin": "https://evil.example"}
            )
            assert answer.status == 403 and "another site" in await answer.text()
        async with web.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == len(ids)
    finally:
        await client.close()


async def test_a_member_of_the_teachers_team_may_regrade_all(sim, web, ids):
    client = await client_as(web, sim, TA)
    try:
        answer = await client.post(
            f"/orgs/{ORG}/assignments/hw1/regrade", {"csrf": await client.csrf()}
        )
        assert answer.status == 303
        async with web.sessions() as session:
            found = await session.execute(select(Job.sender).where(Job.trigger == "dashboard"))
            assert found.scalars().all() == [TA, TA]
    finally:
        await client.close()


async def test_without_a_teachers_team_in_the_org_file_only_owners_teach(sim, web, ids):
    repo = sim.world.require_repo(ORG, ".github")
    commit = sim.world.commit(
        repo,
        parent=repo.resolve("main"),
        changes={".github/pushgrade.yml": b'assignments:\n  hw1: {repos: "hw1-*"}\n'},
        message="No teachers' team",
        author=sim.world.account(TEACHER),
        now=time.time(),
    )
    repo.branches["main"] = commit.sha
    client = await client_as(web, sim, TA)  # a member of cs101-staff, no longer named
    try:
        assert (await client.get(f"/orgs/{ORG}")).status == 403
    finally:
        await client.close()


async def test_role_answers_are_cached_briefly(sim, web, ids):
    client = await client_as(web, sim, TEACHER)
    try:
        for _ in range(5):
            assert (await client.get(f"/orgs/{ORG}/queue")).status == 200
    finally:
        await client.close()
    asked = [r for r in sim.requests if r.path == f"/orgs/{ORG}/memberships/{TEACHER}"]
    assert len(asked) == 1


def test_the_rule_itself():
    org = Account("cs101", 1)
    assert may_teach(login="prof", account=org, org_role="admin", in_team=False)
    assert may_teach(login="ta", account=org, org_role="member", in_team=True)
    assert not may_teach(login="alice", account=org, org_role="member", in_team=False)
    assert not may_teach(login="alice", account=org, org_role=None, in_team=False)
    mine = Account("prof", 2, kind="User")
    assert may_teach(login="PROF", account=mine, org_role=None, in_team=False)
    assert not may_teach(login="alice", account=mine, org_role="admin", in_team=True)


async def test_a_silent_github_is_an_error_never_a_yes(sim):
    import aiohttp

    from ghapp.github import GitHubApp

    async with aiohttp.ClientSession() as http:
        app = GitHubApp(
            app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
        )
        teachers = Teachers(app, timeout_s=0.5)
        account = Account(ORG, sim.world.installation_for(ORG).id)
        sim.set_fault(delay=2, path_prefix=f"/orgs/{ORG}/memberships")
        with pytest.raises(GitHubUnavailable):
            await teachers.teaches(TEACHER, account)
        sim.clear_fault()
        await asyncio.sleep(0)
        assert await teachers.teaches(TEACHER, account)  # nothing was cached from the failure
        assert not await teachers.teaches(STUDENT, account)
