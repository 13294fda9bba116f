"""GitHub's secondary rate limits, per installation token: content creation and concurrency.

GitHub allows an installation no more than 80 content-generating requests a minute, 500 an hour,
and 100 concurrent requests; past a limit it answers 403 (or 429) with `retry-after`. The
simulator models them like this:

- Content-generating: a POST/PATCH/PUT/DELETE under `/repos/` made with an installation token
  and accepted (status < 400), i.e. exactly what `GitHubSimulator.writes()` lists. GETs, the
  App's own requests with its JWT (token creation, redeliveries) and refused or failed writes
  never count. A write being answered holds its place from the moment it is admitted.
- Windows slide: a write is admitted only when fewer than `per_minute` accepted writes were
  answered in the last minute and fewer than `per_hour` in the last hour (plus those in
  flight). No minute or hour, however aligned, ever sees more than the limit, so this is at
  least as strict as GitHub, whose own windows are not documented.
- Concurrency: every request carrying one installation's token (any method or path) is in
  flight from its admission until it is answered, injected `Fault` delays included.
- Time: `clock_scale` compresses it. At 60 a "minute" lasts one real second and an "hour" a
  real minute; `retry-after` is in real seconds, rounded up, at least 1. It says when enough
  answered writes leave the window for one more to fit (a concurrency refusal says one
  scaled minute, GitHub's advice when it gives no better).

This module is bookkeeping only; `ghsim.api`'s middleware asks it and answers GitHub's way.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from ghsim.state import RecordedRequest

Window = Literal["minute", "hour"]
Limit = Literal["minute", "hour", "concurrent"]
WINDOW_SECONDS: dict[Window, float] = {"minute": 60.0, "hour": 3600.0}
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def content_generating(method: str, path: str) -> bool:
    """A request that creates or changes content (when made with an installation token)."""
    return method.upper() in WRITE_METHODS and path.startswith("/repos/")


@dataclass(frozen=True)
class Refusal:
    """A request a secondary limit refused: which limit, and the `retry-after` it was told."""

    installation_id: int
    limit: Limit
    retry_after: int
    request: RecordedRequest | None = None  # filled in once the refusal has been recorded


@dataclass(eq=False)
class Admission:
    """A request let through; `SecondaryLimits.release` ends it once it is answered."""

    installation_id: int
    write: bool
    released: bool = False


class SecondaryLimits:
    """Per-installation sliding windows of accepted writes, and requests in flight."""

    def __init__(
        self,
        *,
        per_minute: int = 80,
        per_hour: int = 500,
        concurrent: int = 100,
        clock_scale: float = 1.0,
        status: int = 403,
    ) -> None:
        if min(per_minute, per_hour, concurrent) < 1:
            raise ValueError("limits are at least 1")
        if not clock_scale > 0:
            raise ValueError("clock_scale must be positive")
        if status not in (403, 429):
            raise ValueError("GitHub answers a secondary rate limit with 403 or 429")
        self.per_minute, self.per_hour, self.concurrent = per_minute, per_hour, concurrent
        self.clock_scale, self.status = clock_scale, status
        self._answered: dict[int, deque[float]] = {}  # `at` of accepted writes, oldest first
        self._pending: dict[int, int] = {}  # admitted writes not answered yet
        self._in_flight: dict[int, int] = {}

    def seconds(self, window: Window) -> float:
        """How long `window` lasts in real seconds."""
        return WINDOW_SECONDS[window] / self.clock_scale

    def in_flight(self, installation_id: int) -> int:
        return self._in_flight.get(installation_id, 0)

    def counted(self, installation_id: int, window: Window, now: float | None = None) -> int:
        """Accepted writes in `window` up to `now` (in-flight ones not included)."""
        cutoff = (time.time() if now is None else now) - self.seconds(window)
        return sum(1 for at in self._answered.get(installation_id, ()) if at > cutoff)

    def seed(self, writes: list[RecordedRequest]) -> None:
        """Count writes accepted before the limits were set: GitHub does not forget them."""
        for record in sorted(writes, key=lambda r: r.at):
            if record.installation_id is not None:
                self._answered.setdefault(record.installation_id, deque()).append(record.at)

    def admit(
        self, installation_id: int, *, write: bool, now: float | None = None
    ) -> Admission | Refusal:
        """Let a request through (then `release` it) or say which limit refuses it."""
        now = time.time() if now is None else now
        if self.in_flight(installation_id) >= self.concurrent:
            return Refusal(installation_id, "concurrent", self._real(self.seconds("minute")))
        if write:
            answered = self._answered.setdefault(installation_id, deque())
            while answered and answered[0] <= now - self.seconds("hour"):
                answered.popleft()
            pending = self._pending.get(installation_id, 0)
            waits: list[tuple[float, Limit]] = []
            for window, limit in (("minute", self.per_minute), ("hour", self.per_hour)):
                wait = self._wait(answered, window, limit, pending, now)
                if wait is not None:
                    waits.append((wait, window))
            if waits:
                wait, window = max(waits)
                return Refusal(installation_id, window, self._real(wait))
            self._pending[installation_id] = pending + 1
        self._in_flight[installation_id] = self.in_flight(installation_id) + 1
        return Admission(installation_id, write)

    def release(self, admission: Admission, record: RecordedRequest | None) -> None:
        """The admitted request has been answered (`record`; None when it never was)."""
        if admission.released:
            return
        admission.released = True
        iid = admission.installation_id
        self._in_flight[iid] -= 1
        if admission.write:
            self._pending[iid] -= 1
            if record is not None and record.status < 400:
                self._answered.setdefault(iid, deque()).append(record.at)

    def _wait(
        self, answered: deque[float], window: Window, limit: int, pending: int, now: float
    ) -> float | None:
        """Real seconds until one more write fits in `window`; None when it fits now."""
        span = self.seconds(window)
        inside = [at for at in answered if at > now - span]
        excess = len(inside) + pending - limit + 1  # how many must leave the window first
        if excess <= 0:
            return None
        if excess > len(inside):  # writes in flight hold the places: a whole window at least
            return span
        return inside[excess - 1] + span - now

    @staticmethod
    def _real(seconds: float) -> int:
        return max(1, math.ceil(seconds))
