"""Webhook deliveries: GitHub's headers and signatures, real payload shapes, recorded attempts."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ghsim.gitobj import ZERO_SHA

from .conftest import ORG, REPO, app_jwt

PAYLOADS = Path("/work/shared/github/payloads")


def reference(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def shape(value: Any) -> Any:
    """Key structure only: dicts by key, lists by their first element, scalars as None."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


PUSH_COMMIT_KEYS = {
    "id",
    "tree_id",
    "distinct",
    "message",
    "timestamp",
    "url",
    "author",
    "committer",
    "added",
    "removed",
    "modified",
}


async def test_push_delivers_a_signed_webhook_gidgethub_accepts(sim, receiver):
    sha = await sim.push(ORG, REPO, {"solution.py": "print(1)\n"})
    [event] = [e for e in receiver.events if e.event == "push"]
    assert event.data["after"] == sha
    headers = receiver.headers[0]
    assert uuid.UUID(headers["X-GitHub-Delivery"]).version == 4
    assert headers["X-GitHub-Event"] == "push"
    assert headers["X-GitHub-Hook-ID"] == str(sim.hook_id)
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == str(sim.app_id)
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Hub-Signature"].startswith("sha1=")
    assert sim.deliveries[0].ok and sim.deliveries[0].status == "OK"


async def test_push_payload_has_the_real_shape(sim, receiver):
    sha = await sim.push(ORG, REPO, {"solution.py": "print(1)\n", "README.md": None})
    payload = receiver.of("push")[0]
    org_variant = reference("push/1.payload.json")
    installed_variant = reference("push/with-installation.payload.json")
    assert set(payload) == set(org_variant) | set(installed_variant)
    for key in ("repository", "pusher", "sender", "organization"):
        assert shape(payload[key]) == shape(org_variant[key]), key
    assert shape(payload["installation"]) == shape(installed_variant["installation"])
    assert set(payload["head_commit"]) == PUSH_COMMIT_KEYS
    assert set(payload["head_commit"]["author"]) == {"name", "email", "username"}
    assert payload["commits"] == [payload["head_commit"]]
    assert payload["head_commit"]["added"] == ["solution.py"]
    assert payload["head_commit"]["removed"] == ["README.md"]
    assert payload["ref"] == "refs/heads/main"
    assert (payload["created"], payload["deleted"], payload["forced"]) == (False, False, False)
    assert payload["before"] == sim.world.repo(ORG, REPO).commits[sha].parents[0]
    assert payload["repository"]["full_name"] == f"{ORG}/{REPO}"
    assert payload["repository"]["private"] is True
    assert payload["repository"]["default_branch"] == "main"
    assert payload["installation"]["id"] == sim.world.installation_for(ORG).id
    assert payload["pusher"]["name"] == payload["sender"]["login"] == "student"


async def test_push_is_followed_by_check_suite_requested(sim, receiver):
    sha = await sim.push(ORG, REPO, {"a": "1"})
    assert [e.event for e in receiver.events] == ["push", "check_suite"]
    suite = receiver.of("check_suite")[0]
    assert suite["action"] == "requested"
    assert suite["check_suite"]["head_sha"] == sha
    assert set(suite) == set(reference("check_suite/requested.payload.json")) | {"organization"}


async def test_new_branch_push_is_created(sim, receiver):
    await sim.push(ORG, REPO, {"a": "1"}, branch="feature")
    payload = receiver.of("push")[0]
    assert payload["created"] is True and payload["before"] == ZERO_SHA
    assert payload["ref"] == "refs/heads/feature"


async def test_branch_deletion_has_zero_after_and_deleted_true(sim, receiver):
    await sim.push(ORG, REPO, {"a": "1"}, branch="feature")
    await sim.delete_branch(ORG, REPO, "feature")
    payload = receiver.of("push")[-1]
    assert payload["after"] == ZERO_SHA
    assert payload["deleted"] is True and payload["created"] is False
    assert payload["commits"] == [] and payload["head_commit"] is None


async def test_tag_push_names_its_base_branch(sim, receiver):
    await sim.push_tag(ORG, REPO, "v1.0")
    payload = receiver.of("push")[-1]
    assert payload["ref"] == "refs/tags/v1.0"
    assert payload["created"] is True and payload["base_ref"] == "refs/heads/main"
    assert payload["commits"] == [] and payload["head_commit"]["distinct"] is False


async def test_push_to_a_repository_outside_the_installation_sends_nothing(sim, receiver):
    sim.create_repo("elsewhere", "repo")
    await sim.push("elsewhere", "repo", {"a": "1"})
    assert receiver.events == []


async def test_delivery_to_a_dead_url_is_recorded_as_failed(sim):
    sim.webhook_url = "http://127.0.0.1:9/webhooks/github"
    await sim.push(ORG, REPO, {"a": "1"})
    push = sim.deliveries[0]
    assert push.event == "push" and not push.ok
    assert push.status == "failed to connect"


async def test_wrong_secret_is_refused_by_the_receiver(sim, receiver):
    delivery = await sim.deliver("ping", {"zen": "Keep it simple."}, secret="not-the-secret")
    assert delivery.status_code == 500 and not delivery.ok
    assert receiver.events == []


