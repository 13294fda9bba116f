"""GitHub's OAuth web flow for people: the sign-in page, one-time codes, user tokens, `GET /user`.

`GET /login/oauth/authorize` stands in for GitHub's sign-in and consent pages: a form with a
login field and an "Authorize" button (or, for tests without a browser, a `login` query
parameter) that sends the browser back to `redirect_uri` with `code` and `state`.
`POST /login/oauth/access_token` trades the code for a user token as GitHub does: a code works
once and for ten minutes, errors come with status 200 and an `error` field, JSON only when asked
for with `Accept: application/json`. `GET /user` answers for a user token.
"""

from __future__ import annotations

import html
import json
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from ghsim import shapes
from ghsim.api import SIM, ApiError, credential

if TYPE_CHECKING:
    from ghsim.server import GitHubSimulator

routes = web.RouteTableDef()

CODE_TTL_S = 600.0  # GitHub: "The code will expire after 10 minutes"
USER_TOKEN_TTL_S = 8 * 3600  # a GitHub App's user tokens expire after eight hours
TROUBLESHOOTING = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors/"
)
_ALPHANUM = string.ascii_letters + string.digits


@dataclass
class _Code:
    login: str
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class UserToken:
    token: str
    login: str
    client_id: str
    expires_at: float


@dataclass
class OAuthUsers:
    """The App's OAuth client (its client ID and secret) and what the web flow has issued."""

    client_id: str
    client_secret: str = field(default_factory=lambda: "ghsim_" + secrets.token_hex(20))
    # When set, a redirect_uri must start with it (GitHub's registered callback URL).
    callback_url: str | None = None
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, UserToken] = field(default_factory=dict)

    def issue_code(self, login: str, redirect_uri: str) -> str:
        code = secrets.token_hex(10)  # GitHub's codes are 20 hex characters
        self.codes[code] = _Code(login, self.client_id, redirect_uri, time.time() + CODE_TTL_S)
        return code

    def user_for(self, token: str) -> UserToken | None:
        found = self.tokens.get(token)
        return found if found is not None and found.expires_at > time.time() else None


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redirect(url: str) -> web.Response:
    return web.Response(status=302, headers={"Location": url})


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head>"
            '<body style="font-family: sans-serif; max-width: 26rem; margin: 3rem auto">'
            f"{body}</body></html>"
        ),
    )


async def _params(request: web.Request) -> dict[str, str]:
    """Query parameters, then a form or JSON body's (GitHub takes all three)."""
    params = {k: v for k, v in request.query.items()}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                data = json.loads(await request.read() or b"{}")
            except ValueError:
                data = {}
            if isinstance(data, dict):
                params.update({k: str(v) for k, v in data.items() if v is not None})
        else:
            params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


@routes.route("*", "/login/oauth/authorize")
async def authorize(request: web.Request) -> web.Response:
    """The sign-in and consent pages in one: a form until a login is given, then the redirect."""
    sim: GitHubSimulator = request.app[SIM]
    oauth: OAuthUsers = sim.oauth
    params = await _params(request)
    if params.get("client_id") != oauth.client_id:
        return _page("Page not found", "<h1>404</h1><p>No such application.</p>", 404)
    redirect_uri = params.get("redirect_uri", "")
    target = urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.netloc:
        return _page("Redirect URI", "<p>The redirect_uri is not a web address.</p>", 400)
    if oauth.callback_url and not redirect_uri.startswith(oauth.callback_url):
        return _page(
            "Redirect URI",
            "<p>The redirect_uri MUST match the registered callback URL for this application.</p>",
            400,
        )
    state = params.get("state", "")
    if params.get("deny"):
        denied = _with_query(
            redirect_uri,
            error="access_denied",
            error_description="The user has denied your application access.",
            state=state,
        )
        return _redirect(denied)
    login = params.get("login", "").strip()
    if login:
        account = sim.world.account(login)
        code = oauth.issue_code(account.login, redirect_uri)
        return _redirect(_with_query(redirect_uri, code=code, state=state))
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
        for name in ("client_id", "redirect_uri", "state", "scope")
    )
    app_name = html.escape(sim.world.app.name)
    return _page(
        f"Authorize {sim.world.app.name}",
        f"<h1>Sign in to GitHub</h1><p>to continue to <strong>{app_name}</strong></p>"
        f'<form method="post" action="/login/oauth/authorize">{hidden}'
        '<label for="login_field">Username or email address</label><br>'
        '<input id="login_field" name="login" autocomplete="username" required autofocus><br>'
        '<button type="submit" name="authorize" value="1">Authorize '
        f"{app_name}</button> "
        '<button type="submit" name="deny" value="1" formnovalidate>Cancel</button></form>',
    )


def _token_answer(request: web.Request, body: dict[str, Any]) -> web.Response:
    # GitHub answers 200 even for errors; the format follows the Accept header.
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(body)
    return web.Response(
        text=urlencode({k: str(v) for k, v in body.items()}),
        content_type="application/x-www-form-urlencoded",
    )


def _error(request: web.Request, error: str, description: str, anchor: str) -> web.Response:
    return _token_answer(
        request,
        {"error": error, "error_description": description, "error_uri": TROUBLESHOOTING + anchor},
    )


@routes.post("/login/oauth/access_token")
async def access_token(request: web.Request) -> web.Response:
    sim: GitHubSimulator = request.app[SIM]
    oauth: OAuthUsers = sim.oauth
    params = await _params(request)
    if params.get("client_id") != oauth.client_id or not secrets.compare_digest(
        params.get("client_secret", ""), oauth.client_secret
    ):
        return _error(
            request,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
            "#incorrect-client-credentials",
        )
    code = oauth.codes.get(params.get("code", ""))
    if code is None or code.used or code.expires_at <= time.time():
        if code is not None:
            code.used = True
        return _error(
            request,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
            "#bad-verification-code",
        )
    code.used = True
    if params.get("redirect_uri") and params["redirect_uri"] != code.redirect_uri:
        return _error(
            request,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
            "#redirect-uri-mismatch2",
        )
    token = "ghu_" + "".join(secrets.choice(_ALPHANUM) for _ in range(36))
    oauth.tokens[token] = UserToken(
        token, code.login, oauth.client_id, time.time() + USER_TOKEN_TTL_S
    )
    refresh = "ghr_" + "".join(secrets.choice(_ALPHANUM) for _ in range(76))
    return _token_answer(
        request,
        {
            "access_token": token,
            "expires_in": USER_TOKEN_TTL_S,
            "refresh_token": refresh,
            "refresh_token_expires_in": 15_811_200,
            "scope": "",
            "token_type": "bearer",
        },
    )


@routes.get("/user")
async def get_user(request: web.Request) -> web.Response:
    """The signed-in user, for a user token."""
    sim: GitHubSimulator = request.app[SIM]
    token = credential(request)
    if token is None:
        raise ApiError(401, "Requires authentication")
    if token in sim.world.tokens:  # an installation token is nobody
        raise ApiError(403, "Resource not accessible by integration")
    found = sim.oauth.user_for(token)
    if found is None:
        raise ApiError(401, "Bad credentials")
    account = sim.world.account(found.login)
    now = shapes.iso(time.time())
    return web.json_response(
        shapes.user(sim.urls, account)
        | {
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": now,
            "updated_at": now,
        }
    )
