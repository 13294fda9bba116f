"""An org's roster in the database: imported whole or not at all, listed for its teachers, and
linked to GitHub logins (by the teacher's file, or once by the student on their first accept;
a teacher can unlink)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.core.roster import Roster, RosterError
from ghapp.store.db import write_session
from ghapp.store.models import RosterStudent, utcnow


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    unchanged: int
    linked: int  # students with a GitHub login after the import


@dataclass(frozen=True)
class Listed:
    identifier: str
    name: str
    section: str
    login: str | None
    linked_at: datetime | None
    linked_by: str | None


async def import_roster(
    sessions: async_sessionmaker, org: str, roster: Roster, *, by: str
) -> Imported:
    """Merge `roster` into `org`'s: new students added; the file's name, section and login win
    for students already there (a login the file leaves empty keeps a student's link); nobody
    is removed. One transaction: a login linked to another student refuses the whole file."""
    org = org.lower()
    async with write_session(sessions) as session:
        rows = {
            row.identifier_key: row
            for row in (
                await session.execute(select(RosterStudent).where(RosterStudent.org == org))
            ).scalars()
        }
        from_file = {s.identifier.casefold(): s for s in roster.students}
        # The login each student has once the file is merged; two students may not share one.
        final = {key: row.login for key, row in rows.items()}
        final |= {key: s.login for key, s in from_file.items() if s.login is not None}
        final |= {key: None for key in from_file.keys() - final.keys()}
        holders: dict[str, str] = {}
        problems = []
        for key, login in final.items():
            if login is None:
                continue
            if login in holders:
                first, second = sorted((holders[login], key))
                shown = [
                    (from_file[k].identifier if k in from_file else rows[k].identifier)
                    for k in (first, second)
                ]
                problems.append(
                    f"GitHub login {login!r} would belong to both {shown[0]} and {shown[1]} "
                    "(unlink it from one of them first)"
                )
            holders[login] = key
        if problems:
            raise RosterError(sorted(problems))
        added = updated = unchanged = 0
        now = utcnow()
        moving = [
            row for key, row in rows.items() if row.login is not None and row.login != final[key]
        ]
        for row in moving:  # first let go of the logins that move, or the unique index objects
            row.login = None
        if moving:
            await session.flush()
        for key, student in from_file.items():
            row = rows.get(key)
            if row is None:
                row = RosterStudent(org=org, identifier=student.identifier, identifier_key=key)
                session.add(row)
                added += 1
            before = (
                row.identifier,
                row.name,
                row.section,
                rows[key].login if key in rows else None,
            )
            row.identifier, row.name, row.section = (
                student.identifier,
                student.name,
                student.section,
            )
            if student.login is not None:
                if before[3] != student.login:
                    row.linked_at, row.linked_by = now, f"roster import by {by}"
                row.login = student.login
                row.github_id = student.github_id
            elif key in rows:
                row.login = final[key]
            if key not in rows:
                continue
            after = (row.identifier, row.name, row.section, row.login)
            if after != before:
                updated += 1
            else:
                unchanged += 1
        await session.flush()
        linked = sum(1 for login in final.values() if login)
    return Imported(added=added, updated=updated, unchanged=unchanged, linked=linked)


async def roster_of(sessions: async_sessionmaker, org: str) -> list[Listed]:
    """`org`'s students by section, then identifier."""
    async with sessions() as session:
        found = await session.execute(
            select(
                RosterStudent.identifier,
                RosterStudent.name,
                RosterStudent.section,
                RosterStudent.login,
                RosterStudent.linked_at,
                RosterStudent.linked_by,
            )
            .where(RosterStudent.org == org.lower())
            .order_by(RosterStudent.section, RosterStudent.identifier_key)
        )
        return [Listed(*row) for row in found]


async def unlink(sessions: async_sessionmaker, org: str, identifier: str) -> bool:
    """Forget the GitHub login of `org`'s student `identifier`; False when there is none."""
    async with write_session(sessions) as session:
        row = await session.scalar(
            select(RosterStudent).where(
                RosterStudent.org == org.lower(),
                RosterStudent.identifier_key == identifier.casefold(),
            )
        )
        if row is None or row.login is None:
            return False
        row.login, row.github_id, row.linked_at, row.linked_by = None, None, None, None
        return True


async def student_of(sessions: async_sessionmaker, org: str, login: str) -> Listed | None:
    """`org`'s student whose GitHub login is `login`, if any."""
    async with sessions() as session:
        row = await session.scalar(
            select(RosterStudent).where(
                RosterStudent.org == org.lower(), RosterStudent.login == login.lower()
            )
        )
        if row is None:
            return None
        return Listed(
            row.identifier, row.name, row.section, row.login, row.linked_at, row.linked_by
        )


async def link(
    sessions: async_sessionmaker, org: str, identifier: str, login: str, github_id: int
) -> bool:
    """A student's first accept: link `login` to the roster's `identifier`, once — only to an
    identifier no login is linked to yet, and only a login linked to no one. False otherwise."""
    try:
        async with write_session(sessions) as session:
            done = await session.execute(
                update(RosterStudent)
                .where(
                    RosterStudent.org == org.lower(),
                    RosterStudent.identifier_key == identifier.strip().casefold(),
                    RosterStudent.login.is_(None),
                )
                .values(
                    login=login.lower(),
                    github_id=github_id,
                    linked_at=utcnow(),
                    linked_by="the student, on accepting",
                )
            )
            return done.rowcount == 1
    except IntegrityError:  # the login is linked to another identifier already
        return False


async def orgs_of(sessions: async_sessionmaker, login: str) -> list[str]:
    """The orgs whose roster links `login` (lower-case)."""
    async with sessions() as session:
        found = await session.scalars(
            select(RosterStudent.org).where(RosterStudent.login == login.lower()).distinct()
        )
        return sorted(found)
