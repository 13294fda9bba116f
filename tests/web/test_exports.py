"""Grades out: Canvas's and Moodle's import files and GitHub Classroom's grades CSV, each held to
the layout its importer reads (Canvas's GradebookImporter, Moodle's grade import and its own
export's columns, Classroom's grades schema), keyed by the roster identifier, with the chosen
score (latest or best) and the late penalty as stored. Pure functions first, then the pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from ghapp.core.config import ChosenScore
from ghapp.store.models import RosterStudent
from tests.web.dash import ORG
from web import exports
from web.gradebook import GradedRun, JobSeen, StudentRow, by_student, rows

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def run(sid, repo, score, *, sha="a", late=False, max_score=10.0):
    return GradedRun(sid, 100 + sid, repo, sha * 40, score, max_score, late, "passed", T)


def job(jid, repo, sender):
    return JobSeen(jid, repo, "done", "push", sender, T, "f" * 40)


class Student:  # a roster row, as the store lists it
    def __init__(self, identifier, name, section="", login=None):
        self.identifier, self.name, self.section, self.login = identifier, name, section, login


ROSTER = [
    Student("s1001", "Ada King Lovelace", "Lab 1", "ada"),
    Student("grace@uni.example", "Grace Hopper", "Lab 2", "grace"),
    Student("s1003", "Linus", "Lab 1", None),  # never linked: nothing to export but a blank
    Student("=HYPERLINK(1)", "Mallory", "", "mallory"),
]
RUNS = [
    # ada: 9 on her first commit, then 6 on her last (a regrade of it gave 6 again).
    run(1, "hw1-ada", 9, sha="a"),
    run(2, "hw1-ada", 6, sha="b"),
    run(3, "hw1-ada", 6, sha="b"),
    # grace: a late push, 8 after the penalty the store already took off.
    run(4, "hw1-grace", 8, sha="c", late=True),
    # mallory: a regrade lowered her only commit from 10 to 4: the regrade replaces it.
    run(5, "hw1-mallory", 10, sha="d"),
    run(6, "hw1-mallory", 4, sha="d"),
    # a repo of no roster student.
    run(7, "hw1-zoe", 7, sha="e"),
]
JOBS = [
    job(101, "hw1-ada", "ada"),
    job(104, "hw1-grace", "grace"),
    job(105, "hw1-mallory", "mallory"),
    job(107, "hw1-zoe", "zoe"),
]


def assignment(chosen=ChosenScore.LATEST, teams=False):
    return exports.Assignment(
        org=ORG,
        name="hw1",
        chosen=chosen,
        url="https://grade.example/a/cs101/hw1",
        starter_code_url="https://github.com/cs101/hw1-template",
        github_url="https://github.com",
        teams=teams,
    )


def students() -> tuple[list[StudentRow], list]:
    return by_student(rows(RUNS, JOBS), ROSTER, {})


def parse(text: str) -> list[list[str]]:
    assert text.endswith("\r\n") and "\ufeff" not in text  # CRLF lines, UTF-8 without a BOM
    return list(csv.reader(io.StringIO(text, newline="")))


def canvas_reads(table: list[list[str]]) -> dict:
    """What Canvas's GradebookImporter takes from the file: its header check (Student, ID, then
    SIS User ID and SIS Login ID, the last student column Section), the Points Possible row, and
    each student's key and grade."""
    header = table[0]
    assert len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert re.search("Section", header[4])  # the last of the five student columns
    points = [r for r in table[1:] if re.search("Points Possible", r[0])]
    students = [r for r in table[1:] if not re.search("Points Possible", r[0])]
    return {
        "assignments": header[5:],
        "points": points[0][5:] if points else None,
        "grades": {r[2]: r[5] for r in students},
        "names": {r[2]: r[0] for r in students},
        "logins": {r[3]: r[5] for r in students},
    }


@pytest.mark.parametrize(
    ("chosen", "ada", "mallory"),
    [(ChosenScore.LATEST, "6", "4"), (ChosenScore.BEST, "9", "4")],
)
def test_canvas_matches_by_the_roster_identifier_with_the_chosen_score(chosen, ada, mallory):
    listed, _ = students()
    seen = canvas_reads(parse(exports.canvas_csv(listed, assignment(chosen))))
    assert seen["assignments"] == ["hw1"] and seen["points"] == ["10"]
    assert seen["grades"] == {
        "s1001": ada,
        "grace@uni.example": "8",  # late: the stored, penalised score
        "s1003": "",  # nothing graded: blank, so Canvas leaves the grade alone
        "'=HYPERLINK(1)": mallory,  # a formula stays text; a regrade replaced the 10
    }
    assert seen["logins"] == seen["grades"]  # the identifier in both SIS columns
    assert seen["names"]["s1001"] == "Ada King Lovelace"


def test_moodle_has_its_exports_layout_and_says_late_in_the_feedback():
    listed, _ = students()
    table = parse(exports.moodle_csv(listed, assignment()))
    assert table[0] == [
        "First name", "Last name", "ID number", "Institution", "Department", "Email address",
        "Assignment: hw1", "Feedback: hw1",
    ]  # fmt: skip
    by_id = {r[2]: r for r in table[1:]}
    assert by_id["s1001"] == ["Ada King", "Lovelace", "s1001", "", "", "", "6", ""]
    assert by_id["grace@uni.example"][5:] == ["grace@uni.example", "8", "late"]
    assert by_id["s1003"][:2] == ["Linus", ""] and by_id["s1003"][6] == ""
    assert len(table) == 1 + len(ROSTER)


