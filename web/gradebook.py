"""The gradebook of one assignment, from its graded runs and its jobs: one row per student repo,
and the CSV a spreadsheet or an LMS imports. Pure functions over rows already read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ghapp.core.config import ChosenScore
from ghapp.core.events import Trigger
from ghapp.store.models import JobState
from ghapp.store.reads import GradedRun, JobSeen, Standing

IN_FLIGHT = (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)
CSV_COLUMNS = ("repo", "login", "score", "max", "late", "attempts", "graded_at")


@dataclass(frozen=True)
class GradebookRow:
    repo: str
    login: str  # who pushed last (a repo of GitHub Classroom's is one student's)
    latest: GradedRun | None  # the newest commit's newest grading: the score that stands
    best: GradedRun | None  # the highest of each commit's newest grading
    attempts: int  # commits graded
    last_push: datetime | None
    last_job_id: int | None
    last_sha: str | None
    in_flight: bool  # a push of this repo is waiting or being graded

    @property
    def late(self) -> bool:
        return self.latest is not None and self.latest.late

    def chosen(self, which: ChosenScore) -> GradedRun | None:
        """The graded run whose score is the grade: the latest, or the best (`chosen_score`)."""
        return self.best if which is ChosenScore.BEST else self.latest


def rows(runs: Iterable[GradedRun], jobs: Iterable[JobSeen]) -> list[GradebookRow]:
    """One row per repo that has a job or a graded run, by repo name."""
    by_repo_runs: dict[str, list[GradedRun]] = {}
    for run in runs:
        by_repo_runs.setdefault(run.repo, []).append(run)
    by_repo_jobs: dict[str, list[JobSeen]] = {}
    for job in jobs:
        by_repo_jobs.setdefault(job.repo, []).append(job)
    table = []
    for repo in sorted(by_repo_runs.keys() | by_repo_jobs.keys(), key=str.lower):
        graded = sorted(by_repo_runs.get(repo, []), key=lambda r: r.submission_id)
        seen = sorted(by_repo_jobs.get(repo, []), key=lambda j: j.job_id)
        pushes = [j for j in seen if j.trigger == Trigger.PUSH]
        standing = standing_runs(graded)
        scored = [r for r in standing if r.score is not None]
        last = seen[-1] if seen else None
        table.append(
            GradebookRow(
                repo=repo,
                login=next((j.sender for j in reversed(pushes) if j.sender), "")
                or next((j.sender for j in reversed(seen) if j.sender), ""),
                latest=standing[-1] if standing else None,
                best=max(scored, key=lambda r: (r.score, r.submission_id)) if scored else None,
                attempts=len({r.head_sha for r in graded}),
                last_push=max((j.received_at for j in pushes), default=None),
                last_job_id=last.job_id if last else None,
                last_sha=last.head_sha if last else None,
                in_flight=any(j.state in IN_FLIGHT for j in seen),
            )
        )
    return table


def standing_runs(graded: list[GradedRun]) -> list[GradedRun]:
    """Each commit's newest grading (a regrade replaces the commit's score, never adds one beside
    it), in the order the commits were first graded: the last is the newest commit's."""
    first: dict[str, int] = {}
    newest: dict[str, GradedRun] = {}
    for run in sorted(graded, key=lambda r: r.submission_id):
        first.setdefault(run.head_sha, run.submission_id)
        newest[run.head_sha] = run
    return sorted(newest.values(), key=lambda r: first[r.head_sha])


def number(value: float | None) -> str:
    """2.5, 5 (not 5.0), '' for none."""
    if value is None:
        return ""
    rounded = round(value, 4)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def cell(text: str) -> str:
    """Text as a CSV cell every export writes: one a spreadsheet would run as a formula (it
    starts with = + - @, tab or CR) is kept text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(table: Iterable[GradebookRow], chosen: ChosenScore = ChosenScore.LATEST) -> str:
    """Header and one line per repo: repo, login, score (the chosen graded run's — the latest,
    or the best under `chosen_score: best` — after any late penalty), max, late (yes/no),
    attempts (commits graded), graded_at (UTC, ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in table:
        latest = row.chosen(chosen)
        writer.writerow(
            [
                cell(row.repo),
                cell(row.login),
                number(latest.score) if latest else "",
                number(latest.max_score) if latest else "",
                ("yes" if latest.late else "no") if latest else "",
                row.attempts,
                latest.graded_at.strftime("%Y-%m-%dT%H:%M:%SZ") if latest else "",
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class Leaderboard:
    """Columns (entry names, first seen first) and rows ranked by the first column: numbers
    high first (or low first, when its entries say `asc`), then text values, then none."""

    columns: list[str]
    ascending: bool
    rows: list[tuple[int, Standing, str, dict[str, float | str]]]  # rank, run, login, values


def leaderboard(standings: Iterable[Standing], logins: dict[str, str]) -> Leaderboard:
    columns: list[str] = []
    orders: dict[str, str] = {}
    entries: list[tuple[Standing, dict[str, float | str]]] = []
    for standing in standings:
        values: dict[str, float | str] = {}
        for entry in standing.entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            name, value = entry["name"], entry.get("value")
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                continue
            if name not in orders:
                columns.append(name)
                orders[name] = "asc" if entry.get("order") == "asc" else "desc"
            values.setdefault(name, value)
        if values:
            entries.append((standing, values))
    if not columns:
        return Leaderboard([], False, [])
    first, ascending = columns[0], orders[columns[0]] == "asc"

    def key(item: tuple[Standing, dict[str, float | str]]) -> tuple:
        value = item[1].get(first)
        if isinstance(value, int | float):
            return (0, value if ascending else -value, "", item[0].repo.lower())
        if isinstance(value, str):
            return (1, 0, value, item[0].repo.lower())
        return (2, 0, "", item[0].repo.lower())

    ranked = []
    for rank, (standing, values) in enumerate(sorted(entries, key=key), start=1):
        ranked.append((rank, standing, logins.get(standing.repo, ""), values))
    return Leaderboard(columns, ascending, ranked)


@dataclass(frozen=True)
class StudentRow:
    """A roster student and their repository's row (None: they have no repository yet)."""

    identifier: str
    name: str
    section: str
    login: str | None
    row: GradebookRow | None
    handed: str | None = None  # their repository, handed out, when nothing is graded there yet


def by_student(
    table: Iterable[GradebookRow], roster: Iterable, handed: dict[str, str]
) -> tuple[list[StudentRow], list[GradebookRow]]:
    """The gradebook by roster student (section, then identifier): each with the repository
    handed out to them (`handed`: login → repo) or, failing that, the one they pushed last;
    students with none are shown missing. Also the repos no roster student holds."""
    rows = {row.repo.lower(): row for row in table}
    by_pusher: dict[str, GradebookRow] = {}
    for row in rows.values():
        if row.login:
            by_pusher.setdefault(row.login.lower(), row)
    students, claimed = [], set()
    for student in roster:
        login = (student.login or "").lower() or None
        row = None
        if login is not None:
            repo = handed.get(login)
            row = rows.get(repo.lower()) if repo else None
            row = row or by_pusher.get(login)
        if row is not None:
            claimed.add(row.repo.lower())
        repo = handed.get(login) if login is not None and row is None else None
        students.append(
            StudentRow(student.identifier, student.name, student.section, login, row, repo)
        )
    others = [row for key, row in rows.items() if key not in claimed]
    return students, sorted(others, key=lambda r: r.repo.lower())
