"""The write budget on a real database (SQLite and PostgreSQL): sliding windows shared by every
process, priorities that keep room for results, and GitHub's "wait" blocking an installation."""

from __future__ import annotations

import asyncio

import pytest

from ghapp.core.budget import Limits, Priority
from ghapp.store.budget import WriteBudget

INSTALLATION = 41
# A "minute" of two seconds and an "hour" of two minutes.
FAST = dict(clock_scale=30.0)


async def takes(budget: WriteBudget, priority: Priority, times: int) -> list[float]:
    return [await budget.take(INSTALLATION, priority) for _ in range(times)]


async def test_a_result_may_use_the_whole_minute_and_then_waits_for_the_oldest_to_leave(
    db_sessions,
):
    budget = WriteBudget(db_sessions, Limits(per_minute=5, per_hour=100, **FAST))
    assert await takes(budget, Priority.FINAL, 5) == [0.0] * 5
    wait = await budget.take(INSTALLATION, Priority.FINAL)
    window = budget.limits.minute.total_seconds()  # two seconds, and a margin
    assert 1.0 < wait <= window  # when the first of the five leaves the window
    await asyncio.sleep(wait)
    assert await budget.take(INSTALLATION, Priority.FINAL) == 0.0
    minute, hour = await budget.used(INSTALLATION)
    assert hour == 6 and 1 <= minute <= 5  # the first has left the minute; others may follow


async def test_the_hour_limits_independently_of_the_minute(db_sessions):
    budget = WriteBudget(db_sessions, Limits(per_minute=100, per_hour=3, **FAST))
    assert await takes(budget, Priority.FINAL, 3) == [0.0] * 3
    assert (
        110 < await budget.take(INSTALLATION, Priority.FINAL) <= budget.limits.hour.total_seconds()
    )


@pytest.mark.parametrize(
    ("priority", "allowed"),
    [
        (Priority.FINAL, 20),
        (Priority.NOTICE, 18),  # the minute's tenth; the hour (1000) is not what binds here
        (Priority.BACKGROUND, 15),
        (Priority.INTERMEDIATE, 10),
    ],
)
async def test_lower_priorities_leave_room_for_results(db_sessions, priority, allowed):
    budget = WriteBudget(db_sessions, Limits(per_minute=20, per_hour=1000, **FAST))
    waits = await takes(budget, priority, 25)
    assert waits[:allowed] == [0.0] * allowed and all(w > 0 for w in waits[allowed:])
    if priority is not Priority.FINAL:  # what is left stays for results
        assert await takes(budget, Priority.FINAL, 20 - allowed) == [0.0] * (20 - allowed)


async def test_installations_have_budgets_of_their_own(db_sessions):
    budget = WriteBudget(db_sessions, Limits(per_minute=2, per_hour=10, **FAST))
    assert await takes(budget, Priority.FINAL, 2) == [0.0, 0.0]
    assert await budget.take(INSTALLATION, Priority.FINAL) > 0
    assert await budget.take(INSTALLATION + 1, Priority.FINAL) == 0.0


async def test_githubs_wait_blocks_the_installation_for_every_budget_sharing_the_database(
    db_sessions,
):
    mine = WriteBudget(db_sessions, Limits(**FAST))
    another_process = WriteBudget(db_sessions, Limits(**FAST))
    await mine.block(INSTALLATION, 1.5)
    assert 1.0 < await another_process.take(INSTALLATION, Priority.FINAL) <= 1.5
    await mine.block(INSTALLATION, 0.2)  # a shorter wait never shortens a longer one
    assert await another_process.take(INSTALLATION, Priority.FINAL) > 1.0
    await asyncio.sleep(1.6)
    assert await another_process.take(INSTALLATION, Priority.FINAL) == 0.0


async def test_concurrent_takers_never_exceed_the_limit(db_sessions):
    budgets = [WriteBudget(db_sessions, Limits(per_minute=10, per_hour=100, **FAST))] * 3
    waits = await asyncio.gather(
        *(b.take(INSTALLATION, Priority.FINAL) for b in budgets for _ in range(8))
    )
    assert waits.count(0.0) == 10


async def test_no_limits_means_no_waiting(db_sessions):
    budget = WriteBudget(db_sessions, Limits(per_minute=None, per_hour=None))
    assert await takes(budget, Priority.INTERMEDIATE, 50) == [0.0] * 50


async def test_old_writes_are_pruned(db_sessions):
    budget = WriteBudget(db_sessions, Limits(per_minute=100, per_hour=100, clock_scale=3600.0))
    await takes(budget, Priority.FINAL, 3)
    await asyncio.sleep(budget.limits.hour.total_seconds() + 0.1)  # an "hour" of 1.5 s here
    await budget.prune()
    assert await budget.used(INSTALLATION) == (0, 0)


async def test_notices_leave_the_hour_to_the_results_still_owed(db_sessions):
    budget = WriteBudget(db_sessions, Limits(per_minute=100, per_hour=40, **FAST))
    # Notices may use half the hour (20 places), less what is owed to results still to come.
    assert await takes(budget, Priority.NOTICE, 1) == [0.0]
    assert await budget.take(INSTALLATION, Priority.NOTICE, owed=19) > 0
    assert await budget.take(INSTALLATION, Priority.NOTICE, owed=18) == 0.0
    assert await takes(budget, Priority.NOTICE, 18) == [0.0] * 18
    assert await budget.take(INSTALLATION, Priority.NOTICE) > 0  # half the hour is used
    # Results themselves are never held back by what is owed or by the notices' share.
    assert await takes(budget, Priority.FINAL, 20) == [0.0] * 20
