"""What the insights pages read: an assignment's graded runs and jobs (with how the deadline
judged each and its timeline), the tests of chosen submissions, who holds which repository, one
repo's runs. Read-only, a few queries a page whatever the class size; only the columns needed,
and of the outcomes only the name, status and visibility of the tests of the submissions asked
for, taken out in SQL (never their outputs, never the logs)."""

from __future__ import annotations

import json
import sys
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, text

from ghapp.store.models import Job, Submission
from ghapp.store.reads import GRADED_RUN_COLUMNS, GradedRun, JobSeen

CHUNK = 500  # ids in one IN list: well under SQLite's limit on bound parameters
KEPT_SUBMISSIONS = 20_000  # whose tests a process keeps (a few MiB): forty assignments of 500
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # by database: id → its tests


@dataclass(frozen=True)
class JobTimed:
    """A job of an assignment: what the gradebook sees of it, how the deadline judged it
    (on_time, late, closed; None before intake or when it was not judged), and its timeline."""

    job_id: int
    repo: str
    state: str
    trigger: str
    sender: str | None
    received_at: datetime
    head_sha: str
    timing: str | None
    background: bool
    phases: dict | None

    def seen(self) -> JobSeen:
        return JobSeen(
            self.job_id,
            self.repo,
            self.state,
            self.trigger,
            self.sender,
            self.received_at,
            self.head_sha,
        )


_RUN_COLUMNS = GRADED_RUN_COLUMNS
_JOB_COLUMNS = (
    Job.id,
    Job.repo,
    Job.state,
    Job.trigger,
    Job.sender,
    Job.received_at,
    Job.head_sha,
    Job.timing,
    Job.background,
    Job.phases,
)


async def _read(sessions, *where) -> tuple[list[GradedRun], list[JobTimed]]:
    async with sessions() as session:
        runs = [
            GradedRun(*row)
            for row in await session.execute(
                select(*GRADED_RUN_COLUMNS)
                .join(Job, Job.id == Submission.job_id)
                .where(*where)
                .order_by(Submission.id)
            )
        ]
        jobs = [
            JobTimed(*row[:8], bool(row[8]), row[9] if isinstance(row[9], dict) else None)
            for row in await session.execute(select(*_JOB_COLUMNS).where(*where).order_by(Job.id))
        ]
    return runs, jobs


async def assignment_input(sessions, org: str, name: str) -> tuple[list[GradedRun], list[JobTimed]]:
    """Every graded run and every job of the assignment, oldest first."""
    return await _read(sessions, Job.owner == org, Job.assignment == name)


async def repo_input(
    sessions, org: str, name: str, repo: str
) -> tuple[list[GradedRun], list[JobTimed]]:
    """One repo's graded runs and jobs of the assignment, oldest first."""
    return await _read(sessions, Job.owner == org, Job.repo == repo, Job.assignment == name)


# Each test of the chosen submissions, taken apart in the database: only the few fields the
# pages count reach Python, never a test's output or the log (an outcome can hold megabytes).
# Entries that are not objects with a string name and status are left out (by the query on
# PostgreSQL, whose ->> makes text of anything; after it on SQLite, where each check costs).
_SQLITE_TESTS = """
SELECT s.id, json_extract(t.value, '$.name'), json_extract(t.value, '$.status'),
       json_extract(t.value, '$.visibility'){extra}
FROM submissions AS s, json_each(s.outcome, '$.tests') AS t
WHERE s.id IN :ids AND t.type = 'object'{where}
"""
_POSTGRESQL_TESTS = """
SELECT s.id, t.value ->> 'name', t.value ->> 'status',
       CASE WHEN json_typeof(t.value -> 'visibility') = 'string'
            THEN t.value ->> 'visibility' END{extra}
FROM submissions AS s
CROSS JOIN LATERAL json_array_elements(
    CASE WHEN json_typeof(s.outcome -> 'tests') = 'array' THEN s.outcome -> 'tests'
         ELSE '[]'::json END) AS t(value)
WHERE s.id IN :ids AND json_typeof(t.value) = 'object'
  AND json_typeof(t.value -> 'name') = 'string'
  AND json_typeof(t.value -> 'status') = 'string'{where}
"""


def _tests_query(dialect: str, *, whole: bool = False):
    """The tests of the submissions `:ids` (and, `whole`, only those named `:name`, each as its
    JSON text)."""
    sqlite = dialect == "sqlite"
    sql = _SQLITE_TESTS if sqlite else _POSTGRESQL_TESTS
    extra = (", t.value" if sqlite else ", t.value::text") if whole else ""
    where = ""
    if whole:
        where = (
            " AND json_extract(t.value, '$.name') = :name"
            if sqlite
            else " AND t.value ->> 'name' = :name"
        )
    return text(sql.format(extra=extra, where=where)).bindparams(bindparam("ids", expanding=True))


async def test_statuses(sessions, submission_ids) -> list[tuple[int, str, str, object]]:
    """(submission id, test name, status, visibility as stored) of every test of these
    submissions. A stored outcome never changes: each process keeps what it read of the last
    `KEPT_SUBMISSIONS` submissions and asks the database only for the others."""
    kept = _kept.setdefault(sessions, OrderedDict())
    ids = sorted(set(submission_ids))
    missing = [i for i in ids if i not in kept]
    if missing:
        read: dict[int, list] = {i: [] for i in missing}
        async with sessions() as session:
            query = _tests_query(session.bind.dialect.name)
            for start in range(0, len(missing), CHUNK):
                rows = await session.execute(query, {"ids": missing[start : start + CHUNK]})
                for id_, name, status, visibility in rows:
                    if isinstance(name, str) and isinstance(status, str):
                        read[id_].append((id_, sys.intern(name), sys.intern(status), visibility))
        kept.update((i, tuple(tests)) for i, tests in read.items())
    found: list[tuple[int, str, str, object]] = []
    for i in ids:
        kept.move_to_end(i)
        found.extend(kept[i])
    while len(kept) > KEPT_SUBMISSIONS:
        kept.popitem(last=False)
    return found


async def tests_named(sessions, submission_ids, name: str) -> dict[int, list]:
    """The stored entries (parsed JSON) of the tests named `name` in these submissions."""
    ids = sorted(set(submission_ids))
    found: dict[int, list] = {}
    async with sessions() as session:
        query = _tests_query(session.bind.dialect.name, whole=True)
        for start in range(0, len(ids), CHUNK):
            chunk = {"ids": ids[start : start + CHUNK], "name": name}
            for id_, *_, whole in await session.execute(query, chunk):
                found.setdefault(id_, []).append(json.loads(whole))
    return found
