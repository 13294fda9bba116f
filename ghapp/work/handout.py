"""Handing a student their repository of an assignment: made once from the template (or the
existing repository of that name adopted, never overwritten) and shared with them.

Exactly one repository per student and assignment, whatever double clicks, web processes and
retries ask: the hand-out's row is claimed under a lease (`ghapp.store.handouts`); a second
caller waits for the first; a maker that died is taken over once its lease runs out, and every
step it repeats is one GitHub answers the same way twice (the repository found, or its name
taken by it; the collaborator added again)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ghapp.core.config import AssignmentConfig
from ghapp.core.handout import repo_name_for
from ghapp.core.oneline import said
from ghapp.github import GitHubRefused, InstallationClient
from ghapp.store import handouts
from ghapp.store.handouts import READY, Handed
from ghapp.store.teams import TeamInfo

log = logging.getLogger(__name__)

LEASE_S = 60.0
WAIT_S = 30.0  # how long a second accept waits for the first to finish
_POLL_S = 0.2


class HandOutRefused(Exception):
    """The repository could not be handed out; the message says why, for the student's page
    (nothing in it is another student's), and `for_teacher` when it is the setup's fault."""

    def __init__(self, message: str, *, for_teacher: bool = False, rename: bool = False) -> None:
        super().__init__(message)
        self.for_teacher = for_teacher
        self.rename = rename  # the team's name is taken on GitHub: it needs another


@dataclass(frozen=True)
class HandedOut:
    repo: str
    invitation: bool  # the student has an invitation to accept on GitHub
    adopted: bool  # the repository existed before and was not made from the template now


async def hand_out(
    sessions,
    gh: InstallationClient,
    *,
    org: str,
    assignment: str,
    config: AssignmentConfig,
    login: str,
    maker: str,
    team: TeamInfo | None = None,
) -> HandedOut:
    """`login`'s repository of `assignment` (their `team`'s, for a team assignment), made and
    shared with them if it was not yet."""
    if config.template is None:
        raise HandOutRefused(f"{assignment} hands out no repositories")
    try:
        name = repo_name_for(
            config.repo_pattern,
            assignment=assignment,
            login=login,
            team=team.slug if team else "",
        )
    except ValueError as err:
        raise HandOutRefused(
            f"No repository can be named for you: {err}.", for_teacher=True
        ) from None
    holder = f"team:{team.slug}" if team else login.lower()
    waited = 0.0
    while True:
        claim = await handouts.claim(
            sessions,
            org=org,
            assignment=assignment,
            holder=holder,
            login=login,
            repo=name,
            maker=maker,
            lease_s=LEASE_S,
        )
        if claim.taken_by is not None:
            raise HandOutRefused(
                f"The repository name {name} is already handed out to someone else in {org}: "
                "your teacher has been told.",
                for_teacher=True,
            )
        row = claim.row
        assert row is not None
        if row.state == READY:
            return await _member(gh, row, org, config, login) if team else _handed(row)
        if claim.mine:
            made = await _make(
                sessions,
                gh,
                row,
                org=org,
                config=config,
                maker=maker,
                # A team's name is the students' choice: a repository that has it already is
                # someone else's, never taken over (one made by a dead maker of this row is).
                adopt=team is None or not claim.fresh,
                share=team is None,
            )
            return await _member(gh, row, org, config, login) if team else made
        if waited >= WAIT_S:
            raise HandOutRefused("Your repository is still being made: reload in a minute.")
        await asyncio.sleep(_POLL_S)
        waited += _POLL_S


def _handed(row: Handed) -> HandedOut:
    return HandedOut(row.repo, invitation=row.invitation_id is not None, adopted=row.adopted)


async def _member(
    gh: InstallationClient, row: Handed, org: str, config: AssignmentConfig, login: str
) -> HandedOut:
    """A team member's access to the team's repository (each member's accept adds them)."""
    try:
        invitation = await gh.add_collaborator(
            org, row.repo, login, permission=config.student_permission.value
        )
    except GitHubRefused as err:
        raise HandOutRefused(_problem(err, config, org), for_teacher=True) from None
    return HandedOut(row.repo, invitation=invitation is not None, adopted=row.adopted)


async def _make(
    sessions,
    gh: InstallationClient,
    row: Handed,
    *,
    org: str,
    config: AssignmentConfig,
    maker: str,
    adopt: bool = True,
    share: bool = True,
) -> HandedOut:
    template_owner, _, template = (config.template or "").rpartition("/")
    template_owner = template_owner or org
    try:
        if template_owner.lower() != org.lower():
            raise HandOutRefused(
                f"The template {config.template} is not a repository of {org}.", for_teacher=True
            )
        existing = await gh.repo(org, row.repo)
        if existing is not None and not adopt:
            raise HandOutRefused(
                f"A repository named {row.repo} exists in {org} already and is not your "
                "team's: choose another team name.",
                rename=True,
            )
        adopted = existing is not None
        if existing is None:
            try:
                existing = await gh.generate_repo(
                    template_owner,
                    template,
                    owner=org,
                    name=row.repo,
                    description=f"{row.assignment} of {row.login}",
                )
            except GitHubRefused as err:
                existing = await gh.repo(org, row.repo) if err.status == 422 else None
                if existing is None:
                    raise
                if not adopt:
                    raise HandOutRefused(
                        f"A repository named {row.repo} was made in {org} meanwhile, not for "
                        "your team: choose another team name.",
                        rename=True,
                    ) from None
                adopted = True  # made meanwhile, by someone else: adopted, never overwritten
        invitation = None
        if share:
            invitation = await gh.add_collaborator(
                org, row.repo, row.login, permission=config.student_permission.value
            )
    except GitHubRefused as err:
        problem = _problem(err, config, org)
        await handouts.failed(sessions, row.id, maker=maker, problem=problem)
        log.warning("hand-out of %s/%s failed: %s", org, row.repo, said(err))
        raise HandOutRefused(problem, for_teacher=True) from None
    except HandOutRefused as err:
        if err.rename:  # never retried as it is: the name is someone else's
            await handouts.forget(sessions, row.id, maker=maker)
        else:
            await handouts.failed(sessions, row.id, maker=maker, problem=str(err))
        raise
    except BaseException:
        await asyncio.shield(
            handouts.failed(sessions, row.id, maker=maker, problem="interrupted; try again")
        )
        raise
    await handouts.made(
        sessions,
        row.id,
        maker=maker,
        repo_id=existing.get("id") if isinstance(existing, dict) else None,
        invitation_id=invitation.get("id") if invitation else None,
        adopted=adopted,
    )
    return HandedOut(row.repo, invitation=invitation is not None, adopted=adopted)


def _problem(err: GitHubRefused, config: AssignmentConfig, org: str) -> str:
    if err.missing_permission:
        return (
            "The pushgrade App may not create repositories or add collaborators in "
            f"{org}: it needs the Administration (read and write) permission. Your teacher "
            "has been told."
        )
    if err.status == 404:
        return f"The template {config.template} could not be found in {org}."
    if err.status == 422 and "template" in err.message:
        return f"{config.template} is not a template repository (its settings make it one)."
    return f"GitHub refused to make your repository ({err.status}): {err.message}"
