"""Hand-outs in the database: the one row per student (or team) and assignment that makes a
repository exactly once. A process claims the row (inserting it, or taking over one whose maker
died or failed) under a lease, makes the repository, and marks it ready; everyone else reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import write_session
from ghapp.store.models import HandOut, HandOutAction, Team, TeamMember, utcnow

MAKING, READY, FAILED = "making", "ready", "failed"


@dataclass(frozen=True)
class Handed:
    id: int
    org: str
    assignment: str
    holder: str
    login: str
    repo: str
    state: str
    invitation_id: int | None
    adopted: bool
    problem: str
    ready_at: datetime | None
    locked_at: datetime | None = None
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Claim:
    """What a claim found: `mine` when this caller is to make the repository now; else the row
    as it stands (ready, or being made by another process). `taken_by` when the repository's
    name belongs to another holder."""

    row: Handed | None
    mine: bool = False
    taken_by: str | None = None
    fresh: bool = False  # the row was made by this claim (not one taken over)


def _handed(row: HandOut) -> Handed:
    return Handed(
        row.id,
        row.org,
        row.assignment,
        row.holder,
        row.login,
        row.repo,
        row.state,
        row.invitation_id,
        row.adopted,
        row.problem,
        row.ready_at,
        row.locked_at,
        row.archived_at,
    )


async def find(
    sessions: async_sessionmaker, org: str, assignment: str, holder: str
) -> Handed | None:
    async with sessions() as session:
        row = await session.scalar(
            select(HandOut).where(
                HandOut.org == org.lower(),
                HandOut.assignment == assignment,
                HandOut.holder == holder,
            )
        )
        return _handed(row) if row is not None else None


async def claim(
    sessions: async_sessionmaker,
    *,
    org: str,
    assignment: str,
    holder: str,
    login: str,
    repo: str,
    maker: str,
    lease_s: float,
) -> Claim:
    """Claim the making of `holder`'s repository `repo`: insert its row, or take over a row
    that failed or whose maker's lease ran out. Exactly one caller gets `mine` at a time."""
    org = org.lower()
    now = utcnow()
    until = now + timedelta(seconds=lease_s)
    try:
        async with write_session(sessions) as session:
            row = HandOut(
                org=org,
                assignment=assignment,
                holder=holder,
                login=login.lower(),
                repo=repo,
                state=MAKING,
                maker=maker,
                lease_until=until,
                adopted=False,
                problem="",
            )
            session.add(row)
            await session.flush()
            return Claim(_handed(row), mine=True, fresh=True)
    except IntegrityError:
        pass  # a row exists for this holder, or for this repository name
    async with write_session(sessions) as session:
        mine = await session.scalar(
            select(HandOut).where(
                HandOut.org == org, HandOut.assignment == assignment, HandOut.holder == holder
            )
        )
        if mine is None:
            other = await session.scalar(
                select(HandOut.holder).where(HandOut.org == org, HandOut.repo == repo)
            )
            return Claim(None, taken_by=other or "someone else")
        taken = await session.execute(
            update(HandOut)
            .where(
                HandOut.id == mine.id,
                or_(
                    HandOut.state == FAILED,
                    (HandOut.state == MAKING) & (HandOut.lease_until < now),
                ),
            )
            .values(state=MAKING, maker=maker, lease_until=until, problem="")
        )
        await session.refresh(mine)
        return Claim(_handed(mine), mine=taken.rowcount == 1)


async def adopt(
    sessions: async_sessionmaker,
    *,
    org: str,
    assignment: str,
    holder: str,
    login: str,
    repo: str,
    repo_id: int | None,
    by: str,
) -> str:
    """Record `repo`, which exists already (made by GitHub Classroom, say), as `holder`'s
    repository of `assignment`, ready and adopted: nothing is made or shared. "linked"; or
    "already" when the holder has a row (left as it is); or "taken" when another holder has
    that repository."""
    org = org.lower()
    try:
        async with write_session(sessions) as session:
            session.add(
                HandOut(
                    org=org,
                    assignment=assignment,
                    holder=holder,
                    login=login.lower(),
                    repo=repo,
                    state=READY,
                    maker=by,
                    repo_id=repo_id,
                    adopted=True,
                    problem="",
                    ready_at=utcnow(),
                )
            )
        return "linked"
    except IntegrityError:
        pass
    async with sessions() as session:
        mine = await session.scalar(
            select(HandOut.id).where(
                HandOut.org == org, HandOut.assignment == assignment, HandOut.holder == holder
            )
        )
    return "already" if mine is not None else "taken"


async def made(
    sessions: async_sessionmaker,
    row_id: int,
    *,
    maker: str,
    repo_id: int | None,
    invitation_id: int | None,
    adopted: bool,
) -> bool:
    """Mark the repository ready (False when another process took the row over meanwhile)."""
    async with write_session(sessions) as session:
        done = await session.execute(
            update(HandOut)
            .where(HandOut.id == row_id, HandOut.maker == maker, HandOut.state == MAKING)
            .values(
                state=READY,
                repo_id=repo_id,
                invitation_id=invitation_id,
                adopted=adopted,
                lease_until=None,
                ready_at=utcnow(),
            )
        )
        return done.rowcount == 1


