"""ghapp.work.waiting.any_set: a worker's and the publisher's sleep ends at the first event set."""

from __future__ import annotations

import asyncio

import pytest

from ghapp.work.waiting import Broadcast, Doorbell, any_set


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


async def idle_loops(bell: Doorbell, stop: asyncio.Event, count: int, woke: list[int]):
    """`count` loops waiting on `bell` as claim loops do; each notes its number when woken."""

    async def one(i: int) -> None:
        await bell.wait(bell.rings, stop, timeout=60)
        woke.append(i)

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    await asyncio.sleep(0.01)
    return tasks


async def test_a_ring_wakes_one_idle_loop_not_all_of_them():
    bell, stop, woke = Doorbell(), asyncio.Event(), []
    tasks = await idle_loops(bell, stop, 4, woke)
    bell.ring()
    await asyncio.sleep(0.01)
    assert woke == [0]  # the longest waiting
    bell.ring()
    bell.ring()
    await asyncio.sleep(0.01)
    assert woke == [0, 1, 2]
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert sorted(woke) == [0, 1, 2, 3]


async def test_a_ring_during_a_claim_is_not_lost():
    bell, stop = Doorbell(), asyncio.Event()
    seen = bell.rings  # noted before claiming
    bell.ring()  # work stored while the claim ran (and missed it); nobody was waiting
    await asyncio.wait_for(bell.wait(seen, stop, timeout=60), 1)  # at once


async def test_a_timeout_or_a_stop_ends_the_wait_and_leaves_no_waiter_behind():
    bell, stop = Doorbell(), asyncio.Event()
    before = asyncio.all_tasks()
    await bell.wait(bell.rings, stop, timeout=0.01)
    stop.set()
    await asyncio.wait_for(bell.wait(bell.rings, stop, timeout=60), 1)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before
    # The next ring goes to a loop that waits, not to one that stopped waiting.
    stop.clear()
    woke: list[int] = []
    tasks = await idle_loops(bell, stop, 1, woke)
    bell.ring()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert woke == [0]


async def test_a_loop_cancelled_after_its_ring_passes_it_on():
    bell, stop, woke = Doorbell(), asyncio.Event(), []
    first = asyncio.create_task(bell.wait(bell.rings, stop, timeout=60))
    await asyncio.sleep(0.01)
    others = await idle_loops(bell, stop, 1, woke)
    bell.ring()  # goes to `first`…
    first.cancel()  # …which is stopped before it could act on it
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(asyncio.gather(*others), 1)
    assert woke == [0]


async def test_a_cancel_at_the_moment_of_a_ring_is_not_lost():
    """A running job's renewer waits on the broadcast; the job ends (its renewer is cancelled)
    in the same moment a push rings. Python 3.11's `wait_for` returned the ring and dropped the
    cancel: the renewer ran on and stopped the loop that had moved on to other work."""
    news = Broadcast()
    waiting = asyncio.create_task(news.wait(timeout=60))
    await asyncio.sleep(0)  # it waits
    news.ring()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()


async def test_a_broadcast_wakes_every_waiter_and_times_out_without_one():
    news = Broadcast()
    waiters = [asyncio.create_task(news.wait(timeout=60)) for _ in range(3)]
    await asyncio.sleep(0)
    news.ring()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert await news.wait(timeout=0.01) is False  # a ring before the wait is not heard
