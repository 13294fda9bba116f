"""Repositories handed out, at the cutoff and at the end of term: `lock_at_cutoff` drops their
students' access to read once no push of theirs can be graded any more (each repository by its
own dates, extensions included); a teacher can give it back, and archive (or unarchive) all of
an assignment's repositories at once. Each is logged (`handout_actions`), with how many
repositories and who; never a student's name."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from ghapp.core.config import AssignmentConfig, ConfigError
from ghapp.core.deadline import accepting_closes
from ghapp.core.extension import extended
from ghapp.core.oneline import said
from ghapp.github import GitHubRefused, InstallationClient
from ghapp.store import extensions, handouts, reads, teams
from ghapp.store.handouts import Handed
from ghapp.store.models import utcnow

log = logging.getLogger(__name__)

LOCK_EVERY_S = 30.0
PUSHGRADE = "pushgrade (lock_at_cutoff)"


async def locks(crew, stop: asyncio.Event, *, every_s: float = LOCK_EVERY_S) -> None:
    """Lock what is due, every `every_s` seconds, until `stop`."""
    while not stop.is_set():
        await lock_due(crew)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def lock_due(crew) -> int:
    """Drop to read the access of every repository whose assignment locks at the cutoff and
    whose own cutoff has passed. Returns how many were locked."""
    pending: dict[tuple[str, str], list[Handed]] = {}
    for row in await handouts.to_lock(crew.sessions):
        pending.setdefault((row.org, row.assignment), []).append(row)
    locked = 0
    for (org, assignment), rows in pending.items():
        found = await _assignment(crew, org, assignment)
        if found is None:
            continue
        gh, config = found
        if not config.lock_at_cutoff:
            continue
        done = 0
        for row in rows:
            if not await _past_cutoff(crew, config, row):
                continue
            if not await handouts.mark_locked(crew.sessions, row.id, locked=True):
                continue  # another worker locks it
            try:
                await share(crew.sessions, gh, row, permission="pull")
            except GitHubRefused as err:
                await handouts.mark_locked(crew.sessions, row.id, locked=False)
                log.warning("%s/%s: could not lock a repository: %s", org, assignment, said(err))
                continue
            done += 1
        if done:
            await handouts.log_action(
                crew.sessions, org, assignment, "lock", by=PUSHGRADE, repos=done
            )
            log.info("%s/%s: %d repositories locked at the cutoff", org, assignment, done)
        locked += done
    return locked


async def _assignment(crew, org: str, assignment: str):
    account = await reads.account(crew.sessions, org)
    if account is None:
        return None
    gh = crew.github.installation(account.installation_id)
    try:
        config = await crew.configs.org_file(gh, account.login)
    except ConfigError:
        return None
    found = config.assignments.get(assignment) if config is not None else None
    return (gh, found) if found is not None else None


async def _past_cutoff(crew, config: AssignmentConfig, row: Handed) -> bool:
    granted = await extensions.find(
        crew.sessions, org=row.org, assignment=row.assignment, repo=row.repo
    )
    if granted is not None:
        config = extended(config, granted.due, granted.cutoff)
    closes = accepting_closes(config)
    return closes is not None and utcnow() > closes


async def students_of(sessions, row: Handed) -> Sequence[str]:
    if row.holder.startswith("team:"):
        return await teams.members_of(sessions, row.org, row.assignment, row.holder[5:])
    return [row.login]


async def share(sessions, gh: InstallationClient, row: Handed, *, permission: str) -> None:
    """Set the access of the repository's student (or each member of its team)."""
    for login in await students_of(sessions, row):
        await gh.add_collaborator(row.org, row.repo, login, permission=permission)


async def unlock(
    sessions, gh: InstallationClient, org: str, assignment: str, *, config, by: str
) -> int:
    """A teacher gives the locked repositories their students' access back (for good)."""
    rows = await handouts.unlock_all(sessions, org, assignment)
    for row in rows:
        await share(sessions, gh, row, permission=config.student_permission.value)
    if rows:
        await handouts.log_action(sessions, org, assignment, "unlock", by=by, repos=len(rows))
    return len(rows)


async def archive(
    sessions, gh: InstallationClient, org: str, assignment: str, *, archived: bool, by: str
) -> int:
    """Archive (read-only for everyone) or unarchive every repository of the assignment."""
    rows = await handouts.set_archived(sessions, org, assignment, archived=archived)
    for row in rows:
        await gh.set_archived(row.org, row.repo, archived=archived)
    action = "archive" if archived else "unarchive"
    if rows:
        await handouts.log_action(sessions, org, assignment, action, by=by, repos=len(rows))
    return len(rows)
