"""The teacher dashboard's frame: its settings, who is signed in, who may see what, templates,
and the headers every page goes out with. The pages are `web.pages`, signing in `web.login`.

Without an OAuth client configured the dashboard is off: `/` says so and its other routes
answer 404, so a deployment that only grades is unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import jinja2
from aiohttp import web

from ghapp.github import GitHubApp
from ghapp.store import reads
from ghapp.work.tenancy import Tenants
from web.access import Account, GitHubUnavailable, Teachers
from web.gradebook import number
from web.sessions import Cookies, SessionStore, SignedIn, csrf_matches

HERE = Path(__file__).parent
ORG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")  # GitHub's rule for logins
ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # ghapp.core.config's rule
MAX_FORM_BYTES = 16 * 1024
_SIGNED_IN = web.RequestKey("signed_in", object)


@dataclass
class DashboardSettings:
    client_id: str
    client_secret: str = field(repr=False)
    session_secret: str = field(repr=False)
    github_url: str = "https://github.com"  # web pages: /login/oauth/…, commits, check runs
    api_url: str = "https://api.github.com"
    public_url: str = ""  # where browsers reach pushgrade; set once known when empty


class Refusal(Exception):
    """A page that cannot be shown: its status and what to tell the person."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


def no_such(what: str) -> Refusal:
    return Refusal(404, "Not found", f"There is no such {what}.")


def csv_attachment(text: str, filename: str) -> web.Response:
    """A CSV download (UTF-8), named `filename`."""
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class Dashboard:
    def __init__(
        self,
        settings: DashboardSettings,
        *,
        sessions,
        github: GitHubApp,
        http: aiohttp.ClientSession,
        on_new_work: Callable[[], None] = lambda: None,
        teachers: Teachers | None = None,
        tenants: Tenants | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        # Which accounts the operator serves: an org it does not is shown with a notice.
        self.tenants = tenants or Tenants(sessions)
        self.http = http
        self.on_new_work = on_new_work
        self.cookies = Cookies(
            settings.session_secret, secure=settings.public_url.startswith("https://")
        )
        self.store = SessionStore(sessions, self.cookies)
        self.teachers = teachers or Teachers(github)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(when=when, number=number, short=lambda s: (s or "")[:7])
        self.templates.filters.update(seconds=seconds, image_id=short_image_id)
        self.templates.filters.update(digest=short_digest)
        self.templates.globals.update(github_url=settings.github_url.rstrip("/"))

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    # -- who is asking -------------------------------------------------------------------------

    async def signed_in(self, request: web.Request) -> SignedIn | None:
        if _SIGNED_IN not in request:
            raw = self.cookies.read_session(request.cookies.get(self.cookies.session_name))
            request[_SIGNED_IN] = await self.store.load(raw) if raw else None
        return request[_SIGNED_IN]

    async def require_user(self, request: web.Request) -> SignedIn:
        """The person signed in; a page for anyone else sends them to sign in first."""
        user = await self.signed_in(request)
        if user is not None:
            return user
        if request.method == "GET" and request.query.get("part") != "live":
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        raise Refusal(401, "Sign in first", "Your session has ended: sign in again.")

    async def org_file(self, account: Account):
        """The org's own pushgrade file, as grading reads it (None when there is none); raises
        ConfigError when it is invalid."""
        gh = self.teachers.github.installation(account.installation_id)
        return await self.teachers.configs.org_file(gh, account.login)

    async def require_teacher(self, request: web.Request, org: str) -> tuple[SignedIn, Account]:
        user = await self.require_user(request)
        found = await reads.account(self.sessions, org) if ORG_NAME.match(org) else None
        if found is None or not await self.teachers.teaches(user.login, found):
            raise Refusal(
                403,
                "Not one of your orgs",
                f"You are signed in as {user.login}, who is not a teacher of {org}: an owner "
                "of the org, or a member of the team its pushgrade file names as teachers.",
            )
        return user, found

    async def require_assignment(
        self, request: web.Request
    ) -> tuple[SignedIn, Account, str, dict[str, Any]]:
        """The teacher asking, the org and the assignment in the path, and its stored config:
        403 for anyone but the org's teachers, before anything else is looked at; then 404 for
        an assignment the org has not (whether it exists is its teachers' to learn)."""
        user, account = await self.require_teacher(request, request.match_info["org"])
        name = request.match_info["assignment"]
        if not ASSIGNMENT_NAME.match(name):
            raise no_such("assignment")
        config = await reads.assignment_config(self.sessions, account.login, name)
        if config is None:
            raise no_such("assignment")
        return user, account, name, config

    async def form(self, request: web.Request):
        """A posted form: a dashboard form is a few fields, never megabytes."""
        if request.content_length is None or request.content_length > MAX_FORM_BYTES:
            raise Refusal(413, "Refused", "This form is larger than any of the dashboard's.")
        return await request.post()

    def require_csrf(self, request: web.Request, user: SignedIn, form) -> None:
        origin = request.headers.get("Origin")
        if origin and self.public_url and origin != _origin(self.public_url):
            raise Refusal(403, "Refused", "This form was sent from another site.")
        if not csrf_matches(user, form.get("csrf")):
            raise Refusal(
                403, "Refused", "This form has expired (or came from elsewhere): reload the page."
            )

    # -- answers -------------------------------------------------------------------------------

    def render(self, request: web.Request, template: str, *, status: int = 200, **context):
        user = request.get(_SIGNED_IN)
        text = self.templates.get_template(template).render(user=user, **context)
        return web.Response(status=status, text=text, content_type="text/html", charset="utf-8")


DASH = web.AppKey("dashboard", Dashboard)
Handler = Callable[[web.Request, Dashboard], Awaitable[web.StreamResponse]]


def page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A dashboard handler: refusals and a silent GitHub become pages, never a 500."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        dash = request.app[DASH]
        try:
            return await handler(request, dash)
        except Refusal as refusal:
            return dash.render(
                request,
                "message.html",
                status=refusal.status,
                title=refusal.title,
                message=refusal.message,
            )
        except GitHubUnavailable as err:
            return dash.render(
                request,
                "message.html",
                status=503,
                title="GitHub did not answer",
                message=f"Whether you may see this page is GitHub's to say, and it did not: "
                f"{err}. Try again in a minute.",
            )

    return wrapped


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    value = max(value, 0.0)
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def short_image_id(image_id: str | None) -> str:
    """An image id as `docker images` shows it: sha256:0123456789abcdef… → 0123456789ab."""
    if not image_id:
        return ""
    _, _, hexa = image_id.partition(":")
    return (hexa or image_id)[:12]


def short_digest(digest: str | None, image: str | None = None) -> str:
    """A registry digest, short: name@sha256:0123456789ab…, the name left out when it is the
    graded image's own (ghcr.io/cs101/hw1@sha256:… beside ghcr.io/cs101/hw1:2026)."""
    if not digest:
        return ""
    name, at, pinned = digest.rpartition("@")
    algorithm, colon, hexa = pinned.partition(":")
    short = f"{algorithm}:{hexa[:12]}" if colon else pinned[:19]
    if not at or (image and name == _repository(image)):
        return short
    return f"{name}@{short}"


def _repository(image: str) -> str:
    """An image reference without its tag or digest: registry:5000/name:tag → registry:5000/name."""
    image = image.partition("@")[0]
    head, slash, last = image.rpartition("/")
    return f"{head}{slash}{last.partition(':')[0]}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
