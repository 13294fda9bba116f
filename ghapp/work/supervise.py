"""A worker's loops, supervised: a loop that fails is restarted with backoff, and one the worker
cannot do without that keeps failing stops the worker, so that its orchestrator restarts the
process. Never a live process whose loops are dead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ghapp.core.oneline import said
from ghapp.core.retry import LOOPS
from ghapp.work.waiting import any_set

log = logging.getLogger(__name__)

CRASHES = 5  # an essential loop failing this often …
CRASH_WINDOW_S = 120.0  # … within this long cannot run: the worker stops
BACKOFF_MAX_S = LOOPS.cap_s


@dataclass(frozen=True)
class Loop:
    name: str
    start: Callable[[], Awaitable[None]]  # a fresh run of the loop; returns once stopped
    essential: bool = True  # without it the worker does no work (claiming, heartbeats)


def backoff(crashes: int) -> float:
    """Seconds before the next start after `crashes` failures in a row: 1, 2, 4 … 30."""
    return LOOPS.wait_s(crashes - 1)


def cannot_run(crash_times: deque[float], now: float) -> bool:
    """Whether an essential loop has failed `CRASHES` times within `CRASH_WINDOW_S`."""
    return len(crash_times) >= CRASHES and now - crash_times[-CRASHES] < CRASH_WINDOW_S


class Supervisor:
    """Runs loops until `stop`; `failure` says why the worker gave up, if it did."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.failure: str | None = None
        self.failed = asyncio.Event()
        self.restarts: dict[str, int] = {}

    async def keep(self, loop: Loop) -> None:
        crashes: deque[float] = deque(maxlen=CRASHES)
        in_a_row = 0
        while not self.stop.is_set() and not self.failed.is_set():
            started = time.monotonic()
            try:
                await loop.start()
                return  # it ended because the worker stops
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if me is None or me.cancelling() or self.stop.is_set():
                    raise  # the worker stops
                # A cancel nobody asked for (a library's): a failure of the loop, not the end
                # of the worker.
                err: Exception = RuntimeError("it was cancelled from inside")
            except Exception as failure:
                err = failure
            now = time.monotonic()
            crashes.append(now)
            # A loop that ran a good while before failing starts its backoff afresh.
            in_a_row = in_a_row + 1 if now - started < BACKOFF_MAX_S else 1
            self.restarts[loop.name] = self.restarts.get(loop.name, 0) + 1
            what = said(err)
            if loop.essential and cannot_run(crashes, now):
                self.failure = (
                    f"the {loop.name} loop failed {CRASHES} times in "
                    f"{now - crashes[-CRASHES]:.0f} s (last: {what})"
                )
                log.error("this worker cannot work: %s; stopping it", self.failure)
                self.failed.set()
                return
            delay = backoff(in_a_row)
            log.error("the %s loop failed (%s); restarting it in %g s", loop.name, what, delay)
            log.debug("the %s loop's failure", loop.name, exc_info=err)
            await any_set(self.stop, timeout=delay)


class Outage:
    """Whether the database takes this process's writes. Reads can go on while writes are
    refused (SQLite on a full disk), so only a write taken ends an outage; then `on_back` runs:
    the deliveries refused meanwhile are looked for and the queue is looked at, at once."""

    def __init__(self, on_back: Callable[[], None] = lambda: None) -> None:
        self.on_back = on_back
        self.since: float | None = None  # monotonic: when the first write was refused
        self.reason = ""

    def refused(self, err: BaseException) -> bool:
        """A write (or the connection) failed; True when it is the first of an outage, the one
        worth a log line."""
        self.reason = said(err)
        if self.since is not None:
            return False
        self.since = time.monotonic()
        return True

    def took(self) -> None:
        """A write was stored."""
        if self.since is None:
            return
        away, self.since = time.monotonic() - self.since, None
        log.warning("the database takes writes again after %.0f s", away)
        self.on_back()

    def health(self) -> str | None:
        if self.since is None:
            return None
        return (
            f"the database has refused writes for {time.monotonic() - self.since:.0f} s "
            f"(last: {self.reason})"
        )
