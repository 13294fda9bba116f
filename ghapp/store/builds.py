"""Grader builds' rows: one per grader commit and Docker engine, claimed under a lease by the
worker that builds it, so one engine builds each commit once however many jobs ask at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.store.db import dialect_insert, write_session
from ghapp.store.models import GraderBuild, utcnow


async def find(
    sessions: async_sessionmaker, grader: str, sha: str, engine: str
) -> GraderBuild | None:
    async with sessions() as session:
        return await session.scalar(
            select(GraderBuild).where(
                GraderBuild.grader == grader,
                GraderBuild.commit_sha == sha,
                GraderBuild.engine == engine,
            )
        )


async def claim_new(
    sessions: async_sessionmaker,
    grader: str,
    sha: str,
    engine: str,
    tag: str,
    *,
    builder: str,
    lease_s: float,
) -> bool:
    """Claim the build of a commit nobody has built on this engine; False when another worker
    was first."""
    async with write_session(sessions) as session:
        inserted = await session.execute(
            dialect_insert(session)(GraderBuild)
            .values(
                grader=grader,
                commit_sha=sha,
                engine=engine,
                state="building",
                tag=tag,
                builder=builder,
                lease_until=utcnow() + timedelta(seconds=lease_s),
                attempts=1,
                failed_step="",
                error="",
                log_tail="",
                started_at=utcnow(),
            )
            .on_conflict_do_nothing(
                index_elements=["grader", "commit_sha", "engine"],
            )
        )
        return inserted.rowcount == 1


async def take_over(
    sessions: async_sessionmaker,
    build_id: int,
    *,
    builder: str,
    lease_s: float,
    failed_retry_s: float,
) -> bool:
    """Claim a build whose builder died, that failed a while ago, or whose image is gone."""
    now = utcnow()
    retry_before = now - timedelta(seconds=failed_retry_s)
    async with write_session(sessions) as session:
        taken = await session.execute(
            update(GraderBuild)
            .where(
                GraderBuild.id == build_id,
                or_(
                    GraderBuild.state == "built",
                    and_(GraderBuild.state == "failed", GraderBuild.finished_at < retry_before),
                    and_(GraderBuild.state == "building", GraderBuild.lease_until < now),
                ),
            )
            .values(
                state="building",
                builder=builder,
                lease_until=now + timedelta(seconds=lease_s),
                attempts=GraderBuild.attempts + 1,
                started_at=now,
                finished_at=None,
            )
        )
        return taken.rowcount == 1


async def record(
    sessions: async_sessionmaker, grader: str, sha: str, engine: str, builder: str, values: dict
) -> None:
    """What the builder says of its build (its lease, or how it ended); nothing when another
    worker holds it now."""
    if "state" in values:
        values = {**values, "finished_at": utcnow(), "lease_until": None}
    async with write_session(sessions) as session:
        await session.execute(
            update(GraderBuild)
            .where(
                GraderBuild.grader == grader,
                GraderBuild.commit_sha == sha,
                GraderBuild.engine == engine,
                GraderBuild.builder == builder,
            )
            .values(**values)
        )
