"""Waiting for whichever of several events comes first (a worker's or the publisher's wake-up,
or the stop), and the doorbell that wakes idle claim loops one at a time."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections import deque


async def any_set(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Return once any of `events` is set, or after `timeout` seconds; the waits still under way
    are cancelled."""
    tasks = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class Doorbell:
    """Tells idle claim loops that work was stored, one loop a ring.

    Every loop used to wake at every hand-off, and each ran a claim that all but one lost: on
    SQLite that was a dozen queries a push in the one event loop the push itself waits for. A
    ring wakes one waiting loop; a loop whose claim saw another job waiting rings again (a bulk
    regrade stores hundreds with one ring), so idle loops join in one at a time and the chain
    ends with the last job. A loop notes `rings` before it claims and passes it to `wait`: a
    ring that came during its claim is never lost."""

    def __init__(self) -> None:
        self.rings = 0
        self._waiting: deque[asyncio.Future] = deque()

    def ring(self) -> None:
        self.rings += 1
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def wait(self, seen: int, stop: asyncio.Event, *, timeout: float) -> None:
        """Until a ring (at once if one came since `seen`), `stop`, or `timeout` seconds."""
        if self.rings != seen or stop.is_set():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([waiter, stopped], timeout=timeout, return_when=FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not waiter.done():
                waiter.cancel()  # a later ring passes it by
            elif not waiter.cancelled() and (stop.is_set() or asyncio.current_task().cancelling()):
                self.ring()  # it was ours but we stop: another loop's


class Broadcast:
    """Tells every waiter at once that something changed (a running job's renewer: a teacher
    may have cancelled it). A waiter that was not waiting when it rang hears of the next."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, *, timeout: float) -> bool:
        """True when it rang, False after `timeout` seconds. A cancel is never lost to a ring
        at the same moment (Python 3.11's `wait_for` can swallow it: the caller then runs on)."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        return True
