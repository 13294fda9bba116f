"""A graded job's timeline: the moments it reached on the way from a push to its result on
GitHub, and how long each step took. Stored with the job (Unix times, by phase name), shown on
its page and exported as a histogram per step.

received    the webhook (or the regrade) was stored
claimed     a worker took it for grading
downloaded  the commit's archive came from GitHub
created     its container was created (volumes made, the image ready)
started     the container was started (the submission copied in)
exited      the container exited
staged      the result was stored and its check-run write staged
accepted    GitHub accepted the completed check run
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

PHASES = (
    "received",
    "claimed",
    "downloaded",
    "created",
    "started",
    "exited",
    "staged",
    "accepted",
)

# What the step ending at each phase was, for people.
STEP_LABELS = {
    "claimed": "waiting for a worker",
    "downloaded": "downloading the commit",
    "created": "preparing the container",
    "started": "copying the submission in, starting",
    "exited": "grading ran",
    "staged": "reading the results, storing them",
    "accepted": "sending the result to GitHub",
}

TOTAL = "total"  # the histogram's label for received → accepted


@dataclass(frozen=True)
class Step:
    phase: str  # the moment the step ended at
    label: str
    at: float  # Unix time of that moment
    took_s: float  # since the moment before it that was recorded (never negative)
    since_received_s: float


def clean(moments: Mapping[str, object]) -> dict[str, float]:
    """The known phases among stored `moments`, as finite numbers (stored JSON is not trusted
    to be well-formed: an older or hand-edited row shows what it can)."""
    found: dict[str, float] = {}
    for phase in PHASES:
        value = moments.get(phase)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            found[phase] = float(value)
    return found


def steps(moments: Mapping[str, object]) -> list[Step]:
    """The steps between the recorded moments, in the phases' order. A moment missing (a job
    that never ran a container) is skipped: the next step covers its time. Clocks of different
    processes may disagree by a little: a step never takes less than nothing."""
    found = clean(moments)
    if "received" not in found:
        return []
    received = previous = found["received"]
    out = []
    for phase in PHASES[1:]:
        if phase not in found:
            continue
        at = found[phase]
        out.append(
            Step(
                phase=phase,
                label=STEP_LABELS[phase],
                at=at,
                took_s=max(0.0, at - previous),
                since_received_s=max(0.0, at - received),
            )
        )
        previous = max(previous, at)
    return out


def accepted(stored: object, at: float) -> dict | None:
    """The stored timeline with GitHub's acceptance of the result at `at`, or None when there
    is nothing to add: no timeline (a notice, not a graded result), no staged result yet, or
    its acceptance already recorded (a further batch of the result's annotations)."""
    if not isinstance(stored, dict) or "staged" not in stored or "accepted" in stored:
        return None
    return stored | {"accepted": at}


def observations(moments: Mapping[str, object], *, upto: str, after: str | None = None):
    """(label, seconds) pairs for the histogram: the steps ending after phase `after` (exclusive)
    up to `upto` (inclusive), and `total` when `upto` is the last phase. A process observes the
    steps it saw end, once: a worker up to `staged`, the publisher `accepted`."""
    order = {phase: i for i, phase in enumerate(PHASES)}
    low = order[after] if after is not None else 0
    high = order[upto]
    picked = [(s.phase, s.took_s) for s in steps(moments) if low < order[s.phase] <= high]
    found = clean(moments)
    if upto == PHASES[-1] and "received" in found and upto in found:
        picked.append((TOTAL, max(0.0, found[upto] - found["received"])))
    return picked
