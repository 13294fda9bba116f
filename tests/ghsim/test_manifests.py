"""Registering the App from a manifest, in GitHub's shapes: the review page, the redirect with a
code and the state, and a conversion that answers once with the App's credentials."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from .conftest import ORG

MANIFEST = {
    "name": "pushgrade-cs101",
    "url": "https://grades.example.edu",
    "hook_attributes": {"url": "https://grades.example.edu/webhooks/github"},
    "redirect_url": "http://127.0.0.1:1/setup/callback",
    "callback_urls": ["https://grades.example.edu/login/callback"],
    "public": False,
    "default_permissions": {"checks": "write", "contents": "read"},
    "default_events": ["push"],
}


async def register(sim, session, *, where="/settings/apps/new", manifest=MANIFEST, state="st8"):
    """The browser's part: post the manifest, then press "Create GitHub App". The code."""
    form = {"manifest": json.dumps(manifest)}
    review = await session.post(f"{sim.url}{where}?state={state}", data=form)
    assert review.status == 200 and "Create GitHub App" in await review.text()
    created = await session.post(
        f"{sim.url}{where}", data={**form, "state": state, "create": "1"}, allow_redirects=False
    )
    assert created.status == 302
    target = urlsplit(created.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == manifest["redirect_url"]
    query = parse_qs(target.query)
    assert query["state"] == [state]
    return query["code"][0]


async def test_a_registered_manifest_converts_once_into_the_apps_credentials(sim):
    async with aiohttp.ClientSession() as session:
        code = await register(sim, session)
        answer = await session.post(f"{sim.url}/app-manifests/{code}/conversions")
        assert answer.status == 201
        app = await answer.json()
        assert app["id"] == sim.app_id and app["name"] == "pushgrade-cs101"
        assert app["pem"].encode() == sim.private_key_pem
        assert app["webhook_secret"] == sim.webhook_secret
        assert (app["client_id"], app["client_secret"]) == (
            sim.oauth.client_id,
            sim.oauth.client_secret,
        )
        assert app["permissions"] == {"checks": "write", "contents": "read"}
        assert app["html_url"].endswith("/apps/pushgrade")
        again = await session.post(f"{sim.url}/app-manifests/{code}/conversions")
        assert again.status == 404 and (await again.json())["message"] == "Not Found"
    assert sim.webhook_url == "https://grades.example.edu/webhooks/github"
    assert sim.oauth.callback_url == "https://grades.example.edu/login/callback"


async def test_an_org_registers_it_as_its_own(sim):
    sim.create_repo(ORG, "anything")
    async with aiohttp.ClientSession() as session:
        code = await register(sim, session, where=f"/organizations/{ORG}/settings/apps/new")
        answer = await session.post(f"{sim.url}/app-manifests/{code}/conversions")
        assert (await answer.json())["owner"]["login"] == ORG


@pytest.mark.parametrize(
    ("manifest", "said"),
    [
        ("not json", "not JSON"),
        (json.dumps({**MANIFEST, "redirect_url": "javascript:alert(1)"}), "redirect_url"),
        (json.dumps({**MANIFEST, "hook_attributes": {"url": ""}}), "hook_attributes.url"),
    ],
)
async def test_a_bad_manifest_is_refused_on_its_page(sim, manifest, said):
    async with aiohttp.ClientSession() as session:
        answer = await session.post(f"{sim.url}/settings/apps/new", data={"manifest": manifest})
        assert answer.status == 422 and said in await answer.text()


async def test_an_unknown_code_is_not_found(sim):
    async with aiohttp.ClientSession() as session:
        answer = await session.post(f"{sim.url}/app-manifests/nope/conversions")
        assert answer.status == 404
