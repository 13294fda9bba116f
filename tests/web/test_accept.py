"""The accept link and the student's page: a student signs in, accepts, and gets one repository
from the template, then sees it and its result on /me; each
refusal (not a member, not on the roster, after the cutoff, a full team, a team name taken,
the App without its permission) is a clear page and leaves nothing half-made."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ghapp.store import extensions
from ghapp.store.models import HandOut, Installation, Job, JobState, RosterStudent, Submission
from ghsim import GitHubSimulator
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from tests.web.dash import SESSION_SECRET, Client

ORG = "school"
HANDOUT = {
    "administration": "write",
    "contents": "read",
    "metadata": "read",
    "members": "read",
    "checks": "write",
}
ORG_FILE = """teachers: staff
assignments:
  hw1: {repos: "hw1-*", image: "g:1", template: hw1-template}
  lab: {repos: "lab-*", image: "g:1", template: hw1-template, open_to: members}
  quiz: {repos: "quiz-*", image: "g:1", template: hw1-template, open_to: roster}
  old: {repos: "old-*", image: "g:1", template: hw1-template, due: "2020-01-01T00:00:00+00:00",
        late: {cutoff: "2020-01-03T12:00:00+00:00"}}
  duo: {repos: "duo-*", image: "g:1", template: hw1-template, max_team_size: 2}
  graded-only: {repos: "g-*", image: "g:1"}
