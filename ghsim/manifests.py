"""Registering the App from a manifest, as GitHub does it
(https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):

1. a page POSTs `manifest` (JSON) to `/settings/apps/new` (or `/organizations/ORG/settings/apps/
   new`), with `state` in the query; GitHub shows the App's name and a "Create GitHub App" button;
2. pressing it registers the App and redirects to the manifest's `redirect_url` with a
   temporary `code` and the `state`;
3. `POST /app-manifests/{code}/conversions` (no authentication) answers 201 with the App and its
   credentials: `id`, `pem`, `webhook_secret`, `client_id`, `client_secret`. A code works once,
   for an hour.

The simulator has one App: registering it gives that App the manifest's name, permissions,
events, webhook URL and callback URL, and the conversion hands out its credentials."""

from __future__ import annotations

import html
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from ghsim import shapes
from ghsim.api import SIM, ApiError
from ghsim.oauth import _page, _redirect, _with_query

if TYPE_CHECKING:
    from ghsim.server import GitHubSimulator

routes = web.RouteTableDef()
CODE_TTL_S = 3600.0
DOCS = "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"


@dataclass
class Registration:
    manifest: dict[str, Any]
    owner: str | None  # the org it is registered under; None: the signed-in user
    expires: float


@routes.post("/settings/apps/new")
async def new_for_user(request: web.Request) -> web.Response:
    return await _new(request, None)


@routes.post("/organizations/{org}/settings/apps/new")
async def new_for_org(request: web.Request) -> web.Response:
    return await _new(request, request.match_info["org"])


async def _new(request: web.Request, org: str | None) -> web.Response:
    """The manifest's review page; with `create`, the App is registered and the browser goes to
    the manifest's redirect_url."""
    sim: GitHubSimulator = request.app[SIM]
    form = await request.post()
    state = request.query.get("state") or str(form.get("state") or "")
    try:
        manifest = _manifest(str(form.get("manifest") or ""))
    except ValueError as err:
        return _page("Invalid manifest", f"<h1>Invalid GitHub App manifest</h1><p>{err}</p>", 422)
    if org is not None and sim.world.accounts.get(org.lower()) is None:
        return _page("Page not found", "<h1>404</h1><p>No such organization.</p>", 404)
    if not form.get("create"):
        hidden = (
            f'<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">'
            f'<input type="hidden" name="state" value="{html.escape(state)}">'
        )
        name = html.escape(str(manifest.get("name") or ""))
        return _page(
            "Create GitHub App",
            f"<h1>Create GitHub App for {html.escape(org or 'your account')}</h1>"
            f'<form method="post">{hidden}<label>GitHub App name <input name="name" '
            f'value="{name}"></label><button type="submit" name="create" value="1">'
            "Create GitHub App</button></form>",
        )
    if form.get("name"):
        manifest["name"] = str(form["name"])
    code = secrets.token_hex(10)
    sim.manifest_codes[code] = Registration(manifest, org, time.time() + CODE_TTL_S)
    return _redirect(_with_query(manifest["redirect_url"], code=code, state=state))


def _manifest(text: str) -> dict[str, Any]:
    """The manifest's fields GitHub checks before it shows the page."""
    try:
        manifest = json.loads(text)
    except ValueError:
        raise ValueError("The manifest is not JSON.") from None
    if not isinstance(manifest, dict):
        raise ValueError("The manifest is not a JSON object.")
    for key in ("url", "redirect_url"):
        if not _web_address(manifest.get(key)):
            raise ValueError(f"{key} is not a web address.")
    hook = manifest.get("hook_attributes")
    if hook is not None and not (isinstance(hook, dict) and _web_address(hook.get("url"))):
        raise ValueError("hook_attributes.url is not a web address.")
    return manifest


def _web_address(value: object) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


@routes.post("/app-manifests/{code}/conversions")
async def conversion(request: web.Request) -> web.Response:
    sim: GitHubSimulator = request.app[SIM]
    registration = sim.manifest_codes.pop(request.match_info["code"], None)
    if registration is None or registration.expires < time.time():
        raise ApiError(404, "Not Found", docs=DOCS)
    app = sim.register(registration.manifest, owner=registration.owner)
    body = shapes.app(sim.urls, app)
    body |= {
        "client_id": sim.client_id,
        "client_secret": sim.oauth.client_secret,
        "webhook_secret": sim.webhook_secret,
        "pem": sim.private_key_pem.decode(),
    }
    return web.json_response(body, status=201)
