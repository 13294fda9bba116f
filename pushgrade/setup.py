"""`pushgrade setup`: register the GitHub App in one step, with GitHub's manifest flow.

A page on loopback posts pushgrade's manifest (its permissions and events, with the host's public
URL filled in) to GitHub, or a GitHub Enterprise Server; the person presses "Create GitHub App"
there; GitHub sends the browser back with a code; the code is exchanged for the App's id, private
key, webhook secret and OAuth client (`POST /app-manifests/{code}/conversions`), which are
written where `pushgrade serve` reads them: `pushgrade.env` and the key file, both readable by
their owner only. Then the install link is printed.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from ghapp.github import API_VERSION, API_VERSION_HEADER

ENV_FILE = "pushgrade.env"
KEY_FILE = "pushgrade-app.pem"
# What the App may do and hear (app.yml says the same; tests/unit/test_setup.py holds them equal).
PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "metadata": "read",
    "members": "read",
    "administration": "write",  # handing out: repositories from templates, collaborators
}
EVENTS = ["push", "check_run", "check_suite"]


class SetupError(Exception):
    """What stops the setup; the message is one line saying what to do."""


@dataclass(frozen=True)
class Plan:
    public_url: str  # where GitHub reaches pushgrade: webhooks, the dashboard's sign-in
    github_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    org: str | None = None  # register it under this org; None: the signed-in user
    name: str = "pushgrade"
    folder: Path = Path(".")


def manifest(plan: Plan, redirect_url: str) -> dict:
    """GitHub's App manifest for pushgrade at `plan.public_url`."""
    return {
        "name": plan.name,
        "url": plan.public_url,
        "description": "Grades programming assignments on every push, in the teacher's "
        "sandboxed Docker image.",
        "hook_attributes": {"url": f"{plan.public_url}/webhooks/github", "active": True},
        "redirect_url": redirect_url,
        "callback_urls": [f"{plan.public_url}/login/callback"],
        "public": False,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }


def api_url_for(github_url: str) -> str:
    """The REST API of a GitHub: api.github.com, or a GitHub Enterprise Server's /api/v3."""
    return (
        "https://api.github.com"
        if urlsplit(github_url).netloc == "github.com"
        else f"{github_url.rstrip('/')}/api/v3"
    )


def check_folder(folder: Path) -> None:
    for name in (ENV_FILE, KEY_FILE):
        if (folder / name).exists():
            raise SetupError(
                f"{folder / name} exists already: this folder has an App; move it away to "
                "register another"
            )


class Setup:
    """The loopback page and its callback; `done` holds the install link once written."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.state = secrets.token_urlsafe(24)
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.start_page)
        app.router.add_get("/callback", self.callback)
        return app

    async def start_page(self, request: web.Request) -> web.Response:
        where = (
            f"/organizations/{self.plan.org}/settings/apps/new"
            if self.plan.org
            else "/settings/apps/new"
        )
        action = f"{self.plan.github_url}{where}?state={self.state}"
        data = html.escape(json.dumps(manifest(self.plan, f"{self.url}/callback")))
        return _page(
            "Register pushgrade",
            f"<h1>Register pushgrade on GitHub</h1><p>GitHub will ask you to name the App and "
            f"create it for {html.escape(self.plan.org or 'your account')}; it then sends you "
            f"back here.</p>"
            f'<form id="register" method="post" action="{html.escape(action)}">'
            f'<input type="hidden" name="manifest" value="{data}">'
            '<button type="submit">Continue to GitHub</button></form>',
        )

    async def callback(self, request: web.Request) -> web.Response:
        code = request.query.get("code", "")
        if not secrets.compare_digest(request.query.get("state", ""), self.state) or not code:
            return _page("Not this setup", "<p>This link is not from this setup.</p>", 400)
        if self.done.done():
            return _page("Done", "<p>The App is registered already.</p>")
        try:
            install = await self.convert(code)
        except SetupError as err:
            if not self.done.done():
                self.done.set_exception(err)
            return _page("Setup failed", f"<p>{html.escape(str(err))}</p>", 502)
        self.done.set_result(install)
        link = html.escape(install)
        return _page(
            "pushgrade is registered",
            "<h1>pushgrade is registered</h1><p>Its settings are in "
            f"<code>{html.escape(str(self.plan.folder / ENV_FILE))}</code>. Now "
            f'<a href="{link}">install it on your classroom org</a>.</p>',
        )

    async def convert(self, code: str) -> str:
        """The App's credentials for `code`, written; the install link."""
        url = f"{self.plan.api_url}/app-manifests/{code}/conversions"
        headers = {
            "Accept": "application/vnd.github+json",
            "User-Agent": "pushgrade-setup",
            API_VERSION_HEADER: API_VERSION,
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
                http.post(url, headers=headers) as answer,
            ):
                body = await answer.json(content_type=None)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise SetupError(f"GitHub at {self.plan.api_url} did not answer: {err}") from None
        if status != 201 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            raise SetupError(f"GitHub refused the code ({status} {message or ''}); run setup again")
        try:
            write(self.plan, body)
            return f"{body['html_url']}/installations/new"
        except (KeyError, TypeError, ValueError) as err:
            raise SetupError(f"GitHub's answer is not an App's: {err}") from None


