"""The check-run writes' bodies (ghapp.core.checkrun): pure, no database or socket."""

from datetime import UTC, datetime

import pytest

from ghapp.core import checkrun
from ghapp.core.report import Annotation, CheckRunReport, Conclusion

AT = datetime(2026, 12, 1, 23, 58, 7, tzinfo=UTC)


def _report(annotations: int = 0) -> CheckRunReport:
    return CheckRunReport(
        Conclusion.FAILURE,
        "3/5 tests passed",
        "summary",
        "text",
        tuple(Annotation("a.py", n, n, "failure", f"m{n}") for n in range(1, annotations + 1)),
    )


@pytest.mark.parametrize(
    ("config", "name"),
    [
        (None, "pushgrade"),
        ({}, "pushgrade"),
        ({"check_name": None}, "pushgrade"),
        ({"check_name": ""}, "pushgrade"),
        ({"check_name": "hw1 tests"}, "hw1 tests"),
    ],
)
def test_identity(config, name):
    assert checkrun.identity(config, "a" * 40, 17) == {
        "name": name,
        "head_sha": "a" * 40,
        "external_id": "17",  # a crashed create is found again by it
    }


def test_queued_and_in_progress():
    assert checkrun.queued()["status"] == "queued"
    assert checkrun.queued()["output"]["title"].startswith("Queued")
    body = checkrun.in_progress(AT)
    assert body["status"] == "in_progress"
    assert body["started_at"] == "2026-12-01T23:58:07Z"
    assert body["output"]["title"] == "Grading started"


@pytest.mark.parametrize(
    ("completed_at", "rerun", "name", "keys"),
    [
        # A fresh result: when it finished, and the Re-run button.
        (AT, True, None, {"completed_at", "actions"}),
        # A superseded notice: no button (the newer push is graded instead).
        (AT, False, None, {"completed_at"}),
        # A reveal changes what is shown, not when grading finished.
        (None, True, None, {"actions"}),
        # A notice of a check run of its own (the grader or config push).
        (AT, True, "pushgrade grader", {"completed_at", "actions", "name"}),
    ],
)
def test_completed(completed_at, rerun, name, keys):
    body, more = checkrun.completed(
        _report(), details_url="https://x/jobs/3", completed_at=completed_at, rerun=rerun, name=name
    )
    assert set(body) == {"status", "conclusion", "output", "details_url"} | keys
    assert body["status"] == "completed"
    assert body["conclusion"] == "failure"
    assert body["details_url"] == "https://x/jobs/3"
    assert body["output"] == {"title": "3/5 tests passed", "summary": "summary", "text": "text"}
    if completed_at:
        assert body["completed_at"] == "2026-12-01T23:58:07Z"
    if rerun:
        assert body["actions"] == [checkrun.RERUN_BUTTON]
        assert checkrun.RERUN_BUTTON["identifier"] == "rerun"
    if name:
        assert body["name"] == name
    assert more == []


@pytest.mark.parametrize(
    ("annotations", "first", "rest"),
    [(1, 1, []), (50, 50, []), (51, 50, [1]), (120, 50, [50, 20])],
)
def test_completed_sends_fifty_annotations_a_request(annotations, first, rest):
    body, more = checkrun.completed(_report(annotations), details_url="u", completed_at=AT)
    assert len(body["output"]["annotations"]) == first
    assert [len(output["annotations"]) for output in more] == rest
    # Every later update carries the same title and summary, and the annotations in order.
    assert all(output["title"] == "3/5 tests passed" for output in more)
    lines = [a["start_line"] for o in [body["output"], *more] for a in o["annotations"]]
    assert lines == list(range(1, annotations + 1))
