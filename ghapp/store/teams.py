"""Teams of a team assignment in the database: the first member names one, others join until
it is full; one team per student and assignment, and a full team stays full however many join
at once (the count and the join are one transaction, serialised per team)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import Team, TeamMember


class TeamRefused(Exception):
    """Why a student cannot create or join the team; said to them as it is."""


@dataclass(frozen=True)
class TeamInfo:
    id: int
    slug: str
    name: str
    members: tuple[str, ...]


async def _info(session, team: Team) -> TeamInfo:
    logins = await session.scalars(
        select(TeamMember.login).where(TeamMember.team_id == team.id).order_by(TeamMember.id)
    )
    return TeamInfo(team.id, team.slug, team.name, tuple(logins))


async def team_of(
    sessions: async_sessionmaker, org: str, assignment: str, login: str
) -> TeamInfo | None:
    async with sessions() as session:
        team = await session.scalar(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(
                TeamMember.org == org.lower(),
                TeamMember.assignment == assignment,
                TeamMember.login == login.lower(),
            )
        )
        return await _info(session, team) if team is not None else None


async def with_room(
    sessions: async_sessionmaker, org: str, assignment: str, max_size: int
) -> list[tuple[str, str, int]]:
    """(slug, name, members) of the assignment's teams that are not full, by name."""
    async with sessions() as session:
        found = await session.execute(
            select(Team.slug, Team.name, func.count(TeamMember.id))
            .outerjoin(TeamMember, TeamMember.team_id == Team.id)
            .where(Team.org == org.lower(), Team.assignment == assignment)
            .group_by(Team.id, Team.slug, Team.name)
            .order_by(Team.name)
        )
        return [(slug, name, count) for slug, name, count in found if count < max_size]


async def create(
    sessions: async_sessionmaker, org: str, assignment: str, *, name: str, slug: str, login: str
) -> TeamInfo:
    try:
        async with write_session(sessions) as session:
            team = Team(
                org=org.lower(), assignment=assignment, slug=slug, name=name, created_by=login
            )
            session.add(team)
            await session.flush()
            session.add(
                TeamMember(
                    team_id=team.id, org=org.lower(), assignment=assignment, login=login.lower()
                )
            )
            await session.flush()
            return await _info(session, team)
    except IntegrityError:
        if await team_of(sessions, org, assignment, login) is not None:
            raise TeamRefused("You are in a team of this assignment already.") from None
        raise TeamRefused(
            f"A team named like {name!r} exists already: join it, or choose another name."
        ) from None


async def join(
    sessions: async_sessionmaker, org: str, assignment: str, *, slug: str, login: str, max_size: int
) -> TeamInfo:
    try:
        async with write_session(sessions) as session:
            query = select(Team).where(
                Team.org == org.lower(), Team.assignment == assignment, Team.slug == slug
            )
            if session.bind.dialect.name == "postgresql":
                # Serialise joins per team: two students taking its last place at once.
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"pushgrade.team:{org.lower()}/{assignment}/{slug}"},
                )
            team = await session.scalar(query)
            if team is None:
                raise TeamRefused("There is no such team: choose one from the list.")
            members = await session.scalar(
                select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team.id)
            )
            if members >= max_size:
                raise TeamRefused(
                    f"{team.name} is full ({max_size} of {max_size}): join another team, or "
                    "start one."
                )
            session.add(
                TeamMember(
                    team_id=team.id, org=org.lower(), assignment=assignment, login=login.lower()
                )
            )
            await session.flush()
            return await _info(session, team)
    except IntegrityError:
        raise TeamRefused("You are in a team of this assignment already.") from None


async def dissolve_if_alone(sessions: async_sessionmaker, team_id: int) -> bool:
    """Remove a team whose only member is its founder (its name could not be used)."""
    async with write_session(sessions) as session:
        count = await session.scalar(
            select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
        )
        if count != 1:
            return False
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
        await session.execute(delete(Team).where(Team.id == team_id))
        return True


async def members_of(
    sessions: async_sessionmaker, org: str, assignment: str, slug: str
) -> list[str]:
    async with sessions() as session:
        found = await session.scalars(
            select(TeamMember.login)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.org == org.lower(), Team.assignment == assignment, Team.slug == slug)
            .order_by(TeamMember.id)
        )
        return list(found)
