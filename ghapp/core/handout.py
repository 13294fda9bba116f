"""Handing out an assignment (pure): who may accept it, and the repository each student (or team)
gets, named by the assignment's pattern.

An org file's assignment hands out repos when it names a `template:` (a repository of the org).
Each student's repo is named by `repo_name` (default `{assignment}-{login}`, `{assignment}-{team}`
for a team assignment: one with `max_team_size`), made private from the template, and shared with
the student at `student_permission` (default `push`). `open_to` says who may accept: any org
`members`, students on the `roster`, or `anyone` with the link (the default).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

# A repository name as GitHub allows it: letters, digits, ., -, _; at most 100 characters.
REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_REPO_NAME = "{assignment}-{login}"
DEFAULT_TEAM_REPO_NAME = "{assignment}-{team}"
MAX_TEAM_NAME_CHARS = 40


class OpenTo(StrEnum):
    MEMBERS = "members"  # members of the org
    ROSTER = "roster"  # students on the org's roster (linking their login on first accept)
    ANYONE = "anyone"  # anyone with a GitHub account and the link


class StudentPermission(StrEnum):
    PULL = "pull"
    TRIAGE = "triage"
    PUSH = "push"
    MAINTAIN = "maintain"


def check_pattern(pattern: str, *, team: bool) -> str:
    """`pattern` if it names each student's (or team's) repo apart; ValueError saying why not."""
    names = _PLACEHOLDER.findall(pattern)
    allowed = {"assignment", "team"} if team else {"assignment", "login"}
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ValueError(
            f"{{{unknown[0]}}} is not a placeholder here; use "
            + ", ".join("{" + a + "}" for a in sorted(allowed))
        )
    own = "team" if team else "login"
    if own not in names:
        raise ValueError(f"must hold {{{own}}}, or every {own} would get the same repository")
    if not REPO_NAME.fullmatch(_PLACEHOLDER.sub("x", pattern)):
        raise ValueError("the name it makes may hold only letters, digits, '.', '-' and '_'")
    return pattern


def repo_name_for(pattern: str, *, assignment: str, login: str = "", team: str = "") -> str:
    """The repository `pattern` names for this student (their login, lower-case) or team (its
    slug); ValueError when that is no repository name (too long, say)."""
    name = _PLACEHOLDER.sub(
        lambda m: {"assignment": assignment, "login": login.lower(), "team": team}[m[1]], pattern
    )
    if not REPO_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"{name[:120]!r} is not a repository name GitHub accepts")
    return name


def team_slug(name: str) -> str:
    """A team name as GitHub slugs it: lower case, each run of other characters one '-'."""
    slug = re.sub(r"[^a-z0-9_]+", "-", name.strip().lower()).strip("-")
    return slug


def check_team_name(name: str) -> str:
    """A team name students may choose: 1 to 40 characters that slug to something."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_TEAM_NAME_CHARS:
        raise ValueError(f"a team's name has 1 to {MAX_TEAM_NAME_CHARS} characters")
    if not team_slug(name):
        raise ValueError("a team's name needs a letter or a digit")
    return name


def accept_closes(
    due: datetime | None, cutoff: datetime | None, late_ignored: bool
) -> datetime | None:
    """When accepting closes: the moment after which no push is graded any more (the late
    cutoff; the due date itself when late pushes are not graded); None: never."""
    if cutoff is not None:
        return cutoff
    return due if late_ignored else None