def write(plan: Plan, app: dict) -> None:
    """The App's settings into `pushgrade.env`, its key into `pushgrade-app.pem`: both made
    readable by their owner only before a secret is written."""
    key = _create_private(plan.folder / KEY_FILE)
    with os.fdopen(key, "w") as out:
        out.write(app["pem"])
    settings = {
        "PUSHGRADE_APP_ID": str(int(app["id"])),
        "PUSHGRADE_PRIVATE_KEY_FILE": str((plan.folder / KEY_FILE).resolve()),
        "PUSHGRADE_WEBHOOK_SECRET": str(app["webhook_secret"]),
        "PUSHGRADE_OAUTH_CLIENT_ID": str(app["client_id"]),
        "PUSHGRADE_OAUTH_CLIENT_SECRET": str(app["client_secret"]),
        "PUSHGRADE_SESSION_SECRET": secrets.token_urlsafe(32),
        "PUSHGRADE_PUBLIC_URL": plan.public_url,
        "PUSHGRADE_GITHUB_URL": plan.github_url,
        "PUSHGRADE_GITHUB_API_URL": plan.api_url,
    }
    for name, value in settings.items():
        if any(c in value for c in "\n\r\0"):
            raise SetupError(f"GitHub's answer gives {name} a value on several lines")
    env = _create_private(plan.folder / ENV_FILE)
    with os.fdopen(env, "w") as out:
        out.write(
            f"# The GitHub App {app.get('slug') or plan.name}, registered by pushgrade setup\n"
        )
        out.writelines(f"{name}={value}\n" for name, value in settings.items())


def _create_private(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SetupError(f"{path} exists already") from None
    except OSError as err:
        raise SetupError(f"cannot write {path}: {err.strerror}") from None


async def run(plan: Plan, *, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 1800):
    """Serve the page until the App is registered (the install link) or `timeout_s` passes."""
    check_folder(plan.folder)
    setup = Setup(plan)
    runner = web.AppRunner(setup.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise SetupError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    bound = runner.addresses[0]
    setup.url = f"http://{bound[0]}:{bound[1]}"
    print(f"pushgrade: open {setup.url}/ in a browser to register the App on GitHub", flush=True)
    try:
        return await asyncio.wait_for(asyncio.shield(setup.done), timeout_s)
    except TimeoutError:
        raise SetupError(f"no App was registered within {timeout_s / 60:g} minutes") from None
    finally:
        await asyncio.sleep(0.2)  # the callback's page reaches the browser
        await runner.cleanup()


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
            f'{html.escape(title)}</title></head><body style="font-family: sans-serif; '
            f'max-width: 36rem; margin: 3rem auto">{body}</body></html>'
        ),
    )
