"""A class roster from CSV: the students, each with the identifier the school uses (a student
number or an e-mail), a name, a section, and a GitHub login once known.

GitHub Classroom's `classroom_roster.csv` (`identifier, github_username, github_id, name`) is read
as it is; `section` (or `group`), and `login`/`github`/`github_login` for the login, are
understood too. Untrusted input: the file is size-capped, every row is checked and a problem names
its line, and a file with any problem imports nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

MAX_ROSTER_BYTES = 2 * 1024 * 1024
MAX_STUDENTS = 5000
MAX_FIELD_CHARS = 200
MAX_PROBLEMS_SHOWN = 20
# A GitHub login: letters, digits and single hyphens, not at either end, at most 39 characters.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_COLUMNS = {
    "identifier": "identifier",
    "github_username": "login",
    "github_login": "login",
    "github": "login",
    "login": "login",
    "github_id": "github_id",
    "name": "name",
    "section": "section",
    "group": "section",
}


@dataclass(frozen=True)
class Student:
    """One roster row. `login` is lower-cased for matching; `github_id` when the file gave one."""

    identifier: str
    name: str = ""
    section: str = ""
    login: str | None = None
    github_id: int | None = None


@dataclass(frozen=True)
class Roster:
    students: tuple[Student, ...]
    ignored_columns: tuple[str, ...] = ()


class RosterError(Exception):
    """The file cannot be imported; `problems` are lines like "line 7: …", in line order."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        super().__init__("; ".join(shown) + (f"; and {more} more" if more > 0 else ""))


def read_roster(data: bytes) -> Roster:
    """The students of a roster CSV; RosterError, with every problem, if any row is wrong."""
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError([f"the file is larger than {MAX_ROSTER_BYTES // (1024 * 1024)} MiB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise RosterError([f"line {line}: not UTF-8 text (save the file as CSV UTF-8)"]) from None
    if not text.strip():
        raise RosterError(["the file is empty: it needs a header line with an identifier column"])
    # The header line says the delimiter: a comma, or the semicolon or tab some spreadsheets
    # write in locales where the comma is the decimal mark.
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as err:
        raise RosterError([f"line 1: {err}"]) from None
    columns = [_COLUMNS.get(name.strip().lower()) for name in header]
    if "identifier" not in columns:
        named = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise RosterError(
            [
                f"line 1: no identifier column (the columns are: {_short(named)}); a roster needs "
                "identifier, and may have name, github_username, github_id and section"
            ]
        )
    for kind in set(filter(None, columns)):
        if columns.count(kind) > 1:
            raise RosterError([f"line 1: two columns give the {kind.replace('_', ' ')}"])
    ignored = tuple(
        h.strip() for h, c in zip(header, columns, strict=True) if c is None and h.strip()
    )
    problems: list[str] = []
    students: list[Student] = []
    seen_ids: dict[str, int] = {}
    seen_logins: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(students) >= MAX_STUDENTS:
                problems.append(f"line {line}: more than {MAX_STUDENTS} students")
                break
            fields = {
                kind: row[i].strip() if i < len(row) else ""
                for i, kind in enumerate(columns)
                if kind is not None
            }
            student = _student(fields, line, problems)
            if student is None:
                continue
            key = student.identifier.casefold()
            if key in seen_ids:
                problems.append(
                    f"line {line}: identifier {student.identifier!r} is also on line "
                    f"{seen_ids[key]}"
                )
                continue
            seen_ids[key] = line
            if student.login is not None:
                if student.login in seen_logins:
                    problems.append(
                        f"line {line}: GitHub login {student.login!r} is also on line "
                        f"{seen_logins[student.login]}"
                    )
                    continue
                seen_logins[student.login] = line
            students.append(student)
    except csv.Error as err:
        problems.append(f"line {reader.line_num}: {err}")
    if problems:
        raise RosterError(problems)
    if not students:
        raise RosterError(["the file lists no students, only its header"])
    return Roster(tuple(students), ignored)


def _student(fields: dict[str, str], line: int, problems: list[str]) -> Student | None:
    bad = False
    for kind, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            problems.append(f"line {line}: the {kind} is longer than {MAX_FIELD_CHARS} characters")
            bad = True
        elif _CONTROL.search(value):
            problems.append(f"line {line}: the {kind} holds control characters")
            bad = True
    if bad:
        return None
    identifier = fields.get("identifier", "")
    if not identifier:
        problems.append(f"line {line}: no identifier")
        return None
    login = fields.get("login", "").removeprefix("@") or None
    if login is not None and not GITHUB_LOGIN.fullmatch(login):
        problems.append(f"line {line}: {_short(login)!r} is not a GitHub login")
        return None
    raw_id = fields.get("github_id", "")
    github_id = None
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 15:
            problems.append(f"line {line}: github_id {_short(raw_id)!r} is not a number")
            return None
        github_id = int(raw_id)
    return Student(
        identifier=identifier,
        name=fields.get("name", ""),
        section=fields.get("section", ""),
        login=login.lower() if login else None,
        github_id=github_id,
    )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
