"""submission_metadata.json as Gradescope documents it: a pure function of the job's facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ghapp.core.config import AssignmentConfig
from ghapp.core.gradescope_meta import MAX_FILE_BYTES, Previous, results_of, submission_metadata

T = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def outcome(score: float, *, output: str = "", tests: int = 1) -> dict:
    return {
        "status": "passed",
        "score": score,
        "max_score": 10,
        "output": output,
        "log": "the log is never passed on",
        "tests": [
            {
                "name": f"t{i}",
                "status": "passed",
                "score": 1,
                "max_score": 1,
                "output": output,
                "visibility": "hidden",
                "number": None,
            }
            for i in range(tests)
        ],
    }


def meta(config: dict, previous=(), users=("alice",)) -> dict:
    data = submission_metadata(
        submission_id=7,
        created_at=T,
        assignment="hw1",
        config=AssignmentConfig.model_validate({"image": "g:1", **config}),
        users=users,
        previous=previous,
    )
    return json.loads(data)


def test_an_assignment_without_deadlines_has_null_dates_and_no_earlier_submissions():
    found = meta({}, users=())
    assert found["id"] == 7 and found["created_at"] == "2026-12-01T09:30:00+00:00"
    assert found["assignment"] == {
        "due_date": None,
        "group_size": 1,
        "group_submission": False,
        "id": None,
        "course_id": None,
        "late_due_date": None,
        "release_date": None,
        "title": "hw1",
        "total_points": None,
    }
    assert (found["users"], found["previous_submissions"]) == ([], [])


def test_due_and_cutoff_keep_their_offsets_and_earlier_runs_come_oldest_first():
    found = meta(
        {"due": "2026-12-10T23:59:00-05:00", "late": {"cutoff": "2026-12-12T23:59:00-05:00"}},
        previous=[
            Previous(T - timedelta(days=2), 3.0, outcome(3)),
            Previous(T - timedelta(days=1), 8.5, outcome(8.5)),
        ],
    )
    assert found["assignment"]["due_date"] == "2026-12-10T23:59:00-05:00"
    assert found["assignment"]["late_due_date"] == "2026-12-12T23:59:00-05:00"
    assert found["assignment"]["total_points"] == "10.0"
    assert [p["score"] for p in found["previous_submissions"]] == [3.0, 8.5]
    assert found["previous_submissions"][0]["submission_time"] == "2026-11-29T09:30:00+00:00"


def test_results_keep_what_a_results_json_holds_with_outputs_cut_and_no_log():
    results = results_of(outcome(2, output="x" * 5000, tests=2))
    assert set(results) == {"score", "max_score", "output", "tests"}
    assert len(results["output"]) == 1000 and results["output"].endswith("…")
    assert results["tests"][0] == {
        "name": "t0",
        "score": 1,
        "max_score": 1,
        "status": "passed",
        "visibility": "hidden",
        "output": "x" * 999 + "…",
    }


def test_the_oldest_submissions_are_left_out_past_the_size_cap():
    many = [
        Previous(T - timedelta(hours=200 - i), float(i), outcome(i, output="y" * 900, tests=20))
        for i in range(100)
    ]
    data = submission_metadata(
        submission_id=1,
        created_at=T,
        assignment="hw1",
        config=AssignmentConfig.model_validate({"image": "g:1"}),
        users=["a"],
        previous=many,
    )
    assert len(data) <= MAX_FILE_BYTES
    kept = [p["score"] for p in json.loads(data)["previous_submissions"]]
    assert 0 < len(kept) < 100 and kept[-1] == 99.0  # the newest stay
