"""The roster's page, for the org's teachers only: its students (personal data: never shown to
anyone else, never logged), a CSV import that takes the whole file or nothing, and unlinking a
student's GitHub login."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from ghapp.core.roster import MAX_ROSTER_BYTES, RosterError, read_roster
from ghapp.store.roster import import_roster, roster_of, unlink
from web.dashboard import Dashboard, Refusal, page

routes = web.RouteTableDef()

# The upload's other fields (the CSRF token, the form's boundaries) fit in this much more.
_FORM_ROOM = 16 * 1024
_COUNTS = ("added", "updated", "unchanged", "linked")


def _back(org: str, **query: object) -> str:
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/orgs/{quote(org, safe='')}/roster" + (f"?{tail}" if tail else "")


@routes.get("/orgs/{org}/roster")
@page
async def roster_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account = await dash.require_teacher(request, request.match_info["org"])
    counts = {k: request.query.get(k, "") for k in _COUNTS}
    done = {k: int(v) for k, v in counts.items() if v.isdigit() and len(v) <= 6}
    return dash.render(
        request,
        "roster.html",
        account=account,
        students=await roster_of(dash.sessions, account.login),
        imported=done if len(done) == len(_COUNTS) else None,
        unlinked=request.query.get("unlinked") == "1",
    )


@routes.post("/orgs/{org}/roster")
@page
async def roster_import(request: web.Request, dash: Dashboard) -> web.Response:
    user, account = await dash.require_teacher(request, request.match_info["org"])
    if request.content_length is None or request.content_length > MAX_ROSTER_BYTES + _FORM_ROOM:
        raise Refusal(413, "Refused", "A roster file is at most 2 MiB.")
    fields: dict[str, str] = {}
    data = b""
    try:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "csrf":
                fields["csrf"] = (await part.read(decode=False))[:200].decode("utf-8", "replace")
            elif part.name == "roster":
                data = bytes(await part.read(decode=False))
    except (ValueError, AssertionError, KeyError):
        raise Refusal(
            400, "Refused", "This upload could not be read: choose the file again."
        ) from None
    dash.require_csrf(request, user, fields)
    if not data:
        raise Refusal(400, "No file", "Choose a roster CSV file to import.")
    try:
        roster = read_roster(data)
        counts = await import_roster(dash.sessions, account.login, roster, by=user.login)
    except RosterError as err:
        return dash.render(
            request, "roster_refused.html", status=400, account=account, problems=err.problems
        )
    raise web.HTTPSeeOther(_back(account.login, **{k: getattr(counts, k) for k in _COUNTS}))


@routes.post("/orgs/{org}/roster/unlink")
@page
async def roster_unlink(request: web.Request, dash: Dashboard) -> web.Response:
    user, account = await dash.require_teacher(request, request.match_info["org"])
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    identifier = str(form.get("identifier") or "")[:200]
    if not await unlink(dash.sessions, account.login, identifier):
        raise Refusal(404, "Not found", "No student with that identifier has a linked login.")
    raise web.HTTPSeeOther(_back(account.login, unlinked=1))