async def test_slow_receiver_times_out(sim):
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.Response()

    app = web.Application()
    app.router.add_post("/", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    sim.webhook_url, sim.webhook_timeout = f"http://{host}:{port}/", 0.05
    delivery = await sim.deliver("ping", {})
    await runner.cleanup()
    assert delivery.status == "timed out" and not delivery.ok


async def test_redelivery_keeps_the_guid(sim, receiver):
    receiver.status = 503
    first = await sim.deliver("push", {"ref": "refs/heads/main"})
    receiver.status = 202
    again = await sim.redeliver(first.id)
    assert again.guid == first.guid and again.id != first.id
    assert again.redelivery and again.ok and not first.ok
    assert [h["X-GitHub-Delivery"] for h in receiver.headers] == [first.guid, first.guid]


async def test_deliveries_are_listed_newest_first_with_cursor_pagination(sim, gh, receiver):
    for n in range(5):
        await sim.deliver("ping", {"n": n})
    bearer = app_jwt(sim)
    page = await gh.getitem("/app/hook/deliveries?per_page=2", jwt=bearer)
    assert [d["id"] for d in page] == [d.id for d in sim.deliveries[::-1][:2]]
    assert set(page[0]) >= {
        "id",
        "guid",
        "delivered_at",
        "redelivery",
        "duration",
        "status",
        "status_code",
        "event",
        "action",
        "installation_id",
        "repository_id",
    }
    everything = [d async for d in gh.getiter("/app/hook/deliveries?per_page=2", jwt=bearer)]
    assert [d["id"] for d in everything] == [d.id for d in reversed(sim.deliveries)]


async def test_delivery_detail_and_redelivery_over_the_api(sim, gh, receiver):
    first = await sim.deliver("ping", {"zen": "Speak like a human."})
    bearer = app_jwt(sim)
    detail = await gh.getitem(f"/app/hook/deliveries/{first.id}", jwt=bearer)
    assert detail["guid"] == first.guid
    assert detail["request"]["payload"] == {"zen": "Speak like a human."}
    assert detail["request"]["headers"]["X-GitHub-Event"] == "ping"
    assert detail["response"]["payload"] == "queued"
    await gh.post(f"/app/hook/deliveries/{first.id}/attempts", data=b"", jwt=bearer)
    await sim.drain()
    assert [d.guid for d in sim.deliveries] == [first.guid, first.guid]
    assert sim.deliveries[-1].redelivery


async def test_failed_deliveries_can_be_filtered(sim, gh, receiver):
    await sim.deliver("ping", {})
    receiver.status = 500
    failed = await sim.deliver("ping", {})
    listed = await gh.getitem("/app/hook/deliveries?status=failure", jwt=app_jwt(sim))
    assert [d["id"] for d in listed] == [failed.id]


# -- events GitHub sends when people press buttons -------------------------------------------
@pytest.fixture
async def check_run(sim, gh, token) -> dict[str, Any]:
    sha = await sim.push(ORG, REPO, {"a": "1"})
    action = {"label": "Regrade", "description": "Grade this push again", "identifier": "regrade"}
    return await gh.post(
        f"/repos/{ORG}/{REPO}/check-runs",
        data={"name": "pushgrade", "head_sha": sha, "conclusion": "failure", "actions": [action]},
        oauth_token=token,
    )


async def test_rerequest_check_run(sim, receiver, check_run):
    await sim.rerequest_check_run(check_run["id"])
    payload = receiver.of("check_run")[-1]
    ref = reference("check_run/rerequested.with-organization.payload.json")
    assert payload["action"] == "rerequested"
    assert set(payload) == set(ref)
    assert set(payload["check_run"]) >= set(ref["check_run"])
    assert set(payload["check_run"]["check_suite"]) >= set(ref["check_run"]["check_suite"])
    assert payload["check_run"]["id"] == check_run["id"]


async def test_pressing_an_action_sends_requested_action(sim, receiver, check_run):
    await sim.press_action(check_run["id"], "regrade")
    payload = receiver.of("check_run")[-1]
    assert payload["action"] == "requested_action"
    assert payload["requested_action"] == {"identifier": "regrade"}
    assert set(payload) == set(reference("check_run/requested_action.payload.json"))
    with pytest.raises(ValueError, match="no action"):
        await sim.press_action(check_run["id"], "not-offered")


async def test_rerequest_check_suite(sim, receiver, check_run):
    await sim.rerequest_check_suite(ORG, REPO, check_run["head_sha"])
    payload = receiver.of("check_suite")[-1]
    assert payload["action"] == "rerequested"
    assert payload["check_suite"]["id"] == check_run["check_suite"]["id"]
    assert payload["check_suite"]["conclusion"] == "failure"


# -- installation events -------------------------------------------------------------------
async def test_install_and_notify_sends_installation_created(sim, receiver):
    sim.create_repo("cs202", "hw1-carol")
    installation = await sim.install_and_notify("cs202")
    payload = receiver.of("installation")[-1]
    ref = reference("installation/created.payload.json")
    assert payload["action"] == "created"
    assert set(payload) >= set(ref) - {"requester"}
    assert set(payload["installation"]) >= set(ref["installation"])
    assert payload["installation"]["id"] == installation.id
    assert [r["name"] for r in payload["repositories"]] == ["hw1-carol"]


async def test_repositories_added_and_removed(sim, receiver):
    sim.create_repo(ORG, "hw1-bob", join_installation=False)
    await sim.add_repos_and_notify(ORG, ["hw1-bob"])
    await sim.remove_repos_and_notify(ORG, [REPO])
    added, removed = receiver.of("installation_repositories")
    assert set(added) == set(reference("installation_repositories/added.payload.json"))
    assert [r["name"] for r in added["repositories_added"]] == ["hw1-bob"]
    assert [r["name"] for r in removed["repositories_removed"]] == [REPO]
    repos = {r.name for r in sim.world.installed_repos(sim.world.installation_for(ORG))}
    assert repos == {"hw1-bob"}


async def test_uninstall_revokes_tokens(sim, gh, token, receiver):
    await sim.uninstall_and_notify(ORG)
    assert receiver.of("installation")[-1]["action"] == "deleted"
    with pytest.raises(Exception) as caught:
        await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert caught.value.status_code == 401
