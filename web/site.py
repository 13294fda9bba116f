"""The dashboard's site: its routes (sign-in and pages) and the headers every page of it is
sent with, put on the web application. Composed here, so that the pages and the sign-in, which
use `web.dashboard`, are not imported by it."""

from __future__ import annotations

from aiohttp import web

from web import accept, extensions, insights, login, pages, roster, similarity, student, term
from web.dashboard import DASH, HERE, Dashboard

# Pages of people's grades: nothing cached, framed, sniffed or sent elsewhere with a referrer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_NOT_DASHBOARD = ("/webhooks/", "/healthz", "/metrics")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith(_NOT_DASHBOARD):
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)


async def _not_configured(request: web.Request) -> web.Response:
    return web.Response(
        text="pushgrade is running. Its teacher dashboard is not configured: set "
        "PUSHGRADE_OAUTH_CLIENT_ID, PUSHGRADE_OAUTH_CLIENT_SECRET and PUSHGRADE_SESSION_SECRET "
        "to turn it on.\n",
        content_type="text/plain",
    )


def install(app: web.Application, dashboard: Dashboard | None) -> None:
    """Add the dashboard's routes to `app` (or, when it is off, a `/` that says so)."""
    if dashboard is None:
        app.router.add_get("/", _not_configured)
        return
    app[DASH] = dashboard
    app.on_response_prepare.append(_security_headers)
    app.router.add_static("/static/", HERE / "static")
    app.add_routes(login.routes)
    app.add_routes(pages.routes)
    app.add_routes(roster.routes)
    app.add_routes(accept.routes)
    app.add_routes(extensions.routes)
    app.add_routes(student.routes)
    app.add_routes(term.routes)
    app.add_routes(insights.routes)
    app.add_routes(similarity.routes)
