"""A worker's loops, supervised: restarted with backoff, and an essential one that keeps failing
stops the worker instead of leaving a live process that does nothing."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from ghapp.work import supervise
from ghapp.work.supervise import CRASH_WINDOW_S, CRASHES, Loop, Supervisor, backoff, cannot_run


@pytest.mark.parametrize(
    ("crashes", "seconds"), [(0, 1), (1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (60, 30)]
)
def test_restarts_back_off_to_half_a_minute(crashes, seconds):
    assert backoff(crashes) == seconds


@pytest.mark.parametrize(
    ("times", "now", "gives_up"),
    [
        ([], 0.0, False),
        ([0.0] * (CRASHES - 1), 1.0, False),  # not yet that often
        ([0.0, 1.0, 2.0, 3.0, 4.0], 5.0, True),
        ([0.0, 1.0, 2.0, 3.0, CRASH_WINDOW_S + 1], CRASH_WINDOW_S + 1, False),  # spread out
        ([0.0, 200.0, 201.0, 202.0, 203.0, 204.0], 205.0, True),  # the last five count
    ],
)
def test_an_essential_loop_cannot_run_once_it_fails_that_often_that_fast(times, now, gives_up):
    assert cannot_run(deque(times), now) is gives_up


@pytest.fixture
def no_waiting(monkeypatch):
    monkeypatch.setattr(supervise, "backoff", lambda crashes: 0.0)


async def test_a_failing_loop_is_restarted_and_goes_on(no_waiting):
    stop, runs = asyncio.Event(), []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("the database went away")
        stop.set()

    supervisor = Supervisor(stop)
    await asyncio.wait_for(supervisor.keep(Loop("claiming", flaky)), 5)
    assert len(runs) == 3 and supervisor.restarts == {"claiming": 2}
    assert supervisor.failure is None and not supervisor.failed.is_set()


async def test_an_essential_loop_that_keeps_failing_stops_the_worker(no_waiting):
    async def broken() -> None:
        raise RuntimeError("no such table: jobs")

    supervisor = Supervisor(asyncio.Event())
    await asyncio.wait_for(supervisor.keep(Loop("heartbeats", broken)), 5)
    assert supervisor.failed.is_set()
    assert f"the heartbeats loop failed {CRASHES} times" in supervisor.failure
    assert "no such table: jobs" in supervisor.failure


async def test_a_loop_the_worker_can_do_without_is_restarted_for_ever(no_waiting):
    stop, runs = asyncio.Event(), []

    async def broken() -> None:
        runs.append(1)
        if len(runs) == CRASHES * 3:
            stop.set()
        raise RuntimeError("GitHub's delivery log is down")

    supervisor = Supervisor(stop)
    await asyncio.wait_for(supervisor.keep(Loop("reconciler", broken, essential=False)), 5)
    assert len(runs) == CRASHES * 3 and supervisor.failure is None


# -- an outage: the database refusing writes -----------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "firsts", "backs", "away"),
    [
        ("", [], 0, False),
        ("t", [], 0, False),  # a write taken with nothing refused is nothing to tell
        ("r", [True], 0, True),
        ("rrr", [True, False, False], 0, True),  # one line an outage
        ("rt", [True], 1, False),
        ("rtt", [True], 1, False),  # back once
        ("rtrt", [True, True], 2, False),  # two outages, each told and each ended
    ],
)
def test_an_outage_is_told_once_and_ended_only_by_a_write(steps, firsts, backs, away):
    ended = []
    outage = supervise.Outage(on_back=lambda: ended.append(1))
    told = []
    for step in steps:
        if step == "r":
            told.append(outage.refused(OSError(28, "database or disk is full")))
        else:
            outage.took()
    assert told == firsts and len(ended) == backs
    assert (outage.since is not None) is away
    assert (outage.health() is not None) is away
    if away:
        assert outage.health().endswith("[Errno 28] database or disk is full)")


async def test_a_loop_ended_by_a_cancel_from_inside_is_restarted_not_the_worker(no_waiting):
    """A CancelledError nobody asked for (a library's timeout, a stop meant for one job) used
    to end the loop's task as if the worker stopped: the worker exited 0 while it had work."""
    stop, runs = asyncio.Event(), []

    async def cut_short() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise asyncio.CancelledError  # not a cancel of this task
        stop.set()

    supervisor = Supervisor(stop)
    await asyncio.wait_for(supervisor.keep(Loop("grading-0", cut_short)), 5)
    assert len(runs) == 3 and supervisor.restarts == {"grading-0": 2}
    assert supervisor.failure is None


async def test_a_cancel_of_the_loop_itself_still_stops_it(no_waiting):
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    keeping = asyncio.create_task(Supervisor(asyncio.Event()).keep(Loop("grading-0", forever)))
    await started.wait()
    keeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await keeping
