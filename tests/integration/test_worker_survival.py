"""A worker never stays alive without working loops: a loop killed from inside (an injected
error) is restarted and grading goes on; one that keeps failing stops the worker, `/healthz`
says so, and `pushgrade serve` exits non-zero for its orchestrator to restart it."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest

from ghapp.work import worker as worker_module
from ghapp.work.waiting import Doorbell
from pushgrade.serve import running, serve_forever
from tests.integration.e2e import ORG, new_repo, settings_for

pytestmark = pytest.mark.docker

REAL_WAIT = Doorbell.wait


def inject(monkeypatch, *, times: int | None) -> list[int]:
    """The claim loops' idle wait raises: `times` times, or always (None)."""
    raised: list[int] = []

    async def failing(bell, seen, stop, *, timeout):
        if times is None or len(raised) < times:
            raised.append(1)
            raise RuntimeError("injected: the loop dies here")
        await REAL_WAIT(bell, seen, stop, timeout=timeout)

    monkeypatch.setattr(Doorbell, "wait", failing)
    return raised


async def test_a_loop_killed_from_inside_is_restarted_and_grading_goes_on(
    sim, tmp_path, sandbox, example_grader, monkeypatch
):
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        raised = inject(monkeypatch, times=1)
        for _ in range(100):
            if raised:
                break
            await asyncio.sleep(0.1)
        new_repo(sim, "hw1-ivy", example_grader)
        sha = await sim.push(ORG, "hw1-ivy", {"calc.py": "def add(a, b):\n    return a + b\n"})
        run = await sim.wait_for_check_run(ORG, "hw1-ivy", sha, status="completed", timeout=120)
        assert run["conclusion"] in ("success", "failure")
        assert sum(app.worker.supervisor.restarts.values()) == 1
        assert app.worker.health() is None and not app.worker_task.done()


async def test_a_loop_that_keeps_failing_stops_the_worker_and_serve_exits_1(
    sim, tmp_path, sandbox, monkeypatch
):
    inject(monkeypatch, times=None)
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5) as app:
        await asyncio.wait({app.worker_task}, timeout=90)
        assert isinstance(app.worker_task.exception(), worker_module.WorkerFailed)
        async with aiohttp.ClientSession() as http, http.get(f"{app.url}/healthz") as answer:
            assert answer.status == 503
            health = await answer.json()
        assert "loop failed 5 times" in health["worker"] and "injected" in health["worker"]
    # The process itself: `pushgrade serve` returns 1 (its exit code) instead of idling on.
    settings = dataclasses.replace(settings_for(sim, tmp_path), database_wait_s=5)
    code = await asyncio.wait_for(
        serve_forever(settings, serve_web=True, run_worker=True), timeout=120
    )
    assert code == 1
