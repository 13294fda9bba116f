"""Injected faults: failures and delays for the app's retry paths."""

from __future__ import annotations

import time

import pytest
from gidgethub import BadRequest, GitHubBroken

from .conftest import ORG, REPO


async def test_fail_ratio_one_answers_502(sim, gh, token):
    sim.set_fault(fail_ratio=1.0, times=2)
    for _ in range(2):
        with pytest.raises(GitHubBroken):
            await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert (await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token))["name"] == REPO
    assert [r.status for r in sim.requests[-3:]] == [502, 502, 200]


async def test_secondary_rate_limit_carries_retry_after(sim, session, token):
    sim.set_fault(fail_ratio=1.0, status=403, methods=["POST"], retry_after=7)
    async with session.post(
        f"{sim.url}/repos/{ORG}/{REPO}/check-runs",
        json={"name": "x", "head_sha": "0" * 40},
        headers={"Authorization": f"token {token}"},
    ) as response:
        assert response.status == 403
        assert response.headers["retry-after"] == "7"
        assert "secondary rate limit" in (await response.json())["message"]


async def test_fault_limited_to_a_path_prefix(sim, gh, token):
    sim.set_fault(fail_ratio=1.0, path_prefix="/repos/other")
    assert (await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token))["name"] == REPO


async def test_delay_slows_every_matching_request(sim, gh, token):
    sim.set_fault(delay=0.2)
    started = time.monotonic()
    await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert time.monotonic() - started >= 0.2
    sim.clear_fault()
    started = time.monotonic()
    await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert time.monotonic() - started < 0.2


async def test_unknown_route_is_github_404(sim, gh, token):
    with pytest.raises(BadRequest) as caught:
        await gh.getitem("/no/such/endpoint", oauth_token=token)
    assert caught.value.status_code == 404
