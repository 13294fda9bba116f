"""Grades out: the gradebook as the files an LMS imports — Canvas's gradebook import CSV,
Moodle's grade import CSV — and as GitHub Classroom's own grades CSV, for the scripts that read
it. Pure functions over the gradebook's rows.

Each grade is the assignment's chosen score (`chosen_score`: the latest commit's, or the best of
each commit's newest grading), as stored: a late push's penalty is already taken off. Canvas and
Moodle match students by the school's identifier, so their files list the roster's students
(a student with nothing graded has an empty cell: the LMS leaves that grade alone); Classroom's
lists every repository, with the roster identifier where one is linked.

The layouts, as each importer reads them:
- Canvas (`GradebookImporter`): a header `Student, ID, SIS User ID, SIS Login ID, Section`, then
  one column per assignment (a new title makes a new assignment); a row whose first cell says
  `Points Possible` sets the points; students are matched by Canvas ID, else SIS User ID, else
  SIS Login ID, else name. We know no Canvas ID: the identifier goes in both SIS columns.
- Moodle (grade import, CSV): the layout of its own export, `First name, Last name, ID number,
  Institution, Department, Email address`, a grade column and its feedback column; the teacher
  maps "ID number" (or "Email address") to the user field on import.
- Classroom: `assignment_name, assignment_url, starter_code_url, github_username,
  roster_identifier, student_repository_name, student_repository_url, submission_timestamp,
  points_awarded, points_available`, and `group_name` for a group assignment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from ghapp.core.config import ChosenScore
from ghapp.store.reads import GradedRun
from web.gradebook import GradebookRow, StudentRow, cell, number

FORMATS = ("canvas", "moodle", "classroom")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = (
    "First name", "Last name", "ID number", "Institution", "Department", "Email address",
)  # fmt: skip
CLASSROOM_COLUMNS = (
    "assignment_name", "assignment_url", "starter_code_url", "github_username",
    "roster_identifier", "student_repository_name", "student_repository_url",
    "submission_timestamp", "points_awarded", "points_available",
)  # fmt: skip


@dataclass(frozen=True)
class Assignment:
    """What the files say of the assignment itself."""

    org: str
    name: str
    chosen: ChosenScore
    url: str  # where its students start (the accept link) or its gradebook
    starter_code_url: str  # the template repository, when it hands one out
    github_url: str  # https://github.com, or a GitHub Enterprise Server's
    teams: bool  # a group assignment: Classroom's file gains group_name


def chosen_score(config: dict) -> ChosenScore:
    """The stored config's `chosen_score` (left out while at its default: the latest)."""
    try:
        return ChosenScore(config.get("chosen_score") or ChosenScore.LATEST)
    except ValueError:
        return ChosenScore.LATEST


def points_possible(runs: Iterable[GradedRun | None]) -> float | None:
    """The points the assignment is out of: what most graded runs say (ties: the highest)."""
    counts: dict[float, int] = {}
    for run in runs:
        if run is not None and run.max_score is not None:
            counts[run.max_score] = counts.get(run.max_score, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda value: (counts[value], value))


def _writer(out: io.StringIO):
    return csv.writer(out, lineterminator="\r\n")


def _score(run: GradedRun | None) -> str:
    return number(run.score) if run is not None else ""


def canvas_csv(students: Iterable[StudentRow], assignment: Assignment) -> str:
    """Canvas's gradebook import: one row per roster student, keyed by the identifier."""
    students = list(students)
    chosen = [s.row.chosen(assignment.chosen) if s.row else None for s in students]
    out = io.StringIO()
    writer = _writer(out)
    writer.writerow([*CANVAS_COLUMNS, cell(assignment.name)])
    writer.writerow(["Points Possible", "", "", "", "", number(points_possible(chosen))])
    for student, run in zip(students, chosen, strict=True):
        ident = cell(student.identifier)
        writer.writerow([cell(student.name), "", ident, ident, cell(student.section), _score(run)])
    return out.getvalue()


def split_name(name: str) -> tuple[str, str]:
    """A roster's one name as Moodle's first and last: "Ada King Lovelace" → ("Ada King",
    "Lovelace"); one word stays the first name. Moodle matches by ID number, never by these."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


def moodle_csv(students: Iterable[StudentRow], assignment: Assignment) -> str:
    """Moodle's grade import: its export's layout, a grade and a feedback column."""
    out = io.StringIO()
    writer = _writer(out)
    title = cell(assignment.name)
    writer.writerow([*MOODLE_COLUMNS, f"Assignment: {title}", f"Feedback: {title}"])
    for student in students:
        run = student.row.chosen(assignment.chosen) if student.row else None
        first, last = split_name(student.name)
        email = student.identifier if "@" in student.identifier else ""
        feedback = "late" if run is not None and run.late else ""
        writer.writerow(
            [
                cell(first),
                cell(last),
                cell(student.identifier),
                "",
                "",
                cell(email),
                _score(run),
                feedback,
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class ClassroomLine:
    """One repository (of one student, or of a team for each member) with who holds it."""

    row: GradebookRow
    login: str
    identifier: str
    group: str = ""


def classroom_lines(
    students: Iterable[StudentRow],
    others: Iterable[GradebookRow],
    teams: dict[str, str] | None = None,
) -> list[ClassroomLine]:
    """Every repository with something graded or pushed: the roster's students' first (their
    identifier beside them), then the repositories no roster student holds. `teams`: repo →
    team name, for a group assignment."""
    teams = {repo.lower(): name for repo, name in (teams or {}).items()}
    lines = []
    for student in students:
        if student.row is not None:
            login = student.login or student.row.login
            group = teams.get(student.row.repo.lower(), "")
            lines.append(ClassroomLine(student.row, login, student.identifier, group))
    for row in others:
        lines.append(ClassroomLine(row, row.login, "", teams.get(row.repo.lower(), "")))
    return lines


def classroom_csv(lines: Iterable[ClassroomLine], assignment: Assignment) -> str:
    """GitHub Classroom's grades CSV, column for column."""
    lines = list(lines)
    chosen = [line.row.chosen(assignment.chosen) for line in lines]
    possible = points_possible(chosen)
    out = io.StringIO()
    writer = _writer(out)
    writer.writerow([*CLASSROOM_COLUMNS, *(("group_name",) if assignment.teams else ())])
    base = assignment.github_url.rstrip("/")
    for line, run in zip(lines, chosen, strict=True):
        repo = line.row.repo
        awarded = _score(run)
        available = number(run.max_score if run and run.max_score is not None else possible)
        writer.writerow(
            [
                cell(assignment.name),
                assignment.url,
                assignment.starter_code_url,
                cell(line.login),
                cell(line.identifier),
                cell(repo),
                f"{base}/{assignment.org}/{repo}",
                run.graded_at.strftime("%Y-%m-%dT%H:%M:%SZ") if run else "",
                awarded,
                available,
                *((cell(line.group),) if assignment.teams else ()),
            ]
        )
    return out.getvalue()