def test_classroom_has_its_grades_columns_and_every_repository():
    listed, others = students()
    lines = exports.classroom_lines(listed, others)
    table = parse(exports.classroom_csv(lines, assignment(ChosenScore.BEST)))
    assert table[0] == [
        "assignment_name", "assignment_url", "starter_code_url", "github_username",
        "roster_identifier", "student_repository_name", "student_repository_url",
        "submission_timestamp", "points_awarded", "points_available",
    ]  # fmt: skip
    got = {r[5]: dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert set(got) == {"hw1-ada", "hw1-grace", "hw1-mallory", "hw1-zoe"}
    ada = got["hw1-ada"]
    assert ada["github_username"] == "ada" and ada["roster_identifier"] == "s1001"
    assert ada["points_awarded"] == "9" and ada["points_available"] == "10"  # best
    assert ada["student_repository_url"] == "https://github.com/cs101/hw1-ada"
    assert ada["assignment_url"] == "https://grade.example/a/cs101/hw1"
    assert ada["submission_timestamp"] == "2026-12-01T09:00:00Z"
    assert got["hw1-zoe"]["roster_identifier"] == ""  # not on the roster
    assert got["hw1-zoe"]["github_username"] == "zoe"


def test_a_group_assignment_adds_the_group_name_for_each_member():
    table_rows = rows([run(1, "hw1-team-red", 5)], [job(101, "hw1-team-red", "ada")])
    listed, others = by_student(
        table_rows, ROSTER[:2], {"ada": "hw1-team-red", "grace": "hw1-team-red"}
    )
    lines = exports.classroom_lines(listed, others, {"hw1-team-red": "red"})
    table = parse(exports.classroom_csv(lines, assignment(teams=True)))
    assert table[0][-1] == "group_name"
    assert [(r[3], r[4], r[-1]) for r in table[1:]] == [
        ("ada", "s1001", "red"),
        ("grace", "grace@uni.example", "red"),
    ]


def test_points_possible_is_what_most_runs_say():
    runs = [run(1, "a", 1, max_score=10), run(2, "b", 1, max_score=10), run(3, "c", 1, max_score=5)]
    assert exports.points_possible(runs) == 10
    assert exports.points_possible([None]) is None


@pytest.mark.parametrize(
    ("name", "split"),
    [("Ada King Lovelace", ("Ada King", "Lovelace")), ("Linus", ("Linus", "")), ("", ("", ""))],
)
def test_one_name_becomes_moodles_two(name, split):
    assert exports.split_name(name) == split


@pytest.mark.parametrize(
    ("stored", "chosen"),
    [({}, ChosenScore.LATEST), ({"chosen_score": "best"}, ChosenScore.BEST),
     ({"chosen_score": "bogus"}, ChosenScore.LATEST)],
)  # fmt: skip
def test_the_stored_config_says_which_score(stored, chosen):
    assert exports.chosen_score(stored) is chosen


# The pages, over the dashboard's seeded database: cs101/hw1 has alice graded 3 then a late 5,
# bob errored, and a roster with alice (S-0042-ALICE) on it.


async def test_a_teacher_downloads_each_export(teacher):
    for kind in ("canvas", "moodle", "classroom"):
        answer = await teacher.get(f"/orgs/{ORG}/assignments/hw1/export/{kind}.csv")
        assert answer.status == 200, kind
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="{ORG}-hw1-{kind}.csv"' in answer.headers["Content-Disposition"]
        table = parse(await answer.text())
        if kind == "canvas":
            assert canvas_reads(table)["grades"] == {"S-0042-ALICE": "5"}  # the late 5 stands
        elif kind == "moodle":
            assert table[1][2:3] + table[1][6:] == ["S-0042-ALICE", "5", "late"]
        else:
            got = {r[5]: r for r in table[1:]}
            assert got["hw1-alice"][4] == "S-0042-ALICE" and got["hw1-alice"][8] == "5"
            assert got["hw1-bob"][8] == ""  # an image error is no score
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert f'href="/orgs/{ORG}/assignments/hw1/export/canvas.csv"' in page


async def test_without_a_roster_canvas_and_moodle_say_to_import_it(teacher, web_db):
    async with web_db.sessions() as session, session.begin():
        await session.execute(delete(RosterStudent).where(RosterStudent.org == ORG))
    for kind in ("canvas", "moodle"):
        answer = await teacher.get(f"/orgs/{ORG}/assignments/hw1/export/{kind}.csv")
        assert answer.status == 409, kind
        assert "import it on the org" in await answer.text()
    classroom = await teacher.get(f"/orgs/{ORG}/assignments/hw1/export/classroom.csv")
    got = {r[5]: r for r in parse(await classroom.text())[1:]}
    assert set(got) >= {"hw1-alice", "hw1-bob"} and got["hw1-alice"][4] == ""
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert "export/canvas.csv" not in page and "Canvas and Moodle need the" in page
    other = await teacher.get("/orgs/cs202/assignments/lab1/export/classroom.csv")
    assert other.status == 403  # not this teacher's org


async def test_an_unknown_format_or_assignment_is_not_found(teacher):
    assert (await teacher.get(f"/orgs/{ORG}/assignments/hw1/export/excel.csv")).status == 404
    assert (await teacher.get(f"/orgs/{ORG}/assignments/nope/export/canvas.csv")).status == 404
