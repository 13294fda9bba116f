"""`/autograder/submission_metadata.json`, as Gradescope documents it, for Gradescope images.

Some Gradescope autograders read it: the due dates (to grade late work differently), the
student, and `previous_submissions` with their scores and results (to limit attempts or keep the
best score). pushgrade fills in what it knows and leaves the rest null:

- `id`: the job; `created_at`: when the commit was first pushed; `submission_method`: "GitHub".
- `assignment`: `title` (the assignment's name), `due_date` (`due`), `late_due_date` (the late
  `cutoff`), `total_points` (the newest previous run's maximum, as text like Gradescope's
  "20.0"), `group_size`/`group_submission` (1, false); Gradescope's own ids are null.
- `users`: the pusher, by GitHub login (`name` and `github_login`); e-mail and id are null.
- `previous_submissions`: one per earlier commit of the repo graded for the assignment (its
  newest grading), oldest first and newest last, each with `submission_time`, `score` and
  `results` in results.json's shape. Outputs are cut to 1,000 characters each, and the oldest
  submissions are left out when the file would pass 1 MiB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ghapp.core.config import AssignmentConfig

MAX_OUTPUT_CHARS = 1000
MAX_FILE_BYTES = 1024 * 1024
MAX_PREVIOUS = 100


@dataclass(frozen=True)
class Previous:
    """An earlier graded commit: when it was pushed, its score and its stored Outcome."""

    submission_time: datetime
    score: float | None
    outcome: dict


def submission_metadata(
    *,
    submission_id: int | None,
    created_at: datetime,
    assignment: str,
    config: AssignmentConfig,
    users: Sequence[str],
    previous: Sequence[Previous] = (),
) -> bytes:
    """The file's bytes (UTF-8 JSON)."""
    previous = list(previous)[-MAX_PREVIOUS:]
    total = next(
        (
            p.outcome.get("max_score")
            for p in reversed(previous)
            if _number(p.outcome.get("max_score"))
        ),
        None,
    )
    cutoff = config.late.cutoff if config.late is not None else None
    document: dict[str, Any] = {
        "id": submission_id,
        "created_at": _moment(created_at),
        "assignment": {
            "due_date": _moment(config.due),
            "group_size": 1,
            "group_submission": False,
            "id": None,
            "course_id": None,
            "late_due_date": _moment(cutoff),
            "release_date": None,
            "title": assignment,
            "total_points": f"{float(total):.1f}" if total is not None else None,
        },
        "submission_method": "GitHub",
        "users": [
            {"email": None, "id": None, "name": login, "github_login": login} for login in users
        ],
        "previous_submissions": [],
    }
    entries = [
        {
            "submission_time": _moment(p.submission_time),
            "score": p.score,
            "results": results_of(p.outcome),
        }
        for p in previous
    ]
    while True:
        document["previous_submissions"] = entries
        data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        if len(data) <= MAX_FILE_BYTES or not entries:
            return data
        entries = entries[max(1, len(entries) // 4) :]  # the oldest go first


def results_of(outcome: dict) -> dict:
    """A stored Outcome in results.json's shape (the parts a grader could have written)."""
    results: dict[str, Any] = {"score": outcome.get("score")}
    if _number(outcome.get("max_score")):
        results["max_score"] = outcome["max_score"]
    if outcome.get("output"):
        results["output"] = _cut(outcome["output"])
    tests = []
    for test in outcome.get("tests") or ():
        if not isinstance(test, dict):
            continue
        entry = {
            key: test[key]
            for key in ("name", "number", "score", "max_score", "status", "visibility")
            if test.get(key) is not None
        }
        if test.get("output"):
            entry["output"] = _cut(test["output"])
        tests.append(entry)
    results["tests"] = tests
    if outcome.get("leaderboard"):
        results["leaderboard"] = outcome["leaderboard"]
    return results


def _cut(text: object) -> str:
    text = str(text)
    return text if len(text) <= MAX_OUTPUT_CHARS else text[: MAX_OUTPUT_CHARS - 1] + "…"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
