"""Secondary rate limits: 80 writes a minute, 500 an hour, 100 concurrent, per installation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from gidgethub import BadRequest, apps

from ghsim.limits import Admission, Refusal, SecondaryLimits
from ghsim.state import RecordedRequest

from .conftest import ORG, REPO

RUNS = f"/repos/{ORG}/{REPO}/check-runs"
SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@pytest.fixture
def head(sim) -> str:
    return sim.world.require_repo(ORG, REPO).branches["main"]


@pytest.fixture
def iid(sim) -> int:
    installation = sim.world.installation_for(ORG)
    assert installation is not None
    return installation.id


async def create(gh, token, head, runs: str = RUNS) -> dict[str, Any]:
    return await gh.post(runs, data={"name": "pushgrade", "head_sha": head}, oauth_token=token)


async def refused(call, status: int = 403) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        await call
    assert caught.value.status_code == status
    assert "secondary rate limit" in str(caught.value)
    return caught.value


def retry_after(error: BadRequest) -> int:
    return int(error.headers["retry-after"])


async def new_token(sim, gh, installation_id: int) -> str:
    answer = await apps.get_installation_access_token(
        gh,
        installation_id=str(installation_id),
        app_id=str(sim.app_id),
        private_key=sim.private_key_pem,
    )
    return answer["token"]


async def in_flight(limits: SecondaryLimits, installation_id: int, count: int) -> None:
    deadline = time.monotonic() + 5
    while limits.in_flight(installation_id) < count:
        assert time.monotonic() < deadline, "the held requests never arrived"
        await asyncio.sleep(0.01)


# -- off by default -------------------------------------------------------------------------
async def test_off_by_default(sim, gh, token, head, iid):
    assert sim.secondary_limits is None
    for _ in range(85):
        await create(gh, token, head)
    assert len(sim.writes(iid)) == 85
    assert sim.limit_refusals == {}


async def test_cleared_limits_refuse_nothing(sim, gh, token, head):
    sim.set_secondary_limits(per_minute=1)
    await create(gh, token, head)
    await refused(create(gh, token, head))
    sim.clear_secondary_limits()
    await create(gh, token, head)
    assert len(sim.world.check_runs) == 2


# -- the minute ------------------------------------------------------------------------------
async def test_81st_write_in_a_minute_is_refused_and_changes_nothing(sim, gh, token, head, iid):
    sim.set_secondary_limits(clock_scale=20)  # GitHub's numbers; a minute lasts 3 real seconds
    first = await create(gh, token, head)
    for _ in range(79):
        await create(gh, token, head)
    assert len(sim.writes_in_window(iid, "minute")) == 80

    update = gh.patch(
        f"{RUNS}/{first['id']}",
        data={"status": "completed", "conclusion": "success"},
        oauth_token=token,
    )
    error = await refused(update)
    assert 1 <= retry_after(error) <= 3
    assert sim.world.check_runs[first["id"]].status == "queued"
    await refused(create(gh, token, head))
    assert len(sim.world.check_runs) == 80

    assert [(r.method, r.status, r.installation_id) for r in sim.requests[-2:]] == [
        ("PATCH", 403, iid),
        ("POST", 403, iid),
    ]
    assert [(r.limit, r.request.status) for r in sim.limit_refusals[iid]] == [
        ("minute", 403),
        ("minute", 403),
    ]
    assert len(sim.writes(iid)) == 80

    await asyncio.sleep(retry_after(error))
    done = await gh.patch(
        f"{RUNS}/{first['id']}",
        data={"status": "completed", "conclusion": "success"},
        oauth_token=token,
    )
    assert done["conclusion"] == "success"


async def test_refusal_looks_like_githubs(sim, session, token, head):
    sim.set_secondary_limits(per_minute=1)
    headers = {"Authorization": f"token {token}"}
    body = {"name": "pushgrade", "head_sha": head}
    async with session.post(f"{sim.url}{RUNS}", json=body, headers=headers) as response:
        assert response.status == 201
    async with session.post(f"{sim.url}{RUNS}", json=body, headers=headers) as response:
        assert response.status == 403
        answer = await response.json()
        assert answer["message"].startswith("You have exceeded a secondary rate limit.")
        assert response.headers["X-GitHub-Request-Id"] in answer["message"]
        assert answer["documentation_url"] == SECONDARY_DOCS
        assert 55 <= int(response.headers["retry-after"]) <= 60
        # The primary limit is nowhere near spent: only the body says which limit this is.
        assert int(response.headers["x-ratelimit-remaining"]) > 0


async def test_429_when_asked(sim, gh, token, head):
    sim.set_secondary_limits(per_minute=1, status=429)
    await create(gh, token, head)
    error = await refused(create(gh, token, head), status=429)
    assert retry_after(error) >= 1


async def test_writes_in_flight_hold_their_places(sim, gh, token, head, iid):
    """Ten writes at once under a limit of three: three are accepted, never more."""
    sim.set_secondary_limits(per_minute=3)
    sim.set_fault(delay=0.2, methods=["POST"])
    results = await asyncio.gather(
        *(create(gh, token, head) for _ in range(10)), return_exceptions=True
    )
    accepted = [r for r in results if isinstance(r, dict)]
    assert len(accepted) == 3
    assert all(
        isinstance(r, BadRequest) and r.status_code == 403 for r in results if r not in accepted
    )
    assert len(sim.world.check_runs) == 3
    assert len(sim.limit_refusals[iid]) == 7


# -- what counts -----------------------------------------------------------------------------
async def test_gets_and_token_creation_never_count(sim, gh, token, head, iid):
    sim.set_secondary_limits(per_minute=2, per_hour=2)
    for _ in range(5):
        await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
        await gh.getitem(f"/repos/{ORG}/{REPO}/commits/{head}/check-runs", oauth_token=token)
        await new_token(sim, gh, iid)
    await create(gh, token, head)
    await create(gh, token, head)
    await refused(create(gh, token, head))
    # With the write budget spent, reading and fetching tokens still work.
    fresh = await new_token(sim, gh, iid)
    listing = await gh.getitem(
        f"/repos/{ORG}/{REPO}/commits/{head}/check-runs?filter=all", oauth_token=fresh
    )
    assert listing["total_count"] == 2
    assert len(sim.writes_in_window(iid, "minute")) == 2
    assert all(r.method == "POST" for r in sim.writes_in_window(iid, "hour"))


async def test_failed_writes_do_not_count(sim, gh, token, head):
    sim.set_secondary_limits(per_minute=2)
    for _ in range(3):
        with pytest.raises(BadRequest) as caught:
            await gh.post(RUNS, data={"name": "x", "head_sha": "0" * 40}, oauth_token=token)
        assert caught.value.status_code == 422
    await create(gh, token, head)
    await create(gh, token, head)
    await refused(create(gh, token, head))


async def test_writes_made_before_the_limits_still_count(sim, gh, token, head):
    await create(gh, token, head)
    sim.set_secondary_limits(per_minute=2)
    await create(gh, token, head)
    await refused(create(gh, token, head))


# -- the hour --------------------------------------------------------------------------------
async def test_hourly_limit_is_independent_of_the_minute(sim, gh, token, head, iid):
    sim.set_secondary_limits(per_minute=3, per_hour=5, clock_scale=60)  # minute 1 s, hour 60 s
    for _ in range(3):
        await create(gh, token, head)
    error = await refused(create(gh, token, head))
    assert retry_after(error) == 1
    await asyncio.sleep(retry_after(error))
    await create(gh, token, head)
    await create(gh, token, head)
    error = await refused(create(gh, token, head))
    assert retry_after(error) > 50  # the first write leaves the hour 60 s after it was made
    await asyncio.sleep(1.1)  # a whole minute later the minute is empty, the hour is not
    assert sim.writes_in_window(iid, "minute") == []
    assert len(sim.writes_in_window(iid, "hour")) == 5
    await refused(create(gh, token, head))
    assert [r.limit for r in sim.limit_refusals[iid]] == ["minute", "hour", "hour"]
    assert len(sim.world.check_runs) == 5


async def test_after_the_hour_writes_are_accepted_again(sim, gh, token, head):
    sim.set_secondary_limits(per_hour=3, clock_scale=3600)  # an hour lasts a real second
    for _ in range(3):
        await create(gh, token, head)
    error = await refused(create(gh, token, head))
    assert retry_after(error) == 1
    await asyncio.sleep(retry_after(error))
    await create(gh, token, head)


# -- per installation -------------------------------------------------------------------------
async def test_limits_are_per_installation(sim, gh, token, head, iid):
    other = sim.install("cs102", repos=["hw1-bob"])
    sim.create_repo("cs102", "hw1-bob", files={"README.md": "# hw1\n"})
    other_runs = "/repos/cs102/hw1-bob/check-runs"
    other_head = sim.world.require_repo("cs102", "hw1-bob").branches["main"]
    other_token = await new_token(sim, gh, other.id)
    sim.set_secondary_limits(per_minute=2)

    await create(gh, token, head)
    await create(gh, token, head)
    await refused(create(gh, token, head))
    await create(gh, other_token, other_head, other_runs)
    await create(gh, other_token, other_head, other_runs)
    assert list(sim.limit_refusals) == [iid]
    await refused(create(gh, other_token, other_head, other_runs))
    assert {k: len(v) for k, v in sim.limit_refusals.items()} == {iid: 1, other.id: 1}
    assert len(sim.writes_in_window(iid)) == len(sim.writes_in_window(other.id)) == 2


async def test_two_tokens_of_one_installation_share_its_budget(sim, gh, token, head, iid):
    sim.set_secondary_limits(per_minute=2)
    second = await new_token(sim, gh, iid)
    await create(gh, token, head)
    await create(gh, second, head)
    await refused(create(gh, token, head))
    await refused(create(gh, second, head))


# -- concurrency -----------------------------------------------------------------------------
async def test_third_concurrent_request_is_refused(sim, gh, token, head, iid):
    limits = sim.set_secondary_limits(concurrent=2)
    sim.set_fault(delay=0.5, path_prefix=f"/repos/{ORG}/{REPO}")
    held = [
        asyncio.create_task(gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)) for _ in range(2)
    ]
    await in_flight(limits, iid, 2)

    started = time.monotonic()
    error = await refused(gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token))
    assert time.monotonic() - started < 0.4  # refused on arrival, not held by the fault
    assert retry_after(error) >= 1
    await refused(create(gh, token, head))
    assert sim.world.check_runs == {}

    assert [r["name"] for r in await asyncio.gather(*held)] == [REPO, REPO]
    assert limits.in_flight(iid) == 0
    assert [r.limit for r in sim.limit_refusals[iid]] == ["concurrent", "concurrent"]
    sim.clear_fault()
    await create(gh, token, head)  # the refused write took no place in the minute
    assert len(sim.writes_in_window(iid)) == 1


async def test_concurrency_is_per_installation_and_app_requests_are_free(sim, gh, token, iid):
    other = sim.install("cs102")
    other_token = await new_token(sim, gh, other.id)
    limits = sim.set_secondary_limits(concurrent=1)
    sim.set_fault(delay=0.5, path_prefix=f"/repos/{ORG}/{REPO}")
    held = asyncio.create_task(gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token))
    await in_flight(limits, iid, 1)
    installation = await gh.getitem("/installation/repositories", oauth_token=other_token)
    assert installation["total_count"] == 0
    await new_token(sim, gh, iid)
    await held
    assert list(sim.limit_refusals) == []


# -- the bookkeeping on its own ----------------------------------------------------------------
def test_retry_after_counts_from_the_oldest_write_in_the_window():
    limits = SecondaryLimits(per_minute=2, per_hour=10)
    for at in (100.0, 130.0):
        admission = limits.admit(1, write=True, now=at)
        assert isinstance(admission, Admission)
        limits.release(admission, RecordedRequest("POST", RUNS, {}, 201, 1, False, None, at))
    refusal = limits.admit(1, write=True, now=145.0)
    assert isinstance(refusal, Refusal)
    assert (refusal.limit, refusal.retry_after) == ("minute", 15)
    assert isinstance(limits.admit(1, write=True, now=160.5), Admission)
