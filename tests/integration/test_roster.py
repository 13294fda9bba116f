"""The roster in the database (SQLite and PostgreSQL): merged whole or not at all, one org's
never another's; and `pushgrade roster import` as a teacher runs it."""

from __future__ import annotations

import pytest

from ghapp.core.roster import RosterError, read_roster
from ghapp.store.models import Installation
from ghapp.store.roster import import_roster, roster_of, unlink
from tests.integration.test_cli_errors import key_file, newcomer_env, pushgrade  # noqa: F401

CLASSROOM = (
    b"identifier,github_username,github_id,name\n"
    b"s1001,alice-dev,583231,Alice Liddell\n"
    b"s1002,,,Bob Builder\n"
    b"s1003,Carol,,Carol Danvers\n"
)


def logins(listed) -> dict[str, str | None]:
    return {s.identifier: s.login for s in listed}


async def test_an_import_adds_then_a_second_merges_without_removing(db_sessions):
    first = await import_roster(db_sessions, "CS101", read_roster(CLASSROOM), by="prof")
    assert (first.added, first.updated, first.unchanged, first.linked) == (3, 0, 0, 2)
    again = await import_roster(db_sessions, "cs101", read_roster(CLASSROOM), by="prof")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    # A later export: bob linked, carol's section set, dave new; alice's row absent, kept.
    later = b"identifier,login,section\nS1002,bob-b,\ns1003,,Lab 2\ns1004,dave,\n"
    merged = await import_roster(db_sessions, "cs101", read_roster(later), by="ta")
    assert (merged.added, merged.updated, merged.unchanged, merged.linked) == (1, 2, 0, 4)
    listed = await roster_of(db_sessions, "cs101")
    assert logins(listed) == {
        "S1002": "bob-b",
        "s1001": "alice-dev",
        "s1004": "dave",
        "s1003": "carol",
    }
    carol = next(s for s in listed if s.identifier == "s1003")
    assert (carol.section, carol.name, carol.login) == ("Lab 2", "", "carol")  # the file's, both
    bob = next(s for s in listed if s.identifier == "S1002")
    assert bob.linked_by == "roster import by ta" and bob.linked_at is not None


async def test_a_login_another_student_holds_refuses_the_whole_file(db_sessions):
    await import_roster(db_sessions, "cs101", read_roster(CLASSROOM), by="prof")
    clash = b"identifier,login\ns1005,eve\ns1002,alice-dev\n"
    with pytest.raises(RosterError) as err:
        await import_roster(db_sessions, "cs101", read_roster(clash), by="prof")
    assert err.value.problems == [
        "GitHub login 'alice-dev' would belong to both s1001 and s1002 (unlink it from one of "
        "them first)"
    ]
    assert len(await roster_of(db_sessions, "cs101")) == 3  # eve was not added either


async def test_logins_may_swap_within_one_file(db_sessions):
    await import_roster(db_sessions, "cs101", read_roster(CLASSROOM), by="prof")
    swap = b"identifier,login\ns1001,carol\ns1003,alice-dev\n"
    done = await import_roster(db_sessions, "cs101", read_roster(swap), by="prof")
    assert done.updated == 2
    assert logins(await roster_of(db_sessions, "cs101"))["s1001"] == "carol"


async def test_unlinking_frees_a_login_and_orgs_never_share_a_roster(db_sessions):
    await import_roster(db_sessions, "cs101", read_roster(CLASSROOM), by="prof")
    await import_roster(db_sessions, "cs202", read_roster(b"identifier,login\ns1001,zed\n"), by="x")
    assert logins(await roster_of(db_sessions, "cs202")) == {"s1001": "zed"}
    assert await unlink(db_sessions, "cs101", "S1001")
    assert not await unlink(db_sessions, "cs101", "s1001")  # nothing linked any more
    assert not await unlink(db_sessions, "cs101", "nobody")
    assert logins(await roster_of(db_sessions, "cs101"))["s1001"] is None
    assert logins(await roster_of(db_sessions, "cs202")) == {"s1001": "zed"}
    moved = await import_roster(
        db_sessions, "cs101", read_roster(b"identifier,login\ns1002,alice-dev\n"), by="prof"
    )
    assert moved.linked == 2


def test_the_roster_command_imports_and_says_what_it_did(key_file, tmp_path):  # noqa: F811
    import asyncio

    from ghapp.store.db import make_engine, migrate, sessionmaker

    env = newcomer_env(key_file)
    assert pushgrade("migrate", env=env, cwd=tmp_path).returncode == 0

    async def install() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pushgrade.sqlite3'}")
        await migrate(engine)
        async with sessionmaker(engine)() as session, session.begin():
            session.add(Installation(id=7, account_login="cs101"))
        await engine.dispose()

    asyncio.run(install())
    roster = tmp_path / "classroom_roster.csv"
    roster.write_bytes(CLASSROOM.replace(b"name\n", b"name,email\n", 1))
    done = pushgrade("roster", "import", "CS101", str(roster), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"pushgrade: cs101: 3 students read from {roster} (3 new, 0 updated, 0 unchanged); 2 of "
        "the roster linked to a GitHub login",
        "pushgrade: columns left out: email",
    ]
    assert "alice" not in done.stderr and "Alice" not in done.stdout  # no personal data echoed

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"identifier,login\n,x\ns9,not ok\n")
    refused = pushgrade("roster", "import", "cs101", str(bad), env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"pushgrade: {bad}: line 2: no identifier",
        f"pushgrade: {bad}: line 3: 'not ok' is not a GitHub login",
        f"pushgrade: nothing imported from {bad}",
    ]
    other = pushgrade("roster", "import", "cs999", str(roster), env=env, cwd=tmp_path)
    assert other.returncode == 2
    assert (
        other.stderr == "pushgrade: no account cs999 in this database (the accounts in it: cs101)\n"
    )
    missing = pushgrade(
        "roster", "import", "cs101", str(tmp_path / "nope.csv"), env=env, cwd=tmp_path
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
