"""Granting a student (their repository) an extension from the assignment's gradebook, and
revoking it: teachers of the org only, under the form's token. The dates are the student's from
then on: every push after the grant is judged by them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from ghapp.core.config import AssignmentConfig
from ghapp.core.extension import grant_problems
from ghapp.store import extensions, reads
from web.dashboard import ASSIGNMENT_NAME, Dashboard, Refusal, page

routes = web.RouteTableDef()

_REPO = 100  # GitHub's longest repository name


def _moment(text: str, zone, what: str) -> datetime:
    """A date and time from the form (datetime-local gives no offset: the deadline's is meant)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refusal(
            400, "Not granted", f"The {what} {text[:40]!r} is not a date and time."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


async def _target(request: web.Request, dash: Dashboard):
    user, account = await dash.require_teacher(request, request.match_info["org"])
    name = request.match_info["assignment"]
    if not ASSIGNMENT_NAME.match(name):
        raise Refusal(404, "Not found", "There is no such assignment.")
    raw = await reads.assignment_config(dash.sessions, account.login, name)
    if raw is None:
        raise Refusal(404, "Not found", "There is no such assignment.")
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    repo = str(form.get("repo") or "").strip()[:_REPO]
    runs, jobs = await reads.gradebook_input(dash.sessions, account.login, name)
    known = {j.repo.lower(): j.repo for j in jobs} | {r.repo.lower(): r.repo for r in runs}
    if repo.lower() not in known:
        raise Refusal(400, "Not granted", f"{name} has no repository {repo!r} in its gradebook.")
    back = f"/orgs/{quote(account.login, safe='')}/assignments/{quote(name, safe='')}"
    return (
        user,
        account,
        name,
        AssignmentConfig.model_validate(raw),
        known[repo.lower()],
        form,
        back,
    )


@routes.post("/orgs/{org}/assignments/{assignment}/extensions")
@page
async def grant(request: web.Request, dash: Dashboard) -> web.Response:
    user, account, name, config, repo, form, back = await _target(request, dash)
    zone = config.due.tzinfo if config.due is not None and config.due.tzinfo else UTC
    due = _moment(str(form.get("due") or ""), zone, "due date")
    cutoff_text = str(form.get("cutoff") or "").strip()
    cutoff = _moment(cutoff_text, zone, "cutoff") if cutoff_text else None
    problems = grant_problems(config, due, cutoff)
    if problems:
        raise Refusal(400, "Not granted", f"{repo}: " + "; ".join(problems) + ".")
    await extensions.grant(
        dash.sessions,
        org=account.login,
        assignment=name,
        repo=repo,
        due=due,
        cutoff=cutoff,
        by=user.login,
    )
    raise web.HTTPSeeOther(f"{back}#extensions")


@routes.post("/orgs/{org}/assignments/{assignment}/extensions/revoke")
@page
async def revoke(request: web.Request, dash: Dashboard) -> web.Response:
    _, account, name, _, repo, _, back = await _target(request, dash)
    await extensions.revoke(dash.sessions, org=account.login, assignment=name, repo=repo)
    raise web.HTTPSeeOther(f"{back}#extensions")
