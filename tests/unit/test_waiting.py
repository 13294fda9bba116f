"""ghapp.work.waiting.any_set: a worker's and the publisher's sleep ends at the first event set."""

from __future__ import annotations

import asyncio

import pytest

from ghapp.work.waiting import any_set


async def test_returns_at_the_first_event_set_and_leaves_no_wait_behind():
    wake, stop = asyncio.Event(), asyncio.Event()
    before = asyncio.all_tasks()
    waiting = asyncio.create_task(any_set(wake, stop))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # neither is set yet
    assert len(asyncio.all_tasks() - before) == 3  # it, and a wait on each event
    stop.set()
    await asyncio.wait_for(waiting, 1)
    await asyncio.sleep(0)  # the cancelled wait on `wake` finishes cancelling
    assert asyncio.all_tasks() == before  # nothing is left waiting on `wake`
    assert not wake.is_set()


async def test_an_event_already_set_returns_at_once_and_a_timeout_still_applies():
    wake, stop = asyncio.Event(), asyncio.Event()
    wake.set()
    await asyncio.wait_for(any_set(wake, stop), 1)
    with pytest.raises(TimeoutError):  # no timeout: it waits for an event however long
        await asyncio.wait_for(any_set(asyncio.Event(), stop), 0.05)
    before = asyncio.all_tasks()
    await asyncio.wait_for(any_set(asyncio.Event(), stop, timeout=0.05), 1)  # returns, no error
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before  # neither wait is left behind after the timeout
    assert not stop.is_set()
