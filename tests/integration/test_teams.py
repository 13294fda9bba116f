"""Teams in the database (SQLite and PostgreSQL): one team per student and assignment, a full
team stays full however many join at once, names unique by slug."""

from __future__ import annotations

import asyncio

import pytest

from ghapp.store import teams
from ghapp.store.teams import TeamRefused


async def test_joins_at_once_never_overfill_a_team(db_sessions):
    await teams.create(db_sessions, "cs101", "duo", name="Owls", slug="owls", login="a")
    results = await asyncio.gather(
        *(
            teams.join(db_sessions, "cs101", "duo", slug="owls", login=f"s{i}", max_size=3)
            for i in range(8)
        ),
        return_exceptions=True,
    )
    joined = [r for r in results if not isinstance(r, Exception)]
    assert len(joined) == 2
    assert all(isinstance(r, TeamRefused) for r in results if isinstance(r, Exception))
    team = await teams.team_of(db_sessions, "cs101", "duo", "a")
    assert len(team.members) == 3
    assert await teams.with_room(db_sessions, "cs101", "duo", 3) == []


async def test_one_team_per_student_and_names_unique(db_sessions):
    await teams.create(db_sessions, "cs101", "duo", name="Owls", slug="owls", login="a")
    with pytest.raises(TeamRefused, match="in a team of this assignment already"):
        await teams.create(db_sessions, "cs101", "duo", name="Larks", slug="larks", login="A")
    with pytest.raises(TeamRefused, match="exists already"):
        await teams.create(db_sessions, "cs101", "duo", name="owls", slug="owls", login="b")
    with pytest.raises(TeamRefused, match="no such team"):
        await teams.join(db_sessions, "cs101", "duo", slug="larks", login="b", max_size=2)
    # Another assignment, another org: other teams.
    await teams.create(db_sessions, "cs101", "trio", name="Owls", slug="owls", login="a")
    await teams.create(db_sessions, "cs202", "duo", name="Owls", slug="owls", login="a")
    assert await teams.dissolve_if_alone(
        db_sessions, (await teams.team_of(db_sessions, "cs202", "duo", "a")).id
    )
    assert await teams.team_of(db_sessions, "cs202", "duo", "a") is None
