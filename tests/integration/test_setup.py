"""`pushgrade setup` against the simulator, as a newcomer runs it: the loopback page posts the
manifest to GitHub, GitHub sends the browser back with a code, and the App's credentials land
where `pushgrade serve` reads them, readable by their owner only."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from ghsim import GitHubSimulator
from tests.integration.processes import CLI

PUBLIC = "https://grades.example.edu"


class Form(HTMLParser):
    """The setup page's form: where it posts, and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""


def clean_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGRADE_")}
    return env | more


async def start_setup(sim: GitHubSimulator, folder: Path, *args: str):
    process = await asyncio.create_subprocess_exec(
        CLI, "setup", "--public-url", PUBLIC, "--github-url", sim.url, "--api-url", sim.url,
        *args, cwd=folder, env=clean_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    found = re.search(r"open (http://127\.0\.0\.1:\d+)/ in a browser", line)
    assert found, line + (await process.stderr.read()).decode()
    return process, found.group(1)


async def browse(session: aiohttp.ClientSession, page: str) -> aiohttp.ClientResponse:
    """What a browser does: the setup page, GitHub's review page, "Create GitHub App", and
    back to the setup page with the code."""
    form = Form()
    form.feed(await (await session.get(f"{page}/")).text())
    manifest = json.loads(form.fields["manifest"])
    assert manifest["hook_attributes"]["url"] == f"{PUBLIC}/webhooks/github"
    assert manifest["callback_urls"] == [f"{PUBLIC}/login/callback"]
    assert manifest["redirect_url"] == f"{page}/callback"
    review = await session.post(form.action, data=form.fields)
    assert review.status == 200
    state = form.action.split("state=", 1)[1]
    return await session.post(
        form.action.split("?")[0], data={**form.fields, "state": state, "create": "1"}
    )


async def test_setup_registers_the_app_and_serve_starts_from_what_it_wrote(sim, tmp_path):
    process, page = await start_setup(sim, tmp_path)
    async with aiohttp.ClientSession() as session:
        done = await browse(session, page)
        assert done.status == 200 and "pushgrade is registered" in await done.text()
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert f"install it on your classroom org: {sim.url}/apps/pushgrade/installations/new" in (
        out.decode()
    )
    env_file, key_file = tmp_path / "pushgrade.env", tmp_path / "pushgrade-app.pem"
    for path in (env_file, key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert key_file.read_bytes() == sim.private_key_pem
    written = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert written["PUSHGRADE_APP_ID"] == str(sim.app_id)
    assert written["PUSHGRADE_WEBHOOK_SECRET"] == sim.webhook_secret
    assert written["PUSHGRADE_OAUTH_CLIENT_SECRET"] == sim.oauth.client_secret
    assert written["PUSHGRADE_PUBLIC_URL"] == PUBLIC
    assert sim.webhook_url == f"{PUBLIC}/webhooks/github"  # GitHub was told where to deliver
    # `pushgrade web` in that folder needs nothing else.
    web = await asyncio.create_subprocess_exec(
        CLI, "web", cwd=tmp_path, env=clean_env(PUSHGRADE_PORT="0"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        line = (await asyncio.wait_for(web.stdout.readline(), 60)).decode()
    finally:
        web.terminate()
        await web.wait()
    assert line.startswith("pushgrade: web running on http://127.0.0.1:"), line


async def test_a_link_that_is_not_from_this_setup_is_refused(sim, tmp_path):
    process, page = await start_setup(sim, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            forged = await session.get(f"{page}/callback", params={"code": "x", "state": "nope"})
            assert forged.status == 400
        assert not (tmp_path / "pushgrade.env").exists()
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize("existing", ["pushgrade.env", "pushgrade-app.pem"])
async def test_setup_never_overwrites_an_apps_settings(sim, tmp_path, existing):
    (tmp_path / existing).write_text("# keep me\n")
    process = await asyncio.create_subprocess_exec(
        CLI, "setup", "--public-url", PUBLIC, cwd=tmp_path, env=clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert err.decode().count("\n") == 1 and f"{existing} exists already" in err.decode()
    assert (tmp_path / existing).read_text() == "# keep me\n"


async def test_setup_needs_a_public_url(tmp_path):
    process = await asyncio.create_subprocess_exec(
        CLI, "setup", cwd=tmp_path, env=clean_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2 and "--public-url URL: where GitHub reaches" in err.decode()
