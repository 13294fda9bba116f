"""Deliveries: a webhook delivery stored with the jobs and facts it implies, in one
transaction, at most once per delivery id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghapp.core import events
from ghapp.store import jobs, notify
from ghapp.store.db import dialect_insert, write_session
from ghapp.store.models import (
    Delivery,
    Installation,
    Job,
    Repository,
    utcnow,
)


async def ingest(
    sessions: async_sessionmaker,
    *,
    guid: str,
    event: str,
    action: str | None,
    decisions: list[events.Decision],
    received_at: datetime | None = None,
) -> list[int] | None:
    """Store the delivery and everything it implies in one transaction.

    Returns the new job ids, or None when this delivery GUID was stored before (a redelivery),
    in which case nothing is written.
    """
    received_at = received_at or utcnow()
    async with write_session(sessions) as session:
        inserted = await session.execute(
            dialect_insert(session)(Delivery)
            .values(guid=guid, event=event, action=action, received_at=received_at, result="")
            .on_conflict_do_nothing(index_elements=["guid"])
        )
        if inserted.rowcount == 0:
            return None
        jobs: list[Job] = []
        notes: list[str] = []
        installation_id = None
        for decision in decisions:
            match decision:
                case events.GradeRequest():
                    installation_id = decision.installation_id
                    jobs.append(_job(decision, guid, received_at))
                case events.InstallationSeen():
                    installation_id = decision.installation_id
                    await _remember_installation(session, decision)
                    notes.append(f"installation {decision.installation_id} remembered")
                case events.InstallationGone():
                    installation_id = decision.installation_id
                    await session.execute(
                        delete(Repository).where(
                            Repository.installation_id == decision.installation_id
                        )
                    )
                    await session.execute(
                        delete(Installation).where(Installation.id == decision.installation_id)
                    )
                    notes.append(f"installation {decision.installation_id} forgotten")
                case events.InstallationSuspended():
                    installation_id = decision.installation_id
                    await session.execute(
                        update(Installation)
                        .where(Installation.id == decision.installation_id)
                        .values(suspended_at=received_at if decision.suspended else None)
                    )
                    notes.append("suspended" if decision.suspended else "unsuspended")
                case events.RepositoriesRemoved():
                    installation_id = decision.installation_id
                    await session.execute(
                        delete(Repository).where(Repository.id.in_(decision.repository_ids))
                    )
                    notes.append(f"{len(decision.repository_ids)} repositories forgotten")
                case events.Ignore():
                    notes.append(f"ignored: {decision.reason}")
        if jobs:
            notes.append(f"{len(jobs)} job{'s' if len(jobs) > 1 else ''} queued")
        delivery = await session.get(Delivery, guid)
        delivery.result = "; ".join(notes)[:255]
        delivery.installation_id = installation_id
        session.add_all(jobs)
        await session.flush()
        if jobs:
            await notify.announce(session)
        return [job.id for job in jobs]


def _job(request: events.GradeRequest, guid: str, received_at: datetime) -> Job:
    return jobs.received(
        request,
        trigger=request.trigger,
        sender=request.sender,
        received_at=received_at,
        delivery_guid=guid,
    )


async def _remember_installation(session: AsyncSession, seen: events.InstallationSeen) -> None:
    """Upserts, not read-then-insert: two deliveries introducing one installation at once (on
    PostgreSQL, where they really run at once) must both be stored."""
    insert = dialect_insert(session)
    statement = insert(Installation).values(
        id=seen.installation_id,
        account_login=seen.account_login,
        account_type=seen.account_type,
        created_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"account_login": statement.excluded.account_login}
        )
    )
    for repo_id, full_name, private in seen.repositories:
        owner, _, name = full_name.partition("/")
        statement = insert(Repository).values(
            id=repo_id,
            installation_id=seen.installation_id,
            owner=owner,
            name=name,
            default_branch="main",
            private=private,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={"owner": statement.excluded.owner, "name": statement.excluded.name},
            )
        )


async def stored(sessions: async_sessionmaker, guids: list[str]) -> set[str]:
    """Which of these delivery ids are stored (asked 500 at a time)."""
    found: set[str] = set()
    async with sessions() as session:
        for start in range(0, len(guids), 500):
            chunk = guids[start : start + 500]
            rows = await session.execute(select(Delivery.guid).where(Delivery.guid.in_(chunk)))
            found.update(rows.scalars())
    return found


async def first_account(sessions: async_sessionmaker) -> str | None:
    """The account of the installation made first or, when none was recorded, the owner of the
    first push ever received."""
    async with sessions() as session:
        found = await session.scalar(
            select(Installation.account_login)
            .order_by(Installation.created_at, Installation.id)
            .limit(1)
        )
        if found is None:
            found = await session.scalar(select(Job.owner).order_by(Job.id).limit(1))
    return found
