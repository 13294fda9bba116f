"""An assignment's repositories at once, for its teachers: give back the access locked at the
cutoff, and archive them at the end of term (or unarchive). Logged with who and how many."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from ghapp.core.config import ConfigError
from ghapp.github import GitHubRefused
from ghapp.work import locking
from web.dashboard import ASSIGNMENT_NAME, Dashboard, Refusal, page

routes = web.RouteTableDef()


async def _handing_out(request: web.Request, dash: Dashboard):
    user, account = await dash.require_teacher(request, request.match_info["org"])
    name = request.match_info["assignment"]
    if not ASSIGNMENT_NAME.match(name):
        raise Refusal(404, "Not found", "There is no such assignment.")
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    gh = dash.teachers.github.installation(account.installation_id)
    try:
        config = await dash.org_file(account)
    except ConfigError:
        config = None
    assignment = config.assignments.get(name) if config is not None else None
    if assignment is None or not assignment.hands_out:
        raise Refusal(404, "Not found", f"{name} hands out no repositories.")
    back = f"/orgs/{quote(account.login, safe='')}/assignments/{quote(name, safe='')}"
    return user, account, gh, name, assignment, form, back


@routes.post("/orgs/{org}/assignments/{assignment}/unlock")
@page
async def unlock(request: web.Request, dash: Dashboard) -> web.Response:
    user, account, gh, name, config, _, back = await _handing_out(request, dash)
    try:
        count = await locking.unlock(
            dash.sessions, gh, account.login, name, config=config, by=user.login
        )
    except GitHubRefused as err:
        raise Refusal(503, "Not unlocked", f"GitHub refused: {err.message}") from None
    raise web.HTTPSeeOther(f"{back}?unlocked={count}#term")


@routes.post("/orgs/{org}/assignments/{assignment}/archive")
@page
async def archive(request: web.Request, dash: Dashboard) -> web.Response:
    user, account, gh, name, _, form, back = await _handing_out(request, dash)
    archived = form.get("archived") != "0"
    try:
        count = await locking.archive(
            dash.sessions, gh, account.login, name, archived=archived, by=user.login
        )
    except GitHubRefused as err:
        raise Refusal(503, "Not archived", f"GitHub refused: {err.message}") from None
    raise web.HTTPSeeOther(f"{back}?{'archived' if archived else 'unarchived'}={count}#term")
