"""When to try again after a failure: one policy, in the style of procrastinate's
`RetryStrategy`, for jobs, check-run writes, GitHub requests and the worker's loops.

A policy says how long to wait after the `n`th failure — `base_s * 2**n` (exponential) or
`base_s * (n + 1)` (linear), at most `cap_s`, and with jitter (times 0.5 to 1.5) so that many
waiting at once do not all come back at once — and after how many attempts to give up."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum


class Growth(StrEnum):
    EXPONENTIAL = "exponential"
    LINEAR = "linear"


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float
    cap_s: float = math.inf
    growth: Growth = Growth.EXPONENTIAL
    jitter: bool = False
    max_attempts: int | None = None  # None: never give up

    def wait_s(self, n: int, *, rand: float | None = None) -> float:
        """Seconds to wait after failure `n`; `rand` (0 to 1) picks the jitter (random when
        None)."""
        n = max(n, 0)
        if self.growth is Growth.LINEAR:
            wait = self.base_s * (n + 1)
        else:
            wait = self.base_s * 2.0 ** min(n, 64)
        wait = min(wait, self.cap_s)
        if self.jitter:
            wait *= 0.5 + (random.random() if rand is None else rand)  # noqa: S311 (not secret)
        return wait

    def gives_up(self, attempts: int) -> bool:
        """Whether `attempts` made so far are all this policy allows."""
        return self.max_attempts is not None and attempts >= self.max_attempts


# A job whose handling failed: claimed again after 10 s, 20 s … 5 min; six claims in all.
JOBS = RetryPolicy(base_s=5.0, cap_s=300.0, max_attempts=6)
# A check-run write GitHub did not answer: tried again after ~1, 2, 4 … 256 s, however long
# GitHub is away.
WRITES_UNANSWERED = RetryPolicy(base_s=1.0, cap_s=256.0, jitter=True)
# A check-run write GitHub refused as invalid (4xx): 30 s, 60 s, 90 s …, twelve tries.
WRITES_REFUSED = RetryPolicy(base_s=30.0, growth=Growth.LINEAR, max_attempts=12)
# A request to GitHub made in place (patient): ~2, 4 … 32 s; six tries.
REQUESTS = RetryPolicy(base_s=1.0, cap_s=60.0, jitter=True, max_attempts=6)
# A worker's loop that failed, or a reconciliation pass: restarted after 1, 2, 4 … 30 s.
LOOPS = RetryPolicy(base_s=1.0, cap_s=30.0)
