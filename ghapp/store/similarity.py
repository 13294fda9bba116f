"""Similarity reports: which assignments' reports are out of date, the lease on refreshing one,
the code of the commits they compare (downloaded once per commit), the results, and what the
dashboard reads of them. A report compares each repo's latest graded commit, the one the
gradebook's "latest" is."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ghapp.core.similarity import MAX_SUBMISSION_CHARS, Pair, SourceFile, capped
from ghapp.store import lease
from ghapp.store.db import dialect_insert, write_session
from ghapp.store.models import (
    Job,
    JobState,
    SimilarityPair,
    SimilarityReport,
    SimilaritySource,
    Submission,
    utcnow,
)

REFRESH_EVERY_S = 300.0  # a report is refreshed for new commits at most this often …
QUIET_S = 60.0  # … once no new commit has come for this long (pushes come in bursts) …
STALE_AT_MOST_S = 1800.0  # … or, however steadily they come, once it is this much out of date
ASKED_EVERY_S = 30.0  # a teacher's "Refresh now", at most this often
_MAX_PACKED = MAX_SUBMISSION_CHARS * 4 + 64 * 1024  # a stored bundle, inflated (UTF-8, JSON)


@dataclass(frozen=True)
class Latest:
    """A repo's latest graded commit of an assignment, and the installation that graded it."""

    repo: str
    sha: str
    installation_id: int


async def newly_graded(sessions: async_sessionmaker, after: int) -> tuple[list[tuple], int]:
    """The (owner, assignment) of every assignment graded since submission `after`, and the
    newest submission's id (`after` when there is none)."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(Job.owner, Job.assignment, func.max(Submission.id))
                .join(Job, Job.id == Submission.job_id)
                .where(Submission.id > after, Job.assignment.is_not(None))
                .group_by(Job.owner, Job.assignment)
            )
        ).all()
    newest = max((row[2] for row in found), default=after)
    return [(owner, assignment) for owner, assignment, _ in found], newest


async def latest_commits(sessions: async_sessionmaker, owner: str, assignment: str) -> list[Latest]:
    """Each repo's latest graded commit of the assignment, newest first: as the gradebook's
    `standing_runs` has it, the commit first graded last (a regrade of an older commit does
    not make it the latest)."""
    async with sessions() as session:
        found = await session.execute(
            select(
                Submission.repo,
                Submission.head_sha,
                func.min(Submission.id),
                func.max(Job.installation_id),
            )
            .join(Job, Job.id == Submission.job_id)
            .where(Job.owner == owner, Job.assignment == assignment)
            .group_by(Submission.repo, Submission.head_sha)
        )
        newest: dict[str, tuple[int, Latest]] = {}
        for repo, sha, first, installation_id in found:
            if repo not in newest or first > newest[repo][0]:
                newest[repo] = (first, Latest(repo, sha, installation_id))
    return [latest for _, latest in sorted(newest.values(), key=lambda v: -v[0])]


async def note_latest(
    sessions: async_sessionmaker, org: str, assignment: str, commits: dict[str, str]
) -> bool:
    """The assignment's latest commits are `commits`: when they are not the report's, it is out
    of date from now (or from when it already was). True when it is."""
    async with sessions() as session:  # most often they are: a read, no write
        found = await session.scalar(_report(org, assignment))
        if found is not None and found.commits == commits:
            return False
    now = utcnow()
    async with write_session(sessions) as session:
        await _ensure(session, org, assignment)
        report = await session.scalar(_report(org, assignment))
        if report.commits == commits:
            return False
        report.stale_since = report.stale_since or now
        report.changed_at = now
    return True


async def request_refresh(sessions: async_sessionmaker, org: str, assignment: str, *, by: str):
    """A teacher asks for the report to be computed again (by a worker, soon)."""
    r = SimilarityReport
    named = select(r).where(func.lower(r.org) == org.lower(), r.assignment == assignment)
    async with write_session(sessions) as session:
        report = await session.scalar(named.limit(1))
        if report is None:
            await _ensure(session, org, assignment)
            report = await session.scalar(_report(org, assignment))
        report.requested_at = report.requested_at or utcnow()
        report.requested_by = by


async def _ensure(session, org: str, assignment: str) -> None:
    await session.execute(
        dialect_insert(session)(SimilarityReport)
        .values(
            org=org,
            assignment=assignment,
            commits={},
            submissions=0,
            compared=0,
            below=0.0,
            skipped=[],
            problem="",
        )
        .on_conflict_do_nothing(index_elements=["org", "assignment"])
    )


def _report(org: str, assignment: str):
    return select(SimilarityReport).where(
        SimilarityReport.org == org, SimilarityReport.assignment == assignment
    )


async def grading_waiting(sessions: async_sessionmaker, *, since: datetime) -> bool:
    """Whether pushes received since `since` wait to be graded, or are being graded (a job
    retrying its download, say): similarity waits for them, and takes none of their calls."""
    waiting = [str(JobState.RECEIVED), str(JobState.QUEUED), str(JobState.RUNNING)]
    async with sessions() as session:
        return bool(
            await session.scalar(
                select(exists().where(Job.state.in_(waiting), Job.received_at >= since))
            )
        )


async def claim_due(
    sessions: async_sessionmaker, *, worker: str, lease_s: float
) -> SimilarityReport | None:
    """The report most out of date that is due a refresh, held by `worker` for `lease_s`."""
    now = utcnow()
    r = SimilarityReport
    recent = r.computed_at > now - timedelta(seconds=REFRESH_EVERY_S)
    changed = (
        r.stale_since.is_not(None)
        & (r.computed_at.is_(None) | ~recent)
        & (
            (r.changed_at <= now - timedelta(seconds=QUIET_S))
            | (r.stale_since <= now - timedelta(seconds=STALE_AT_MOST_S))
        )
    )
    asked = r.requested_at.is_not(None) & (
        r.computed_at.is_(None) | (r.computed_at <= now - timedelta(seconds=ASKED_EVERY_S))
    )
    candidate = (
        select(r.id)
        .where(lease.free(r.lease_until, now), or_(asked, changed))
        .order_by(r.requested_at.is_(None), func.coalesce(r.requested_at, r.stale_since), r.id)
        .limit(1)
    )
    return await lease.claim(
        sessions,
        r,
        candidate,
        lease_owner=worker,
        lease_until=now + timedelta(seconds=lease_s),
        claimed_at=now,
    )


async def renew(sessions: async_sessionmaker, report_id: int, *, worker: str, lease_s: float):
    """Hold the report longer; False when another worker holds it now."""
    async with write_session(sessions) as session:
        done = await session.execute(
            update(SimilarityReport)
            .where(SimilarityReport.id == report_id, SimilarityReport.lease_owner == worker)
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
        )
    return done.rowcount == 1


# -- the code of the commits compared ----------------------------------------------------------


def pack(files: Iterable[SourceFile]) -> bytes:
    """A commit's files as they are stored (compressed JSON)."""
    return zlib.compress(json.dumps([[f.path, f.text] for f in files]).encode(), 6)


