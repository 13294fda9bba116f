"""One retry policy (ghapp.core.retry) for jobs, check-run writes, GitHub requests and loops:
pure, table-driven, no database or socket."""

import math

import pytest

from ghapp.core.retry import (
    JOBS,
    LOOPS,
    REQUESTS,
    WRITES_REFUSED,
    WRITES_UNANSWERED,
    Growth,
    RetryPolicy,
)


@pytest.mark.parametrize(
    ("policy", "n", "rand", "wait"),
    [
        # A job: 5 s * 2**attempts, at most 5 minutes.
        (JOBS, 1, None, 10.0),
        (JOBS, 2, None, 20.0),
        (JOBS, 5, None, 160.0),
        (JOBS, 6, None, 300.0),
        (JOBS, 40, None, 300.0),
        # A write GitHub did not answer: 2**attempts s, at most 256, jittered (times 0.5 to 1.5).
        (WRITES_UNANSWERED, 0, 0.5, 1.0),
        (WRITES_UNANSWERED, 3, 0.0, 4.0),
        (WRITES_UNANSWERED, 3, 1.0, 12.0),
        (WRITES_UNANSWERED, 8, 0.5, 256.0),
        (WRITES_UNANSWERED, 500, 0.5, 256.0),  # no overflow however long GitHub is away
        # A write GitHub refused: 30 s more each time.
        (WRITES_REFUSED, 0, None, 30.0),
        (WRITES_REFUSED, 1, None, 60.0),
        (WRITES_REFUSED, 10, None, 330.0),
        # A request made in place: 2**n s, at most 60, jittered.
        (REQUESTS, 1, 0.5, 2.0),
        (REQUESTS, 5, 0.5, 32.0),
        (REQUESTS, 6, 0.5, 60.0),
        (REQUESTS, 2, 0.0, 2.0),
        # A loop: 1, 2, 4 … 30 s.
        (LOOPS, 0, None, 1.0),
        (LOOPS, 1, None, 2.0),
        (LOOPS, 4, None, 16.0),
        (LOOPS, 5, None, 30.0),
        (LOOPS, -3, None, 1.0),  # never less than the base
    ],
)
def test_wait(policy, n, rand, wait):
    assert policy.wait_s(n, rand=rand) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("policy", "attempts", "gives_up"),
    [
        (JOBS, 5, False),
        (JOBS, 6, True),
        (JOBS, 7, True),
        (WRITES_REFUSED, 11, False),
        (WRITES_REFUSED, 12, True),
        (REQUESTS, 5, False),
        (REQUESTS, 6, True),
        (WRITES_UNANSWERED, 10_000, False),  # transient failures never end a write
        (LOOPS, 10_000, False),
    ],
)
def test_gives_up(policy, attempts, gives_up):
    assert policy.gives_up(attempts) is gives_up


def test_jitter_stays_within_half_and_one_and_a_half():
    policy = RetryPolicy(base_s=8.0, jitter=True)
    waits = [policy.wait_s(0) for _ in range(200)]
    assert all(4.0 <= w <= 12.0 for w in waits)
    assert len(set(waits)) > 1  # drawn, not fixed


def test_linear_without_a_cap_grows_forever():
    policy = RetryPolicy(base_s=2.0, growth=Growth.LINEAR)
    assert policy.cap_s == math.inf
    assert policy.wait_s(999) == 2000.0
