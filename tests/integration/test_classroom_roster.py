"""Coming over from GitHub Classroom with what exists: `pushgrade import classroom-roster` fills
the roster from classroom_roster.csv and links the repositories Classroom handed out to their
students, so no repository is made again and a student's accept finds the one they work in."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ghapp.core.config import load_file
from ghapp.core.roster import read_roster
from ghapp.github import GitHubApp
from ghapp.store import handouts
from ghapp.store.models import Installation
from ghapp.store.roster import import_roster, roster_of
from ghapp.work.adopt import link_existing
from ghapp.work.handout import hand_out
from ghsim import GitHubSimulator

ORG, OTHER = "school", "rival"
HANDOUT = {"administration": "write", "contents": "read", "metadata": "read", "members": "read"}
ORG_FILE = (
    "assignments:\n"
    "  hw1: {repos: 'hw1-*', image: 'g:1', template: hw1-template}\n"
    "  lab2: {repos: 'lab2-*', image: 'g:1', template: lab2-template, repo_name: 'lab2-{login}'}\n"
    "  proj: {repos: 'proj-*', image: 'g:1', template: proj-template, max_team_size: 3}\n"
    "  quiz: {repos: 'quiz-*', image: 'g:1'}\n"
)
ROSTER = (
    b'"identifier","github_username","github_id","name"\n'
    b'"s1001","Alice","583231","Alice Liddell"\n'
    b'"s1002","bob","","Bob Builder"\n'
    b'"s1003","","","Carol Danvers"\n'
    b'"s1004","mallory","","Mallory Malice"\n'
)
WORK = {"calc.py": "def add(a, b):\n    return a + b  # alice's own work\n"}


@pytest.fixture
async def sim() -> AsyncIterator[GitHubSimulator]:
    async with GitHubSimulator() as simulator:
        simulator.install(ORG, permissions=HANDOUT)
        simulator.install(OTHER, permissions=HANDOUT)
        simulator.create_repo(ORG, ".github", files={".github/pushgrade.yml": ORG_FILE})
        for template in ("hw1-template", "lab2-template", "proj-template"):
            simulator.create_repo(ORG, template, files={"README.md": "#\n"}, template=True)
        # What Classroom made: alice's hw1 and lab2, bob's hw1 only; mallory's hw1 lives in
        # another org, which is not this org's to adopt.
        simulator.create_repo(ORG, "hw1-alice", files=WORK, private=True)
        simulator.create_repo(ORG, "lab2-alice", files=WORK, private=True)
        simulator.create_repo(ORG, "hw1-bob", files={"calc.py": "pass\n"}, private=True)
        simulator.create_repo(OTHER, "hw1-mallory", files={"x": "1"}, private=True)
        for login in ("alice", "bob", "mallory"):
            simulator.add_member(ORG, login)
        yield simulator


@pytest.fixture
async def gh(sim):
    async with aiohttp.ClientSession() as http:
        app = GitHubApp(
            app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
        )
        yield app.installation(sim.world.installation_for(ORG).id)


def generated(sim) -> list[str]:
    return [r.path for r in sim.requests if r.path.endswith("/generate")]


async def test_classrooms_repositories_are_linked_once_and_an_accept_adopts_them(
    sim, gh, db_sessions
):
    await import_roster(db_sessions, ORG, read_roster(ROSTER), by="prof")
    config = load_file(ORG_FILE, org=True, standalone=True)
    students = await roster_of(db_sessions, ORG)
    found = await link_existing(
        db_sessions, gh, org=ORG, config=config, students=students, by="prof"
    )
    assert found.linked == {"hw1": 2, "lab2": 1}  # alice and bob; alice's lab2
    assert found.already == {"hw1": 0, "lab2": 0}
    assert found.missing == {"hw1": 1, "lab2": 2}  # mallory's hw1 is another org's
    assert found.problems == [
        "proj: a team assignment; its repositories are linked as each team's members accept "
        "(pushgrade cannot tell Classroom's teams)"
    ]  # and quiz hands nothing out: not a word about it
    rows = await handouts.handouts_of(db_sessions, ORG, "hw1")
    assert [(r.holder, r.repo, r.state, r.adopted) for r in rows] == [
        ("alice", "hw1-alice", "ready", True),
        ("bob", "hw1-bob", "ready", True),
    ]
    assert generated(sim) == [] and not sim.invitations_for("bob")  # nothing made or shared

    again = await link_existing(
        db_sessions, gh, org=ORG, config=config, students=students, by="prof"
    )
    assert again.linked == {"hw1": 0, "lab2": 0} and again.already == {"hw1": 2, "lab2": 1}

    hw1 = config.assignments["hw1"]
    alice = await hand_out(
        db_sessions, gh, org=ORG, assignment="hw1", config=hw1, login="alice", maker="web-1"
    )
    assert (alice.repo, alice.adopted) == ("hw1-alice", True)
    assert generated(sim) == []
    files = sim.world.require_repo(ORG, "hw1-alice").resolve("main").files
    assert files == {k: v.encode() for k, v in WORK.items()}  # her work, never overwritten


async def test_a_repository_another_student_holds_is_not_linked_to_a_second(sim, gh, db_sessions):
    config = load_file(ORG_FILE, org=True, standalone=True)
    await handouts.adopt(
        db_sessions,
        org=ORG,
        assignment="hw1",
        holder="mallory",
        login="mallory",
        repo="hw1-bob",
        repo_id=None,
        by="someone",
    )
    await import_roster(db_sessions, ORG, read_roster(ROSTER), by="prof")
    found = await link_existing(
        db_sessions, gh, org=ORG, config=config, students=await roster_of(db_sessions, ORG),
        by="prof",
    )  # fmt: skip
    assert "hw1: hw1-bob is already another student's hand-out; not linked to bob" in (
        found.problems
    )
    [bob] = [r for r in await handouts.handouts_of(db_sessions, ORG, "hw1") if r.repo == "hw1-bob"]
    assert bob.holder == "mallory"


CLI = str(Path(sys.executable).with_name("pushgrade"))


async def run_cli(*argv: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *argv,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode(), err.decode()


async def test_the_command_imports_the_roster_then_links_the_repositories(sim, tmp_path):
    from ghapp.store.db import make_engine, migrate, sessionmaker

    url = f"sqlite+aiosqlite:///{tmp_path / 'pushgrade.sqlite3'}"
    engine = make_engine(url)
    await migrate(engine)
    async with sessionmaker(engine)() as session, session.begin():
        session.add(Installation(id=sim.world.installation_for(ORG).id, account_login=ORG))
    key = tmp_path / "app.pem"
    key.write_bytes(sim.private_key_pem)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGRADE_")}
    env.update(
        PUSHGRADE_APP_ID=str(sim.app_id),
        PUSHGRADE_PRIVATE_KEY_FILE=str(key),
        PUSHGRADE_GITHUB_API_URL=sim.url,
        PUSHGRADE_DATABASE_URL=url,
    )
    roster = tmp_path / "classroom_roster.csv"
    roster.write_bytes(ROSTER)
    code, out, err = await run_cli(
        "import", "classroom-roster", str(roster), "--org", ORG, env=env, cwd=tmp_path
    )
    assert code == 0, err
    assert out.splitlines() == [
        f"pushgrade: {ORG}: 4 students read from {roster} (4 new, 0 updated, 0 unchanged); "
        "3 of the roster linked to a GitHub login",
        "pushgrade: hw1: 2 existing repositories linked to their students, 0 linked before, "
        "1 students with none yet (they get theirs when they accept)",
        "pushgrade: lab2: 1 existing repositories linked to their students, 0 linked before, "
        "2 students with none yet (they get theirs when they accept)",
    ]
    assert "Alice Liddell" not in out + err  # no personal data echoed
    rows = await handouts.handouts_of(sessionmaker(engine), ORG, "hw1")
    assert [r.repo for r in rows] == ["hw1-alice", "hw1-bob"]

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"identifier,github_username\ns1,ok\n,x\ns3,not ok\n")
    code, out, err = await run_cli(
        "import", "classroom-roster", str(bad), "--org", ORG, env=env, cwd=tmp_path
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"pushgrade: {bad}: line 3: no identifier",
        f"pushgrade: {bad}: line 4: 'not ok' is not a GitHub login",
        f"pushgrade: nothing imported from {bad}",
    ]

    no_app = {k: v for k, v in env.items() if k != "PUSHGRADE_APP_ID"}
    code, out, err = await run_cli(
        "import", "classroom-roster", str(roster), "--org", ORG, env=no_app, cwd=tmp_path
    )
    assert code == 3 and "4 unchanged" in out
    assert "existing repositories not linked: the App's settings are needed" in err
    await engine.dispose()
