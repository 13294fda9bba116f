"""Reconciliation's timing: a pass every period, and a pass that failed (the database refused
what it recovered, GitHub did not answer) again soon, with backoff, never later than a period."""

from __future__ import annotations

import pytest

from ghapp.work.reconcile import next_pass_after


@pytest.mark.parametrize(
    ("every_s", "failures", "after"),
    [
        (300, 0, 300),
        (300, 1, 1),
        (300, 2, 2),
        (300, 4, 8),
        (300, 9, 30),  # backoff's ceiling
        (5, 4, 5),  # never later than the period
        (300, 100, 30),
    ],
)
def test_a_failed_pass_is_tried_again_soon(every_s, failures, after):
    assert next_pass_after(every_s, failures) == after
