"""Webhook payloads in GitHub's shapes, and signed deliveries recorded as GitHub records them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ghsim import shapes
from ghsim.checks import representation
from ghsim.gitobj import ZERO_SHA
from ghsim.shapes import Urls
from ghsim.state import Account, CheckRun, CheckSuite, Commit, Installation, Repo, World

USER_AGENT = "GitHub-Hookshot/5a2c4f1"
RESPONSE_BODY_LIMIT = 64 * 1024


@dataclass
class Delivery:
    """One attempt to deliver an event, as `GET /app/hook/deliveries/{id}` describes it."""

    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    payload: dict[str, Any]
    url: str | None
    redelivery: bool
    delivered_at: float = 0.0
    duration: float = 0.0
    status_code: int = 0
    status: str = "pending"
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": shapes.iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 3),
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.item(),
            "url": self.url,
            "request": {"headers": dict(self.request_headers), "payload": self.payload},
            "response": {"headers": dict(self.response_headers), "payload": self.response_body},
        }


def sign(body: bytes, secret: str) -> dict[str, str]:
    """The signature headers GitHub adds when the hook has a secret."""
    key = secret.encode()
    return {
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


async def send(
    session: aiohttp.ClientSession,
    delivery: Delivery,
    *,
    secret: str | None,
    hook_id: int,
    app_id: int,
    timeout: float,
) -> Delivery:
    """POST the delivery's payload; every outcome, including no connection, is recorded."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Delivery": delivery.guid,
        "X-GitHub-Event": delivery.event,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
    }
    if secret:
        headers.update(sign(body, secret))
    delivery.request_headers = headers
    delivery.delivered_at = time.time()
    started = time.monotonic()
    if not delivery.url:
        delivery.status, delivery.status_code = "no webhook URL configured", 0
        return delivery
    try:
        async with session.post(
            delivery.url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            text = (await response.read())[:RESPONSE_BODY_LIMIT].decode("utf-8", "replace")
            delivery.status_code = response.status
            delivery.status = (
                "OK" if response.status < 300 else (f"Invalid HTTP Response: {response.status}")
            )
            delivery.response_headers = dict(response.headers)
            delivery.response_body = text
    except TimeoutError:
        delivery.status, delivery.status_code = "timed out", 504
    except aiohttp.ClientError:
        delivery.status, delivery.status_code = "failed to connect", 502
    delivery.duration = time.monotonic() - started
    return delivery


def new_guid() -> str:
    return str(uuid.uuid4())


# -- payload builders -----------------------------------------------------------------------
def _envelope(
    urls: Urls,
    world: World,
    repo: Repo,
    sender: Account,
    *,
    push_event: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {"repository": shapes.repository(urls, repo, push_event=push_event)}
    if repo.owner.type == "Organization":
        data["organization"] = shapes.organization(urls, repo.owner)
    data["sender"] = shapes.user(urls, sender)
    installation = world.installation_covering(repo)
    if installation is not None:
        data["installation"] = shapes.installation_ref(installation)
    return data


def push_payload(
    urls: Urls,
    world: World,
    repo: Repo,
    *,
    ref: str,
    before: str,
    after: str,
    commits: list[tuple[Commit, Commit | None]],
    pusher: Account,
    base_ref: str | None = None,
    forced: bool = False,
) -> dict[str, Any]:
    """A `push` payload; `commits` pairs each new commit with its parent (oldest first)."""
    created, deleted = before == ZERO_SHA, after == ZERO_SHA
    html = urls.repo_html(repo)
    if created:
        compare = f"{html}/compare/{ref.rsplit('/', 1)[-1]}"
    else:
        compare = f"{html}/compare/{before[:12]}...{after[:12]}"
    entries = [shapes.push_commit(urls, repo, c, p) for c, p in commits]
    head = repo.commits.get(after)
    if entries:
        head_commit: dict[str, Any] | None = entries[-1]
    elif head is not None:
        parent = repo.commits.get(head.parents[0]) if head.parents else None
        head_commit = {**shapes.push_commit(urls, repo, head, parent), "distinct": False}
    else:
        head_commit = None
    envelope = _envelope(urls, world, repo, pusher, push_event=True)
    payload: dict[str, Any] = {
        "ref": ref,
        "before": before,
        "after": after,
        "created": created,
        "deleted": deleted,
        "forced": forced,
        "base_ref": base_ref,
        "compare": compare,
        "commits": entries,
        "head_commit": head_commit,
        "repository": envelope.pop("repository"),
        "pusher": {"name": pusher.login, "email": pusher.email},
    }
    payload.update(envelope)
    return payload


_SUITE_KEYS_NOT_IN_CHECK_RUN_EVENTS = (
    "head_commit",
    "latest_check_runs_count",
    "check_runs_url",
    "rerequestable",
    "runs_rerequestable",
)


def check_run_payload(
    urls: Urls,
    world: World,
    run: CheckRun,
    action: str,
    sender: Account,
    *,
    requested_action: str | None = None,
) -> dict[str, Any]:
    check_run = representation(urls, run, world.app)
    suite = shapes.check_suite(urls, world, run.suite)
    for key in _SUITE_KEYS_NOT_IN_CHECK_RUN_EVENTS:
        suite.pop(key)
    check_run["check_suite"] = suite
    payload: dict[str, Any] = {"action": action, "check_run": check_run}
    if requested_action is not None:
        payload["requested_action"] = {"identifier": requested_action}
    payload.update(_envelope(urls, world, run.repo, sender))
    return payload


def check_suite_payload(
    urls: Urls, world: World, suite: CheckSuite, action: str, sender: Account
) -> dict[str, Any]:
    return {
        "action": action,
        "check_suite": shapes.check_suite(urls, world, suite),
        **_envelope(urls, world, suite.repo, sender),
    }


def installation_payload(
    urls: Urls, world: World, inst: Installation, action: str, sender: Account
) -> dict[str, Any]:
    return {
        "action": action,
        "installation": shapes.installation(urls, inst, world.app, webhook=True),
        "repositories": [shapes.repository_brief(r) for r in world.installed_repos(inst)],
        "requester": None,
        "sender": shapes.user(urls, sender),
    }


def installation_repositories_payload(
    urls: Urls,
    world: World,
    inst: Installation,
    action: str,
    sender: Account,
    *,
    added: Sequence[Repo] = (),
    removed: Sequence[Repo] = (),
) -> dict[str, Any]:
    return {
        "action": action,
        "installation": shapes.installation(urls, inst, world.app, webhook=True),
        "repository_selection": inst.repository_selection,
        "repositories_added": [shapes.repository_brief(r) for r in added],
        "repositories_removed": [shapes.repository_brief(r) for r in removed],
        "requester": shapes.user(urls, sender),
        "sender": shapes.user(urls, sender),
    }