def unpack(blob: bytes | None) -> tuple[SourceFile, ...]:
    """What `pack` made; nothing from anything else (a damaged or oversized row)."""
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(blob or b"", _MAX_PACKED)
        items = json.loads(raw) if raw and not inflate.unconsumed_tail else []
    except (zlib.error, ValueError):
        return ()
    return capped(
        SourceFile(item[0], item[1])
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)
    )


@dataclass(frozen=True)
class Source:
    files: tuple[SourceFile, ...]
    problem: str  # why there are none ("" when there are)


async def sources(
    sessions: async_sessionmaker, owner: str, commits: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Source]:
    """The stored code of each (repo, sha) of `owner` that has been downloaded (a report asks
    for a few hundred at most: `MAX_SUBMISSIONS`)."""
    wanted = set(commits)
    s = SimilaritySource
    async with sessions() as session:
        rows = await session.execute(
            select(s.repo, s.commit_sha, s.files, s.problem).where(
                s.owner == owner, s.commit_sha.in_(sorted({sha for _, sha in wanted}))
            )
        )
        return {
            (repo, sha): Source(unpack(blob), problem)
            for repo, sha, blob, problem in rows
            if (repo, sha) in wanted
        }


async def keep_source(
    sessions: async_sessionmaker,
    owner: str,
    repo: str,
    sha: str,
    files: Sequence[SourceFile],
    *,
    problem: str = "",
) -> None:
    async with write_session(sessions) as session:
        await session.execute(
            dialect_insert(session)(SimilaritySource)
            .values(
                owner=owner,
                repo=repo,
                commit_sha=sha,
                files=pack(files),
                file_count=len(files),
                problem=problem[:500],
                fetched_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["owner", "repo", "commit_sha"])
        )