"""


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG, permissions=HANDOUT)
        simulator.create_repo(ORG, ".github", files={".github/pushgrade.yml": ORG_FILE})
        simulator.create_repo(ORG, "hw1-template", files={"README.md": "# hw1\n"}, template=True)
        simulator.add_member(ORG, "alice")
        for login in ("bob", "carol", "mallory"):
            simulator.create_user(login)
        yield simulator


@pytest.fixture
async def web(sim, tmp_path):
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'accept.sqlite3'}")
    settings = dataclasses.replace(settings, workers=0, session_secret=SESSION_SECRET)
    async with running(settings) as started:
        async with started.sessions() as session, session.begin():
            session.add(Installation(id=sim.world.installation_for(ORG).id, account_login=ORG))
            session.add(
                RosterStudent(org=ORG, identifier="S-1001", identifier_key="s-1001", name="Carol C")
            )
        yield started


async def student(web, sim, login: str) -> Client:
    client = Client(web.url, sim)
    assert (await client.sign_in(login)).status == 303
    return client


async def csrf_of(client: Client, path: str) -> str:
    text = await (await client.get(path)).text()
    marker = 'name="csrf" value="'
    assert marker in text, text
    return text.split(marker, 1)[1].split('"', 1)[0]


async def handouts(web) -> list[tuple[str, str, str]]:
    async with web.sessions() as session:
        rows = await session.execute(select(HandOut.assignment, HandOut.holder, HandOut.state))
        return sorted(tuple(r) for r in rows)


async def test_a_student_signs_in_accepts_and_gets_one_repository(sim, web):
    anonymous = Client(web.url, sim)
    answer = await anonymous.get(f"/a/{ORG}/hw1")
    assert answer.status == 303 and answer.headers["Location"] == "/login?next=/a/school/hw1"
    await anonymous.close()

    bob = await student(web, sim, "bob")
    page = await (await bob.get(f"/a/{ORG}/hw1")).text()
    assert "Accept hw1" in page and "school/hw1-bob" in page
    csrf = await csrf_of(bob, f"/a/{ORG}/hw1")
    answers = await asyncio.gather(*(bob.post(f"/a/{ORG}/hw1", {"csrf": csrf}) for _ in range(3)))
    assert {a.status for a in answers} == {303}
    page = await (await bob.get(f"/a/{ORG}/hw1")).text()
    assert "Your repository:" in page and ">school/hw1-bob</a>" in page
    assert f"{sim.url}/school/hw1-bob/invitations" in page  # bob is outside the org
    assert sim.permission_of(sim.world.require_repo(ORG, "hw1-bob"), "bob") is None
    assert [i.repo.name for i in sim.invitations_for("bob")] == ["hw1-bob"]
    assert await handouts(web) == [("hw1", "bob", "ready")]
    again = await bob.post(f"/a/{ORG}/hw1", {"csrf": csrf})
    assert again.status == 303
    generated = [r for r in sim.requests if r.path.endswith("/generate")]
    assert len(generated) == 1
    await bob.close()


async def test_the_link_needs_an_assignment_that_hands_out(sim, web):
    bob = await student(web, sim, "bob")
    for path in (f"/a/{ORG}/nope", f"/a/{ORG}/graded-only", "/a/elsewhere/hw1", f"/a/{ORG}/..."):
        answer = await bob.get(path)
        assert answer.status == 404, path
        assert "no assignment to accept" in await answer.text()
    await bob.close()


async def test_members_only_refuses_an_outsider_and_admits_a_member(sim, web):
    bob = await student(web, sim, "bob")
    refused = await bob.post(f"/a/{ORG}/lab", {"csrf": await csrf_of(bob, f"/a/{ORG}/lab")})
    assert refused.status == 403
    assert "open to members of school only, and bob is not one" in await refused.text()
    alice = await student(web, sim, "alice")
    done = await alice.post(f"/a/{ORG}/lab", {"csrf": await csrf_of(alice, f"/a/{ORG}/lab")})
    assert done.status == 303
    page = await (await alice.get(f"/a/{ORG}/lab")).text()
    assert "You can push to it now" in page  # a member: no invitation
    assert sim.permission_of(sim.world.require_repo(ORG, "lab-alice"), "alice") == "push"
    assert await handouts(web) == [("lab", "alice", "ready")]
    for client in (alice, bob):
        await client.close()


async def test_a_roster_student_gives_their_identifier_once(sim, web):
    carol = await student(web, sim, "carol")
    page = await (await carol.get(f"/a/{ORG}/quiz")).text()
    assert 'name="identifier"' in page and "S-1001" not in page  # no identifier is shown
    csrf = await csrf_of(carol, f"/a/{ORG}/quiz")
    for given in ("", "S-9999"):
        refused = await carol.post(f"/a/{ORG}/quiz", {"csrf": csrf, "identifier": given})
        assert refused.status == 403
        assert "is not on the roster of school" in await refused.text()
    done = await carol.post(f"/a/{ORG}/quiz", {"csrf": csrf, "identifier": " s-1001 "})
    assert done.status == 303
    async with web.sessions() as session:
        linked = await session.scalar(select(RosterStudent.login))
    assert linked == "carol"
    # The identifier is carol's now: mallory cannot take it.
    mallory = await student(web, sim, "mallory")
    taken = await mallory.post(
        f"/a/{ORG}/quiz",
        {"csrf": await csrf_of(mallory, f"/a/{ORG}/quiz"), "identifier": "S-1001"},
    )
    assert taken.status == 403
    assert await handouts(web) == [("quiz", "carol", "ready")]
    for client in (carol, mallory):
        await client.close()


async def test_after_the_cutoff_accepting_is_refused_with_the_date(sim, web):
    bob = await student(web, sim, "bob")
    page = await (await bob.get(f"/a/{ORG}/old")).text()
    assert "could be accepted until 2020-01-03 12:00:00 UTC" in page
    assert 'class="accept"' not in page  # no form to accept with
    refused = await bob.post(f"/a/{ORG}/old", {"csrf": await csrf_of(bob, f"/a/{ORG}/hw1")})
    assert refused.status == 403 and "until 2020-01-03 12:00:00 UTC" in await refused.text()
    assert await handouts(web) == []
    assert sim.world.repo(ORG, "old-bob") is None
    await bob.close()


async def test_without_the_apps_permission_the_student_is_told_and_nothing_is_made(sim, web):
    sim.world.installation_for(ORG).permissions = {
        "contents": "read",
        "metadata": "read",
        "members": "read",
    }
    bob = await student(web, sim, "bob")
    refused = await bob.post(f"/a/{ORG}/hw1", {"csrf": await csrf_of(bob, f"/a/{ORG}/hw1")})
    assert refused.status == 503
    assert "needs the Administration (read and write) permission" in await refused.text()
    assert sim.world.repo(ORG, "hw1-bob") is None
    async with web.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(HandOut)) == 1  # failed
    assert await handouts(web) == [("hw1", "bob", "failed")]
    # The teacher's gradebook says what is missing (it needs a graded job to exist).
    sim.add_member(ORG, "prof", role="admin")
    async with web.sessions() as session, session.begin():
        session.add(
            Job(
                state=JobState.DONE,
                trigger="push",
                installation_id=1,
                owner=ORG,
                repo="hw1-x",
                head_sha="e" * 40,
                attempts=1,
                assignment="hw1",
                config={"image": "g:1"},
            )
        )
    prof = await student(web, sim, "prof")
    page = await (await prof.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert "Repositories could not be handed out" in page
    assert "needs the Administration (read and write) permission" in page
    for client in (bob, prof):
        await client.close()


async def test_accepting_needs_the_forms_token(sim, web):
    bob = await student(web, sim, "bob")
    refused = await bob.post(f"/a/{ORG}/hw1", {"csrf": "guess"})
    assert refused.status == 403
    assert await handouts(web) == []
    await bob.close()


# --- the student's page ---------------------------------------------------------------------

CONFIG = {
    "image": "g:1",
    "repos": ["hw1-*"],
    "template": "hw1-template",
    "visibility": "score",
    "due": "2030-01-10T23:59:00+00:00",
    "max_graded_per_day": 3,
}
OUTCOME = {
    "status": "failed",
    "score": 3,
    "max_score": 5,
    "tests": [
        {"name": "SECRET-TEST-NAME", "status": "failed", "score": 0, "max_score": 2},
        {"name": "visible", "status": "passed", "score": 3, "max_score": 3},
    ],
}


async def graded(web, repo: str, login: str) -> None:
    async with web.sessions() as session, session.begin():
        job = Job(
            state=JobState.DONE,
            trigger="push",
            installation_id=1,
            owner=ORG,
            repo=repo,
            head_sha="c" * 40,
            ref="refs/heads/main",
            sender=login,
            received_at=datetime.now(UTC) - timedelta(minutes=5),
            attempts=1,
            assignment="hw1",
            config=CONFIG,
            counted=True,
        )
        session.add(job)
        await session.flush()
        session.add(
            Submission(
                job_id=job.id,
                owner=ORG,
                repo=repo,
                head_sha=job.head_sha,
                status="failed",
                conclusion="failure",
                score=3,
                max_score=5,
                outcome=OUTCOME,
            )
        )


async def test_a_student_sees_their_repo_result_and_pushes_left_and_no_one_elses(sim, web):
    bob = await student(web, sim, "bob")
    assert (
        await bob.post(f"/a/{ORG}/hw1", {"csrf": await csrf_of(bob, f"/a/{ORG}/hw1")})
    ).status == 303
    page = await (await bob.get("/me")).text()
    assert ">school/hw1-bob</a>" in page and "nothing graded yet" in page
    await graded(web, "hw1-bob", "bob")
    await extensions.grant(
        web.sessions,
        org=ORG,
        assignment="hw1",
        repo="hw1-bob",
        due=datetime(2030, 1, 12, 12, 0, tzinfo=UTC),
        cutoff=None,
        by="prof",
    )
    page = await (await bob.get("/me")).text()
    assert "3 / 5" in page  # the score, as visibility: score shows it
    assert "SECRET-TEST-NAME" not in page and "visible" not in page.split("Latest result")[1]
    assert "Graded pushes left today: <strong>2</strong>" in page
    assert "Due: 2030-01-12 12:00:00 UTC" in page and "extended for you" in page
    # Open to bob and not accepted: duo (anyone); not lab (members), quiz (roster), old (closed).
    opened = page.split("Open to you", 1)[1]
    assert 'href="/a/school/duo"' in opened
    assert not any(f'/a/school/{n}"' in opened for n in ("lab", "quiz", "old", "hw1"))
    carol = await student(web, sim, "carol")
    theirs = await (await carol.get("/me")).text()
    assert "hw1-bob" not in theirs and "No repository is handed out to carol" in theirs
    assert "Open to you" not in theirs  # carol has no part in the org here: nothing of it
    anonymous = Client(web.url, sim)
    assert (await anonymous.get("/me")).status == 303
    for client in (bob, carol, anonymous):
        await client.close()


# --- teams ---------------------------------------------------------------------------------------


async def test_a_team_of_two_shares_one_repository_and_a_third_is_turned_away(sim, web):
    bob, carol, mallory = [await student(web, sim, who) for who in ("bob", "carol", "mallory")]
    page = await (await bob.get(f"/a/{ORG}/duo")).text()
    assert 'name="team_name"' in page
    started = await bob.post(
        f"/a/{ORG}/duo", {"csrf": await csrf_of(bob, f"/a/{ORG}/duo"), "team_name": "Team Rocket"}
    )
    assert started.status == 303
    page = await (await carol.get(f"/a/{ORG}/duo")).text()
    assert "Team Rocket (1 of 2)" in page and "bob" not in page  # names, never members
    joined, full = await asyncio.gather(
        carol.post(
            f"/a/{ORG}/duo", {"csrf": await csrf_of(carol, f"/a/{ORG}/duo"), "team": "team-rocket"}
        ),
        mallory.post(
            f"/a/{ORG}/duo",
            {"csrf": await csrf_of(mallory, f"/a/{ORG}/duo"), "team": "team-rocket"},
        ),
    )
    assert sorted([joined.status, full.status]) == [303, 409]  # one last place, taken once
    refused = full if full.status == 409 else joined
    assert "Team Rocket is full (2 of 2)" in await refused.text()
    repo = sim.world.require_repo(ORG, "duo-team-rocket")
    invited = {i.invitee.login for i in sim.world.invitations.values() if i.repo is repo}
    assert len(invited) == 2 and "bob" in invited
    page = await (await bob.get(f"/a/{ORG}/duo")).text()
    assert (
        "Your team: <strong>Team Rocket</strong>" in page and ">school/duo-team-rocket</a>" in page
    )
    assert len([r for r in sim.requests if r.path.endswith("/generate")]) == 1
    assert await handouts(web) == [("duo", "team:team-rocket", "ready")]
    for client in (bob, carol, mallory):
        await client.close()


async def test_a_team_cannot_be_named_into_someone_elses_repository(sim, web):
    sim.create_repo(ORG, "duo-taken", files={"x.txt": "not yours\n"})
    alice = await student(web, sim, "alice")
    csrf = await csrf_of(alice, f"/a/{ORG}/duo")
    refused = await alice.post(f"/a/{ORG}/duo", {"csrf": csrf, "team_name": "Taken"})
    assert refused.status == 409
    assert "exists in school already and is not your team" in await refused.text()
    assert sim.world.require_repo(ORG, "duo-taken").resolve("main").files == {
        "x.txt": b"not yours\n"
    }
    clash = await alice.post(f"/a/{ORG}/duo", {"csrf": csrf, "team_name": "taken"})
    assert clash.status == 409  # still someone else's, however it is spelled
    done = await alice.post(f"/a/{ORG}/duo", {"csrf": csrf, "team_name": "Owls"})
    assert done.status == 303
    assert sim.permission_of(sim.world.require_repo(ORG, "duo-owls"), "alice") == "push"
    none = await alice.post(f"/a/{ORG}/duo", {"csrf": csrf, "team_name": "   "})
    assert none.status == 303  # in a team already: the page shows it
    await alice.close()


# --- the cutoff and the end of term --------------------------------------------------------------


async def test_repos_lock_at_the_cutoff_a_teacher_unlocks_and_archives_them(sim, web):
    from types import SimpleNamespace

    import aiohttp

    from ghapp.github import GitHubApp
    from ghapp.work.config_reader import ConfigReader
    from ghapp.work.locking import lock_due

    cutoff = datetime.now(UTC) + timedelta(seconds=2)
    due = (cutoff - timedelta(seconds=1)).isoformat()
    final = (
        f'  final: {{repos: "final-*", image: "g:1", template: hw1-template, lock_at_cutoff: true,'
        f' due: "{due}", late: {{cutoff: "{cutoff.isoformat()}"}}}}\n'
    )
    await sim.push(ORG, ".github", {".github/pushgrade.yml": ORG_FILE + final}, pusher="prof")
    sim.add_member(ORG, "prof", role="admin")
    alice = await student(web, sim, "alice")
    accepted = await alice.post(
        f"/a/{ORG}/final", {"csrf": await csrf_of(alice, f"/a/{ORG}/final")}
    )
    assert accepted.status == 303
    repo = sim.world.require_repo(ORG, "final-alice")
    assert sim.permission_of(repo, "alice") == "push"

    async with aiohttp.ClientSession() as http:
        crew = SimpleNamespace(
            sessions=web.sessions,
            github=GitHubApp(
                app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
            ),
            configs=ConfigReader(),
        )
        assert await lock_due(crew) == 0  # before the cutoff
        await asyncio.sleep(max(0.0, (cutoff - datetime.now(UTC)).total_seconds()) + 0.2)
        assert await lock_due(crew) == 1
        assert await lock_due(crew) == 0  # once
    assert sim.permission_of(repo, "alice") == "pull"

    prof = await student(web, sim, "prof")
    book = f"/orgs/{ORG}/assignments/final"
    async with web.sessions() as session, session.begin():  # the gradebook needs a job
        session.add(
            Job(
                state=JobState.DONE,
                trigger="push",
                installation_id=1,
                owner=ORG,
                repo="final-alice",
                head_sha="d" * 40,
                attempts=1,
                assignment="final",
                config={"image": "g:1"},
            )
        )
    page = await (await prof.get(book)).text()
    assert "1 locked at the cutoff" in page and "lock, 1 repository, by pushgrade" in page
    csrf = await csrf_of(prof, book)
    assert (await prof.post(f"{book}/unlock", {"csrf": csrf})).status == 303
    assert sim.permission_of(repo, "alice") == "push"
    archived = await prof.post(f"{book}/archive", {"csrf": csrf, "archived": "1"})
    assert archived.status == 303 and repo.archived
    page = await (await prof.get(book)).text()
    assert "1 archived" in page and "unlock, 1 repository, by prof" in page
    assert (await prof.post(f"{book}/archive", {"csrf": csrf, "archived": "0"})).status == 303
    assert not repo.archived
    # A student presses nothing of it.
    assert (await alice.post(f"{book}/archive", {"csrf": csrf, "archived": "1"})).status == 403
    assert not repo.archived
    for client in (alice, prof):
        await client.close()
