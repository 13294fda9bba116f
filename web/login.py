"""Signing in with GitHub (the OAuth web flow) and out.

`/login` binds a random `state` to this browser in a short-lived signed cookie and sends it to
GitHub; `/login/callback` accepts GitHub's answer only with that state, trades the one-time code
for the person's user token (server to server: the token never reaches the browser), asks
GitHub who it belongs to, and starts a session. `POST /logout` ends it.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from ghapp.github import API_VERSION, API_VERSION_HEADER
from web.dashboard import Dashboard, Refusal, page
from web.sessions import LOGIN_TTL_S, SESSION_TTL_S, LoginAttempt, safe_next

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TIMEOUT = aiohttp.ClientTimeout(total=15)


class OAuthFailed(Exception):
    """GitHub would not sign this person in; the message is safe to show."""


def callback_url(dash: Dashboard) -> str:
    return f"{dash.public_url}/login/callback"


@routes.get("/login")
@page
async def login(request: web.Request, dash: Dashboard) -> web.Response:
    attempt = LoginAttempt(
        state=secrets.token_urlsafe(32), next=safe_next(request.query.get("next"))
    )
    query = urlencode(
        {
            "client_id": dash.settings.client_id,
            "redirect_uri": callback_url(dash),
            "state": attempt.state,
            "allow_signup": "false",
        }
    )
    response = web.Response(
        status=302,
        headers={
            "Location": f"{dash.settings.github_url.rstrip('/')}/login/oauth/authorize?{query}"
        },
    )
    response.set_cookie(
        dash.cookies.login_name,
        dash.cookies.sign_login(attempt),
        **dash.cookies.attributes(LOGIN_TTL_S),
    )
    return response


@routes.get("/login/callback")
@page
async def callback(request: web.Request, dash: Dashboard) -> web.Response:
    attempt = dash.cookies.read_login(request.cookies.get(dash.cookies.login_name))
    if attempt is None:
        raise Refusal(
            400,
            "Sign in again",
            "This sign-in was not started in this browser, or took more than ten minutes.",
        )
    state = request.query.get("state", "")
    if not hmac.compare_digest(state.encode(), attempt.state.encode()):
        raise Refusal(
            400, "Sign in again", "GitHub's answer does not belong to this browser's sign-in."
        )
    if "error" in request.query:
        raise Refusal(
            400,
            "Not signed in",
            f"GitHub did not sign you in ({request.query['error'][:100]}).",
        )
    code = request.query.get("code", "")
    if not code or len(code) > 200:
        raise Refusal(400, "Sign in again", "GitHub's answer carries no sign-in code.")
    try:
        token = await _exchange(dash, code)
        login_name, user_id = await _whoami(dash, token)
    except OAuthFailed as err:
        raise Refusal(400, "Not signed in", f"{err} Sign in again.") from None
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        log.warning("sign-in: GitHub did not answer (%s)", type(err).__name__)
        raise Refusal(502, "GitHub did not answer", "Signing in needs GitHub: try again.") from None
    earlier = await dash.signed_in(request)
    if earlier is not None:  # a new sign-in in this browser: the old session ends
        await dash.store.end(earlier)
    raw_id = await dash.store.create(login=login_name, user_id=user_id, token=token)
    log.info("%s signed in to the dashboard", login_name)
    response = web.Response(status=303, headers={"Location": attempt.next})
    response.set_cookie(
        dash.cookies.session_name,
        dash.cookies.sign_session(raw_id),
        **dash.cookies.attributes(SESSION_TTL_S),
    )
    dash.cookies.clear(response, dash.cookies.login_name)
    return response


async def _exchange(dash: Dashboard, code: str) -> str:
    """The user token for a one-time code. GitHub answers 200 with an `error` when it refuses."""
    async with dash.http.post(
        f"{dash.settings.github_url.rstrip('/')}/login/oauth/access_token",
        data={
            "client_id": dash.settings.client_id,
            "client_secret": dash.settings.client_secret,
            "code": code,
            "redirect_uri": callback_url(dash),
        },
        headers={"Accept": "application/json", "User-Agent": "pushgrade"},
        timeout=_TIMEOUT,
    ) as response:
        if response.status >= 500:
            raise aiohttp.ClientResponseError(
                response.request_info, (), status=response.status, message="GitHub error"
            )
        answer = await response.json(content_type=None)
    if not isinstance(answer, dict):
        raise OAuthFailed("GitHub's answer to the sign-in could not be read.")
    if "error" in answer:
        error = str(answer["error"])[:100]
        raise OAuthFailed(f"GitHub refused the sign-in code ({error}).")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise OAuthFailed("GitHub's answer to the sign-in carries no token.")
    return token


async def _whoami(dash: Dashboard, token: str) -> tuple[str, int]:
    async with dash.http.get(
        f"{dash.settings.api_url.rstrip('/')}/user",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "User-Agent": "pushgrade",
            API_VERSION_HEADER: API_VERSION,
        },
        timeout=_TIMEOUT,
    ) as response:
        if response.status in (401, 403):
            raise OAuthFailed("GitHub did not accept the new sign-in.")
        if response.status != 200:
            raise aiohttp.ClientResponseError(
                response.request_info, (), status=response.status, message="GitHub error"
            )
        user = await response.json(content_type=None)
    login_name = user.get("login") if isinstance(user, dict) else None
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(login_name, str) or not GITHUB_LOGIN.match(login_name):
        raise OAuthFailed("GitHub did not say who signed in.")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise OAuthFailed("GitHub did not say who signed in.")
    return login_name, user_id


@routes.post("/logout")
@page
async def logout(request: web.Request, dash: Dashboard) -> web.Response:
    user = await dash.signed_in(request)
    if user is not None:
        dash.require_csrf(request, user, await dash.form(request))
        await dash.store.end(user)
    response = web.Response(status=303, headers={"Location": "/"})
    dash.cookies.clear(response, dash.cookies.session_name)
    return response