async def failed(sessions: async_sessionmaker, row_id: int, *, maker: str, problem: str) -> None:
    async with write_session(sessions) as session:
        await session.execute(
            update(HandOut)
            .where(HandOut.id == row_id, HandOut.maker == maker, HandOut.state == MAKING)
            .values(state=FAILED, lease_until=None, problem=problem[:2000])
        )


async def holders(sessions: async_sessionmaker, org: str, name: str) -> dict[str, str]:
    """The repository handed out to each student of the assignment (login → repo, lower-case
    logins), a team's to each of its members."""
    org = org.lower()
    async with sessions() as session:
        alone = await session.execute(
            select(HandOut.holder, HandOut.repo).where(
                HandOut.org == org,
                HandOut.assignment == name,
                HandOut.state == READY,
                HandOut.holder.not_like("team:%"),
            )
        )
        found = {holder.lower(): repo for holder, repo in alone}
        teamed = await session.execute(
            select(TeamMember.login, HandOut.repo)
            .join(Team, Team.id == TeamMember.team_id)
            .join(
                HandOut,
                (HandOut.org == Team.org)
                & (HandOut.assignment == Team.assignment)
                & (HandOut.holder == "team:" + Team.slug),
            )
            .where(HandOut.org == org, HandOut.assignment == name, HandOut.state == READY)
        )
        for login, repo in teamed:
            found.setdefault(login.lower(), repo)
    return found


async def handouts_of(sessions: async_sessionmaker, org: str, assignment: str) -> list[Handed]:
    async with sessions() as session:
        found = await session.execute(
            select(HandOut)
            .where(HandOut.org == org.lower(), HandOut.assignment == assignment)
            .order_by(HandOut.repo)
        )
        return [_handed(row) for row in found.scalars()]


async def of_student(sessions: async_sessionmaker, login: str) -> list[Handed]:
    """The repositories handed out to `login` (ready ones), in every org, newest first."""
    async with sessions() as session:
        found = await session.execute(
            select(HandOut)
            .where(HandOut.holder == login.lower(), HandOut.state == READY)
            .order_by(HandOut.id.desc())
        )
        return [_handed(row) for row in found.scalars()]


async def forget(sessions: async_sessionmaker, row_id: int, *, maker: str) -> None:
    """Drop a claim that must not be retried as it is (its name belongs to someone else)."""
    async with write_session(sessions) as session:
        await session.execute(delete(HandOut).where(HandOut.id == row_id, HandOut.maker == maker))


# -- locks at the cutoff, archives at the end of term -------------------------------------------


async def to_lock(sessions: async_sessionmaker) -> list[Handed]:
    """Ready hand-outs not locked yet (nor given back by a teacher)."""
    async with sessions() as session:
        found = await session.execute(
            select(HandOut).where(
                HandOut.state == READY, HandOut.locked_at.is_(None), HandOut.unlocked.is_(False)
            )
        )
        return [_handed(row) for row in found.scalars()]


async def mark_locked(sessions: async_sessionmaker, row_id: int, *, locked: bool) -> bool:
    """Claim the locking of one hand-out (`locked`), or give the claim back; False when another
    process has claimed it first."""
    async with write_session(sessions) as session:
        done = await session.execute(
            update(HandOut)
            .where(
                HandOut.id == row_id,
                HandOut.locked_at.is_(None) if locked else HandOut.locked_at.is_not(None),
            )
            .values(locked_at=utcnow() if locked else None)
        )
        return done.rowcount == 1


async def unlock_all(sessions: async_sessionmaker, org: str, assignment: str) -> list[Handed]:
    """A teacher gives access back: the locked hand-outs, marked never to be locked again."""
    async with write_session(sessions) as session:
        rows = list(
            (
                await session.execute(
                    select(HandOut).where(
                        HandOut.org == org.lower(),
                        HandOut.assignment == assignment,
                        HandOut.locked_at.is_not(None),
                    )
                )
            ).scalars()
        )
        for row in rows:
            row.locked_at, row.unlocked = None, True
        return [_handed(row) for row in rows]


async def set_archived(
    sessions: async_sessionmaker, org: str, assignment: str, *, archived: bool
) -> list[Handed]:
    async with write_session(sessions) as session:
        rows = list(
            (
                await session.execute(
                    select(HandOut).where(
                        HandOut.org == org.lower(),
                        HandOut.assignment == assignment,
                        HandOut.state == READY,
                    )
                )
            ).scalars()
        )
        for row in rows:
            row.archived_at = utcnow() if archived else None
        return [_handed(row) for row in rows]


async def log_action(
    sessions: async_sessionmaker, org: str, assignment: str, action: str, *, by: str, repos: int
) -> None:
    async with write_session(sessions) as session:
        session.add(
            HandOutAction(org=org.lower(), assignment=assignment, action=action, by=by, repos=repos)
        )


async def actions_of(sessions: async_sessionmaker, org: str, assignment: str) -> list[tuple]:
    """(action, by, repos, at) newest first."""
    async with sessions() as session:
        found = await session.execute(
            select(HandOutAction.action, HandOutAction.by, HandOutAction.repos, HandOutAction.at)
            .where(HandOutAction.org == org.lower(), HandOutAction.assignment == assignment)
            .order_by(HandOutAction.id.desc())
            .limit(20)
        )
        return [tuple(row) for row in found]
