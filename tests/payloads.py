"""Real GitHub webhook payloads from ../shared/github/payloads (octokit/webhooks, MIT)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from functools import cache
from pathlib import Path

import pytest

PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "github" / "payloads"


@cache
def _load(name: str) -> dict:
    path = PAYLOADS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared/github/payloads beside the repo")
    return json.loads(path.read_text())


def payload(name: str) -> dict:
    """A fresh copy of a shared payload, e.g. payload("push/with-new-branch.payload.json")."""
    return copy.deepcopy(_load(name))


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(event: str, body: bytes, secret: str, guid: str | None = None) -> dict:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "123456",
        "X-Hub-Signature-256": signed(body, secret),
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
    }
