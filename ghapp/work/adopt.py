"""Coming over from GitHub Classroom: the repositories Classroom handed out are linked to their
roster students as hand-outs already made, so nothing is generated again and each student's
accept, `/me` page and gradebook row find the repository they already work in."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ghapp.core.config import PushgradeConfig
from ghapp.core.handout import repo_name_for
from ghapp.github import InstallationClient
from ghapp.store import handouts

log = logging.getLogger(__name__)


@dataclass
class Linked:
    """What linking found, per assignment: repositories linked now, those linked before, the
    students with no such repository, and what could not be linked (each a line)."""

    linked: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


async def link_existing(
    sessions,
    gh: InstallationClient,
    *,
    org: str,
    config: PushgradeConfig,
    students: Iterable,
    by: str,
) -> Linked:
    """For each assignment of the org file that hands out repositories, and each roster student
    with a GitHub login: the repository its `repo_name` gives them, when it exists in the org,
    becomes their hand-out (adopted: never made, overwritten or shared again)."""
    students = [s for s in students if s.login]
    found = Linked()
    for name, assignment in config.assignments.items():
        if not assignment.hands_out:
            continue
        if assignment.max_team_size:
            found.problems.append(
                f"{name}: a team assignment; its repositories are linked as each team's "
                "members accept (pushgrade cannot tell Classroom's teams)"
            )
            continue
        for key in ("linked", "already", "missing"):
            getattr(found, key)[name] = 0
        for student in students:
            try:
                repo = repo_name_for(assignment.repo_pattern, assignment=name, login=student.login)
            except ValueError as err:
                found.problems.append(f"{name}: {student.login}: {err}")
                continue
            existing = await gh.repo(org, repo)
            if existing is None:
                found.missing[name] += 1
                continue
            repo_id = existing.get("id") if isinstance(existing.get("id"), int) else None
            outcome = await handouts.adopt(
                sessions,
                org=org,
                assignment=name,
                holder=student.login.lower(),
                login=student.login,
                repo=repo,
                repo_id=repo_id,
                by=by,
            )
            if outcome == "taken":
                found.problems.append(
                    f"{name}: {repo} is already another student's hand-out; not linked to "
                    f"{student.login}"
                )
            else:
                getattr(found, outcome)[name] += 1
    log.info("linked existing repositories of %s: %s", org, found.linked)
    return found
