"""An assignment's similarity report, for its org's teachers: the most similar pairs of
students' latest submissions (the template's code left out), each pair's matching fragments
side by side, the pairs as CSV, and a button asking the background work to refresh it (never
computed in the request: ghapp.work.similarity does)."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from aiohttp import web

from ghapp.store import similarity as reports
from ghapp.store.models import utcnow
from web.dashboard import Dashboard, Refusal, csv_attachment, page
from web.gradebook import cell

routes = web.RouteTableDef()

MAX_PAIR_ID = 2**31 - 1  # the pairs table's ids are 32-bit integers
CSV_COLUMNS = (
    "rank",
    "repo_a",
    "repo_b",
    "a_in_b_percent",
    "b_in_a_percent",
    "matched_characters",
    "commit_a",
    "commit_b",
    "computed_at",
)
_BASE = "/orgs/{org}/assignments/{assignment}/similarity"


async def _assignment(request: web.Request, dash: Dashboard):
    """The teacher asking, the org and the assignment in the path (403 for anyone but the
    org's teachers, before anything else is looked at; 404 for an assignment it has not)."""
    user, account, name, _ = await dash.require_assignment(request)
    report = await reports.report_of(dash.sessions, account.login, name)
    return user, account, name, report


def _here(account, name: str) -> str:
    return _BASE.format(org=quote(account.login, safe=""), assignment=quote(name, safe=""))


def _state(report) -> dict:
    """Whether the report waits for a refresh, and whether a worker computes it now."""
    if report is None:
        return {"pending": False, "running": False}
    running = report.lease_until is not None and report.lease_until >= utcnow()
    pending = report.stale_since is not None or report.requested_at is not None
    return {"pending": pending or running, "running": running}


@routes.get(_BASE)
@page
async def similarity_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account, name, report = await _assignment(request, dash)
    pairs = await reports.pairs_of(dash.sessions, report.id) if report is not None else []
    return dash.render(
        request,
        "similarity.html",
        account=account,
        name=name,
        report=report,
        pairs=pairs,
        here=_here(account, name),
        asked=request.query.get("asked") == "1",
        **_state(report),
    )


@routes.get(_BASE + "/{pair_id}")
@page
async def pair_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account, name, report = await _assignment(request, dash)
    raw = request.match_info["pair_id"]
    pair = None
    if report is not None and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_PAIR_ID:
        pair = await reports.pair_of(dash.sessions, report.id, int(raw))
    if pair is None:
        raise Refusal(
            404,
            "Not found",
            "This pair is not in the assignment's similarity report (it may have been "
            "refreshed since): see the report for the pairs it has now.",
        )
    fragments = [f for f in pair.fragments if _shown(f)]
    return dash.render(
        request,
        "similarity_pair.html",
        account=account,
        name=name,
        report=report,
        pair=pair,
        fragments=fragments,
        here=_here(account, name),
    )


@routes.get(_BASE + ".csv")
@page
async def similarity_csv(request: web.Request, dash: Dashboard) -> web.Response:
    _, account, name, report = await _assignment(request, dash)
    pairs = await reports.pairs_of(dash.sessions, report.id) if report is not None else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    computed = (
        report.computed_at.strftime("%Y-%m-%dT%H:%M:%SZ") if report and report.computed_at else ""
    )
    for pair in pairs:
        writer.writerow(
            [
                pair.rank,
                cell(pair.repo_a),
                cell(pair.repo_b),
                f"{pair.similarity_a * 100:.0f}",
                f"{pair.similarity_b * 100:.0f}",
                pair.tokens,
                cell(pair.sha_a),
                cell(pair.sha_b),
                computed,
            ]
        )
    return csv_attachment(out.getvalue(), f"{account.login}-{name}-similarity.csv")


@routes.post(_BASE + "/refresh")
@page
async def refresh(request: web.Request, dash: Dashboard) -> web.Response:
    """Ask the background work to compute the report again, soon; back to the report."""
    user, account, name, _ = await _assignment(request, dash)
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    await reports.request_refresh(dash.sessions, account.login, name, by=user.login)
    raise web.HTTPSeeOther(f"{_here(account, name)}?asked=1")


_FRAGMENT = {"path_a": str, "first_a": int, "last_a": int, "text_a": str, "tokens": int}
_FRAGMENT |= {"path_b": str, "first_b": int, "last_b": int, "text_b": str}


def _shown(fragment) -> bool:
    """A stored fragment the page can show (a row written by another version may not be)."""
    return isinstance(fragment, dict) and all(
        isinstance(fragment.get(key), kind) for key, kind in _FRAGMENT.items()
    )
