"""A student's own page, `/me`: every repository handed out to them, with its due date (their
extension's when they have one), their latest result at the level the assignment's policy shows
them now, and the graded pushes left today. Only what is theirs: rows are found by their own
login, never by anything a request names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from ghapp.core.config import AssignmentConfig, ConfigError
from ghapp.core.deadline import accepting_closes, day_window
from ghapp.core.extension import extended
from ghapp.core.handout import OpenTo
from ghapp.core.student import student_view
from ghapp.store import extensions, handouts, history, reads
from ghapp.store import roster as rosters
from ghapp.store.models import utcnow
from runner.outcome import Outcome
from web.dashboard import Dashboard, page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Mine:
    org: str
    assignment: str
    repo: str
    due: datetime | None
    extended: bool
    title: str | None  # the latest result as the check run shows it now; None: nothing graded
    conclusion: str | None
    head_sha: str | None
    left_today: int | None  # graded pushes left today under a daily limit
    invitation: bool


async def _config(dash: Dashboard, org: str, assignment: str, stored: dict | None):
    if stored is not None:
        return AssignmentConfig.model_validate(stored)
    account = await reads.account(dash.sessions, org)
    if account is None:
        return None
    try:
        config = await dash.org_file(account)
    except ConfigError:
        return None
    return config.assignments.get(assignment) if config is not None else None


async def _mine(dash: Dashboard, handed) -> Mine:
    latest = await reads.repo_latest(dash.sessions, handed.org, handed.repo, handed.assignment)
    config = await _config(dash, handed.org, handed.assignment, latest.config)
    granted = await extensions.find(
        dash.sessions, org=handed.org, assignment=handed.assignment, repo=handed.repo
    )
    if config is not None and granted is not None:  # their dates, whenever it was granted
        config = extended(config, granted.due, granted.cutoff)
    is_extended = granted is not None and config is not None
    title = conclusion = None
    now = utcnow()
    if config is not None and latest.outcome is not None and latest.received_at is not None:
        view = student_view(
            config,
            Outcome.model_validate(latest.outcome),
            pushed_at=latest.received_at,
            now=now,
            extended=is_extended,
        )
        title, conclusion = view.report.title, str(view.report.conclusion)
    left = None
    if config is not None and config.max_graded_per_day is not None:
        counted = await history.counted_on(
            dash.sessions, owner=handed.org, repo=handed.repo, window=day_window(config, now)
        )
        left = max(0, config.max_graded_per_day - counted)
    return Mine(
        org=handed.org,
        assignment=handed.assignment,
        repo=handed.repo,
        due=config.due if config is not None else None,
        extended=is_extended,
        title=title,
        conclusion=conclusion,
        head_sha=latest.head_sha,
        left_today=left,
        invitation=handed.invitation_id is not None,
    )


@dataclass(frozen=True)
class Open:
    """An assignment the student may accept and has not: its org, name, due date."""

    org: str
    assignment: str
    due: datetime | None


async def _open_to(dash: Dashboard, login: str, handed: list) -> list[Open]:
    """Assignments handed out in the orgs the student belongs to here (on their roster, or with
    a repository handed out) that they may accept and have not. Never another org's: a signed-in
    stranger learns nothing of orgs they have no part in."""
    accepted = {(h.org, h.assignment) for h in handed}
    orgs = sorted({h.org for h in handed} | set(await rosters.orgs_of(dash.sessions, login)))
    found: list[Open] = []
    now = utcnow()
    for org in orgs:
        account = await reads.account(dash.sessions, org)
        if account is None:
            continue
        gh = dash.teachers.github.installation(account.installation_id)
        try:
            config = await dash.org_file(account)
        except ConfigError:
            continue
        member: bool | None = None
        on_roster = await rosters.student_of(dash.sessions, org, login) is not None
        for name, assignment in (config.assignments if config is not None else {}).items():
            if not assignment.hands_out or (org, name) in accepted:
                continue
            closes = accepting_closes(assignment)
            if closes is not None and now > closes:
                continue
            if assignment.open_to is OpenTo.ROSTER and not on_roster:
                continue
            if assignment.open_to is OpenTo.MEMBERS:
                if member is None:
                    member = await gh.org_role(account.login, login) is not None
                if not member:
                    continue
            found.append(Open(account.login, name, assignment.due))
    return found


@routes.get("/me")
@page
async def my_page(request: web.Request, dash: Dashboard) -> web.Response:
    user = await dash.require_user(request)
    handed = await handouts.of_student(dash.sessions, user.login)
    mine = [await _mine(dash, h) for h in handed]
    return dash.render(request, "me.html", mine=mine, open=await _open_to(dash, user.login, handed))
