"""The hour before a deadline, on the simulator enforcing GitHub's secondary limits: a burst of
pushes within a (scaled-down) write budget is never refused and every result arrives; results
graded while GitHub refuses writes wait in the outbox and all arrive once it is back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from ghapp.core.budget import Limits
from ghapp.store.models import JobState
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.e2e import ORG, installation, jobs, new_repo, settings_for

pytestmark = pytest.mark.docker

QUICK = f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo ok 1 - works; echo 1..1"]\n'


async def all_completed(sim, runs: dict[str, str], timeout: float) -> dict[str, dict]:
    """The completed check run of each repo's pushed commit, waiting up to `timeout`."""
    done: dict[str, dict] = {}
    for _ in range(int(timeout / 0.25)):
        for repo, sha in runs.items():
            if repo not in done:
                found = sim.check_runs(ORG, repo, sha)
                if found and found[-1]["status"] == "completed":
                    done[repo] = found[-1]
        if len(done) == len(runs):
            return done
        await asyncio.sleep(0.25)
    raise AssertionError(f"{len(runs) - len(done)} of {len(runs)} results never arrived")


async def test_a_burst_within_a_scaled_budget_is_never_refused_and_every_result_arrives(
    sim, tmp_path, sandbox, build_image
):
    image = build_image(QUICK)
    # GitHub's limits shrunk: 20 writes a "minute" of 10 s, 100 an "hour" of 10 min.
    sim.set_secondary_limits(per_minute=20, per_hour=100, clock_scale=6)
    limits = Limits(per_minute=20, per_hour=100, clock_scale=6)
    names = [f"hw1-s{i:02d}" for i in range(40)]
    for name in names:
        new_repo(sim, name, image)
    async with running(
        settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5, limits=limits
    ) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        pushed = {name: await sim.push(ORG, name, {"main.c": f"// {name}\n"}) for name in names}
        results = await all_completed(sim, pushed, timeout=240)
    assert {run["conclusion"] for run in results.values()} == {"success"}
    assert not any(sim.limit_refusals.values()), sim.limit_refusals
    writes = len(sim.writes(installation(sim)))
    assert len(names) <= writes <= 2 * len(names)  # a result each; a "queued" at most
    print(f"\n{len(names)} pushes, {writes} writes: {writes / len(names):.2f} per push")


async def test_results_graded_while_github_refuses_writes_arrive_once_it_is_back(
    sim, app, build_image
):
    image = build_image(QUICK)
    names = ["hw1-ona", "hw1-pia", "hw1-rex"]
    for name in names:
        new_repo(sim, name, image)
    sim.set_fault(fail_ratio=1.0, status=502, path_prefix=f"/repos/{ORG}/", methods=["POST"])
    pushed = {name: await sim.push(ORG, name, {"main.c": "x\n"}) for name in names}
    for _ in range(240):  # graded and stored, though GitHub has not seen a single write
        done = [j for j in await jobs(app) if j.state == JobState.DONE]
        if len(done) == len(names):
            break
        await asyncio.sleep(0.25)
    assert len(done) == len(names)
    assert all(sim.check_runs(ORG, name, sha) == [] for name, sha in pushed.items())
    sim.clear_fault()
    results = await all_completed(sim, pushed, timeout=90)
    assert {run["conclusion"] for run in results.values()} == {"success"}
    assert all(len(sim.check_runs(ORG, name, sha)) == 1 for name, sha in pushed.items())
    async with aiohttp.ClientSession() as http, http.get(f"{app.url}/metrics") as response:
        exposed = await response.text()
    inst = installation(sim)
    assert (
        f'pushgrade_github_write_failures_total{{installation="{inst}",outcome="transient"}}'
        in (exposed)
    )
    assert f'pushgrade_github_writes_sent_total{{installation="{inst}",kind="final"}}' in exposed


async def test_pushes_delivered_while_pushgrade_was_down_are_graded_once_it_is_back(
    sim, tmp_path, sandbox, build_image
):
    image = build_image(QUICK)
    names = [f"hw1-down{i:02d}" for i in range(20)]
    for name in names:
        new_repo(sim, name, image)
    # One of them is due a moment after its push: GitHub's attempt, not our recovery, counts.
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    new_repo(sim, "hw1-ontime", image, due=due.isoformat())
    sim.webhook_url = "http://127.0.0.1:9/webhooks/github"  # nothing listens: every delivery fails
    pushed = {name: await sim.push(ORG, name, {"main.c": "x\n"}) for name in names}
    pushed["hw1-ontime"] = await sim.push(ORG, "hw1-ontime", {"main.c": "x\n"})
    assert sim.deliveries and not any(d.ok for d in sim.deliveries)
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        results = await all_completed(sim, pushed, timeout=180)
        assert await app.worker.reconciler.once() == 0  # found again: nothing new
        graded = await jobs(app)
    assert {run["conclusion"] for run in results.values()} == {"success"}
    assert all(len(sim.check_runs(ORG, name, sha)) == 1 for name, sha in pushed.items())
    assert sorted(job.repo for job in graded) == sorted(pushed)
    assert not results["hw1-ontime"]["output"]["title"].startswith("Late")
