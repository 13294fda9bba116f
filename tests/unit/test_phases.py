"""A job's timeline: the steps between the moments it reached, as its page shows them and the
histogram observes them. Stored JSON is not trusted to be well-formed."""

from __future__ import annotations

import pytest

from ghapp.core.phases import PHASES, TOTAL, accepted, clean, observations, steps

FULL = {phase: 100.0 + i for i, phase in enumerate(PHASES)}  # one second a step


@pytest.mark.parametrize(
    ("moments", "expected"),
    [
        ({}, []),
        ({"claimed": 1.0}, []),  # nothing to measure from without `received`
        (FULL, [(p, 1.0, float(i + 1)) for i, p in enumerate(PHASES[1:])]),
        # A job whose download was refused ran no container: the next step covers the gap.
        (
            {"received": 10.0, "claimed": 10.5, "downloaded": 11.0, "staged": 11.25},
            [("claimed", 0.5, 0.5), ("downloaded", 0.5, 1.0), ("staged", 0.25, 1.25)],
        ),
        # The publisher's clock a little behind the worker's: never a negative step.
        (
            {"received": 10.0, "staged": 12.0, "accepted": 11.5},
            [("staged", 2.0, 2.0), ("accepted", 0.0, 1.5)],
        ),
        # Unknown phases and values that are no times are left out.
        (
            {
                "received": 10,
                "claimed": "soon",
                "started": float("nan"),
                "shown": 11.0,
                "exited": True,
                "staged": 13,
            },
            [("staged", 3.0, 3.0)],
        ),
    ],
)
def test_steps(moments, expected):
    assert [(s.phase, s.took_s, s.since_received_s) for s in steps(moments)] == expected


def test_steps_come_in_the_phases_order_whatever_the_stored_order():
    shuffled = dict(reversed(list(FULL.items())))
    assert [s.phase for s in steps(shuffled)] == list(PHASES[1:])


def test_every_step_has_a_label_for_people():
    assert all(s.label for s in steps(FULL))


@pytest.mark.parametrize(
    ("upto", "after", "expected"),
    [
        # A worker observes up to the staged result.
        ("staged", None, [(p, 1.0) for p in PHASES[1:7]]),
        # The publisher the last step, and the whole way.
        ("accepted", "staged", [("accepted", 1.0), (TOTAL, 7.0)]),
    ],
)
def test_observations(upto, after, expected):
    assert observations(FULL, upto=upto, after=after) == expected


def test_no_total_without_the_result_accepted():
    assert observations({"received": 1.0, "staged": 2.0}, upto="accepted", after="staged") == []


def test_clean_keeps_numbers_of_known_phases():
    assert clean({"received": 1, "accepted": 2.5, "later": 3, "claimed": None}) == {
        "received": 1.0,
        "accepted": 2.5,
    }


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"received": 1.0, "staged": 2.0}, {"received": 1.0, "staged": 2.0, "accepted": 3.0}),
        (None, None),  # a job with no timeline: a notice, never graded
        (["received", 1.0], None),  # garbage stored
        ({"received": 1.0, "claimed": 1.5}, None),  # no result staged yet
        ({"received": 1.0, "staged": 2.0, "accepted": 2.5}, None),  # a later batch of it
    ],
)
def test_accepted_adds_the_moment_once_to_a_staged_result(stored, expected):
    assert accepted(stored, 3.0) == expected