async def drop_sources(
    sessions: async_sessionmaker, owner: str, repos: Iterable[str], keep: set[tuple[str, str]]
) -> None:
    """Forget the code of these repos' commits that a report no longer compares."""
    s = SimilaritySource
    async with write_session(sessions) as session:
        rows = await session.execute(
            select(s.id, s.repo, s.commit_sha).where(s.owner == owner, s.repo.in_(sorted(repos)))
        )
        old = [id_ for id_, repo, sha in rows if (repo, sha) not in keep]
        if old:
            await session.execute(delete(s).where(s.id.in_(old)))


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    commits: dict[str, str]  # repo → sha, every repo with a graded commit
    template: str | None
    template_sha: str | None
    compared: int
    below: float
    pairs: Sequence[Pair] | None  # None: the last report's stay (this refresh failed)
    skipped: list[list[str]]  # [repo, why]
    problem: str = ""
    complete: bool = True  # False: some code could not be had this time; try again later


async def save(
    sessions: async_sessionmaker, report: SimilarityReport, *, worker: str, computed: Computed
) -> bool:
    """Store a refreshed report and let go of it; False (nothing stored) when the lease was
    lost meanwhile. What changed after it was claimed keeps it out of date."""
    now = utcnow()
    claimed = report.claimed_at or now
    r = SimilarityReport
    async with write_session(sessions) as session:
        ours = await session.execute(
            update(r)
            .where(r.id == report.id, r.lease_owner == worker)
            .values(
                lease_owner=None,
                lease_until=None,
                computed_at=now,
                commits=computed.commits,
                template=computed.template,
                template_sha=computed.template_sha,
                submissions=len(computed.commits),
                compared=computed.compared,
                below=computed.below,
                skipped=computed.skipped,
                problem=computed.problem[:2000],
            )
        )
        if ours.rowcount != 1:
            return False
        settled = r.changed_at.is_(None) | (r.changed_at <= claimed)
        if computed.complete:
            await session.execute(
                update(r)
                .where(r.id == report.id, settled)
                .values(stale_since=None, changed_at=None)
            )
        asked = r.requested_at.is_not(None) & (r.requested_at <= claimed)
        await session.execute(
            update(r).where(r.id == report.id, asked).values(requested_at=None, requested_by=None)
        )
        if computed.pairs is None:
            return True
        await session.execute(delete(SimilarityPair).where(SimilarityPair.report_id == report.id))
        session.add_all(
            SimilarityPair(
                report_id=report.id,
                rank=rank,
                repo_a=pair.a,
                sha_a=computed.commits.get(pair.a, ""),
                repo_b=pair.b,
                sha_b=computed.commits.get(pair.b, ""),
                similarity_a=pair.similarity_a,
                similarity_b=pair.similarity_b,
                tokens=pair.tokens,
                fragments=[asdict(f) for f in pair.fragments],
            )
            for rank, pair in enumerate(computed.pairs, start=1)
        )
    return True


# -- what the dashboard reads ----------------------------------------------------------------


async def report_of(
    sessions: async_sessionmaker, org: str, assignment: str
) -> SimilarityReport | None:
    r = SimilarityReport
    async with sessions() as session:
        return await session.scalar(
            select(r).where(func.lower(r.org) == org.lower(), r.assignment == assignment).limit(1)
        )


_LISTED = [c for c in SimilarityPair.__table__.c if c.name != "fragments"]


async def pairs_of(sessions: async_sessionmaker, report_id: int) -> list:
    """The report's pairs, most similar first, without their fragments."""
    async with sessions() as session:
        found = await session.execute(
            select(*_LISTED)
            .where(SimilarityPair.report_id == report_id)
            .order_by(SimilarityPair.rank)
        )
        return list(found.all())


async def pair_of(
    sessions: async_sessionmaker, report_id: int, pair_id: int
) -> SimilarityPair | None:
    """One pair of this report, with its fragments; None when it is not this report's."""
    async with sessions() as session:
        return await session.scalar(
            select(SimilarityPair).where(
                SimilarityPair.report_id == report_id, SimilarityPair.id == pair_id
            )
        )
