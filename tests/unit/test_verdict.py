"""From what the sandbox saw to an `Outcome`: what stopped the run first, then which results win."""

from __future__ import annotations

import json

import pytest

from runner.outcome import ErrorKind, ResultsSource, Status, Visibility
from runner.outcome import TestStatus as CaseStatus  # "Test*" names would be collected by pytest
from runner.results import parse_tap
from runner.spec import MiB, SandboxLimits
from runner.verdict import RunFacts, decide

LIMITS = SandboxLimits(timeout_s=30, memory_bytes=256 * MiB, output_flood_bytes=16 * MiB)


def facts(**fields) -> RunFacts:
    defaults = {
        "exit_code": 0,
        "duration_s": 1.23456789,
        "log": "the log",
        "log_truncated": False,
        "image_id": "sha256:abc",
    }
    return RunFacts(**(defaults | fields))


def results_json(*tests: tuple[str, float, float], **top) -> bytes:
    document = {
        "tests": [{"name": name, "score": score, "max_score": top_} for name, score, top_ in tests]
    }
    return json.dumps(document | top).encode()


def junit(*cases: tuple[str, bool]) -> bytes:
    body = "".join(
        f'<testcase name="{name}"/>'
        if ok
        else f'<testcase name="{name}"><failure message="wrong">boom</failure></testcase>'
        for name, ok in cases
    )
    return f"<testsuite>{body}</testsuite>".encode()


PASSING_JSON = results_json(("from json", 2, 2))
PASSING_JUNIT = junit(("from junit", True))
PASSING_TAP = parse_tap("1..1\nok 1 - from tap\n")
FAILING_TAP = parse_tap("1..2\nok 1 - adds\nnot ok 2 - divides\n")


def names(outcome) -> list[str]:
    return [test.name for test in outcome.tests]


# --- what stopped the run decides first ----------------------------------------------------


def test_out_of_memory_beats_everything_else():
    outcome = decide(
        facts(
            oom_killed=True,
            flooded=True,
            timed_out=True,
            exit_code=137,
            results_files={"results.json": PASSING_JSON, "junit.xml": PASSING_JUNIT},
            tap=PASSING_TAP,
        ),
        LIMITS,
    )
    assert outcome.status is Status.ERRORED
    assert outcome.error is ErrorKind.OUT_OF_MEMORY
    assert "256 MiB" in outcome.reason
    assert outcome.tests == []
    assert outcome.score is None
    assert not outcome.could_not_run  # grading ran; the submission is what failed


def test_out_of_memory_beats_a_results_file_that_cannot_be_read():
    outcome = decide(facts(oom_killed=True, results_problem="results too large"), LIMITS)
    assert outcome.error is ErrorKind.OUT_OF_MEMORY


def test_an_output_flood_beats_every_result_and_the_clock():
    outcome = decide(
        facts(
            flooded=True,
            timed_out=True,
            results_files={"results.json": PASSING_JSON},
            tap=PASSING_TAP,
            log_truncated=True,
        ),
        LIMITS,
    )
    assert outcome.status is Status.ERRORED
    assert outcome.error is ErrorKind.OUTPUT_FLOOD
    assert "16 MiB" in outcome.reason
    assert outcome.tests == []
    assert outcome.log_truncated


def test_errored_outcomes_keep_what_the_run_observed():
    outcome = decide(
        facts(oom_killed=True, exit_code=137, log="killed", log_truncated=True), LIMITS
    )
    assert outcome.exit_code == 137
    assert outcome.duration_s == 1.235
    assert (outcome.log, outcome.log_truncated) == ("killed", True)
    assert outcome.image_id == "sha256:abc"


# --- the clock ------------------------------------------------------------------------------


def test_a_timed_out_run_keeps_the_tests_reported_so_far_and_names_the_limit():
    partial = results_json(("first", 1, 1), ("second", 0, 1))
    outcome = decide(
        facts(timed_out=True, exit_code=137, results_files={"results.json": partial}), LIMITS
    )
    assert outcome.status is Status.TIMED_OUT
    assert outcome.error is None
    assert names(outcome) == ["first", "second"]
    assert (outcome.score, outcome.max_score) == (1, 2)
    assert outcome.source is ResultsSource.RESULTS_JSON
    assert "time limit (30 s)" in outcome.reason


def test_a_timed_out_run_keeps_the_tap_lines_printed_before_the_kill():
    streamed = parse_tap("1..3\nok 1 - one\nok 2 - two\n")
    outcome = decide(facts(timed_out=True, exit_code=None, tap=streamed), LIMITS)
    assert outcome.status is Status.TIMED_OUT
    assert names(outcome) == ["one", "two"]
    assert outcome.source is ResultsSource.TAP


def test_a_timed_out_run_that_reported_nothing_has_no_score():
    outcome = decide(facts(timed_out=True, exit_code=None), LIMITS)
    assert outcome.status is Status.TIMED_OUT
    assert (outcome.score, outcome.max_score, outcome.tests) == (None, None, [])
    assert "30 s" in outcome.reason


def test_a_timed_out_run_with_an_unreadable_results_file_is_timed_out_not_errored():
    outcome = decide(facts(timed_out=True, results_files={"results.json": b'{"tests": ['}), LIMITS)
    assert outcome.status is Status.TIMED_OUT
    assert outcome.error is None
    assert outcome.tests == []


def test_the_timeout_reason_shows_a_fractional_limit_as_given():
    limits = SandboxLimits(timeout_s=1.5)
    assert "(1.5 s)" in decide(facts(timed_out=True), limits).reason


# --- which results win ----------------------------------------------------------------------


def test_results_json_beats_junit_and_tap_and_the_exit_code():
    outcome = decide(
        facts(
            exit_code=1,
            results_files={"results.json": PASSING_JSON, "junit.xml": junit(("x", False))},
            tap=FAILING_TAP,
        ),
        LIMITS,
    )
    assert outcome.source is ResultsSource.RESULTS_JSON
    assert outcome.status is Status.PASSED  # a Gradescope grader's exit code is not the verdict
    assert names(outcome) == ["from json"]
    assert (outcome.score, outcome.max_score) == (2, 2)
    assert outcome.reason is None


def test_junit_beats_tap_and_the_exit_code():
    outcome = decide(
        facts(exit_code=1, results_files={"junit.xml": PASSING_JUNIT}, tap=FAILING_TAP), LIMITS
    )
    assert outcome.source is ResultsSource.JUNIT
    assert names(outcome) == ["from junit"]
    assert outcome.status is Status.PASSED


def test_tap_beats_the_exit_code():
    outcome = decide(facts(exit_code=0, tap=FAILING_TAP), LIMITS)
    assert outcome.source is ResultsSource.TAP
    assert outcome.status is Status.FAILED
    assert (outcome.score, outcome.max_score) == (1, 2)
    assert [t.status for t in outcome.tests] == [CaseStatus.PASSED, CaseStatus.FAILED]


def test_the_exit_code_is_the_last_resort():
    outcome = decide(facts(exit_code=0), LIMITS)
    assert outcome.status is Status.PASSED
    assert outcome.source is ResultsSource.EXIT_CODE
    assert (outcome.score, outcome.max_score, outcome.tests) == (None, None, [])
    assert outcome.reason is None


def test_files_that_are_neither_results_json_nor_xml_are_ignored():
    outcome = decide(
        facts(exit_code=0, results_files={"notes.txt": b"hi", "report.html": b"<p/>"}), LIMITS
    )
    assert outcome.source is ResultsSource.EXIT_CODE


def test_only_a_results_json_at_the_top_of_results_counts():
    outcome = decide(
        facts(results_files={"nested/results.json": b"not json", "junit.xml": PASSING_JUNIT}),
        LIMITS,
    )
    assert outcome.source is ResultsSource.JUNIT


def test_the_graders_output_and_visibilities_come_through_from_results_json():
    data = results_json(("a", 1, 1), output="Well done.", stdout_visibility="visible")
    outcome = decide(facts(results_files={"results.json": data}), LIMITS)
    assert outcome.output == "Well done."
    assert outcome.stdout_visibility is Visibility.VISIBLE
    assert outcome.output_visibility is Visibility.VISIBLE


# --- results that cannot be trusted ---------------------------------------------------------


def test_a_malformed_results_json_is_errored_bad_results_naming_file_and_line():
    broken = b'{"tests": [\n  {"name": "a", "score": oops}\n]}'
    outcome = decide(facts(results_files={"results.json": broken}), LIMITS)
    assert outcome.status is Status.ERRORED
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "results.json line 2" in outcome.reason
    assert "not valid JSON" in outcome.reason
    assert not outcome.could_not_run
    assert outcome.log == "the log"  # the teacher still sees what the grader printed


def test_a_results_json_that_is_not_utf8_is_bad_results_with_its_line():
    outcome = decide(facts(results_files={"results.json": b'{\n"tests": "\xff"}'}), LIMITS)
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "results.json line 2" in outcome.reason


def test_a_malformed_junit_file_is_bad_results_naming_the_file():
    files = {"ok.xml": PASSING_JUNIT, "reports/broken.xml": b"<testsuite><oops></testsuite>"}
    outcome = decide(facts(results_files=files), LIMITS)
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "reports/broken.xml line 1" in outcome.reason


def test_a_results_folder_that_could_not_be_read_is_bad_results_even_beside_good_files():
    outcome = decide(
        facts(
            results_problem="/results holds more than 16 MiB",
            results_files={"results.json": PASSING_JSON},
        ),
        LIMITS,
    )
    assert outcome.status is Status.ERRORED
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "/results holds more than 16 MiB" in outcome.reason


# --- JUnit across files ---------------------------------------------------------------------


def test_several_junit_files_are_merged_in_path_order():
    files = {
        "z/TEST-last.xml": junit(("last", True)),
        "a.xml": junit(("first", True), ("second", False)),
        "m.xml": junit(("middle", True)),
    }
    outcome = decide(facts(exit_code=1, results_files=files), LIMITS)
    assert outcome.source is ResultsSource.JUNIT
    assert names(outcome) == ["first", "second", "middle", "last"]
    assert (outcome.score, outcome.max_score) == (3, 4)
    assert outcome.status is Status.FAILED


def test_junit_that_passes_although_the_grader_exited_non_zero_passes():
    outcome = decide(facts(exit_code=1, results_files={"junit.xml": PASSING_JUNIT}), LIMITS)
    assert outcome.status is Status.PASSED
    assert outcome.reason is None


# --- TAP and the exit code together ---------------------------------------------------------


def test_all_ok_tap_with_exit_code_one_fails_and_says_why():
    outcome = decide(facts(exit_code=1, tap=PASSING_TAP), LIMITS)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "The grader printed TAP but exited with code 1."
    assert (outcome.score, outcome.max_score) == (1, 1)  # the points earned still show


def test_all_ok_tap_with_exit_code_zero_passes_with_no_reason():
    outcome = decide(facts(exit_code=0, tap=PASSING_TAP), LIMITS)
    assert outcome.status is Status.PASSED
    assert outcome.reason is None


def test_all_ok_tap_without_an_exit_code_does_not_pass():
    outcome = decide(facts(exit_code=None, tap=PASSING_TAP), LIMITS)
    assert outcome.status is Status.FAILED
    assert "None" not in outcome.reason
    assert "without an exit code" in outcome.reason


def test_a_non_zero_exit_with_no_results_fails_with_the_code():
    outcome = decide(facts(exit_code=2), LIMITS)
    assert outcome.status is Status.FAILED
    assert outcome.source is ResultsSource.EXIT_CODE
    assert "exited with code 2" in outcome.reason
    assert outcome.exit_code == 2


def test_a_missing_exit_code_with_no_results_fails_in_words_not_none():
    outcome = decide(facts(exit_code=None), LIMITS)
    assert outcome.status is Status.FAILED
    assert outcome.exit_code is None
    assert outcome.reason == "The grader ended without an exit code and wrote no results file."


# --- the parsers' notes ---------------------------------------------------------------------


def test_notes_from_the_tap_parser_end_up_in_the_reason():
    outcome = decide(facts(tap=parse_tap("ok 1\nok 2\n")), LIMITS)
    assert outcome.status is Status.FAILED  # no plan: the tests may have died before printing it
    assert "no plan line" in outcome.reason


@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_tap_bail_out_is_errored_with_its_reason_and_keeps_the_tests_before_it(exit_code):
    tap = parse_tap("1..3\nok 1 - compiles\nBail out! Couldn't connect to database.\nok 2\n")
    outcome = decide(facts(exit_code=exit_code, tap=tap), LIMITS)
    assert (outcome.status, outcome.error) == (Status.ERRORED, ErrorKind.BAILED_OUT)
    assert outcome.reason.startswith(
        "The tests stopped early (TAP Bail out!): Couldn't connect to database."
    )
    assert names(outcome) == ["compiles"]
    assert not outcome.could_not_run


def test_a_bail_out_without_a_reason_says_so_in_words():
    outcome = decide(facts(tap=parse_tap("ok 1\nBail out!\n")), LIMITS)
    assert outcome.reason == "The tests stopped early (TAP Bail out!)."


def test_notes_follow_the_exit_code_reason():
    outcome = decide(facts(exit_code=3, tap=parse_tap("1..3\nok 1\n")), LIMITS)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("The grader printed TAP but exited with code 3.")
    assert "TAP plan said 3 tests, 1 ran" in outcome.reason
    assert outcome.max_score == 3  # the missing tests count against the total


def test_notes_from_the_junit_parser_end_up_in_the_reason():
    outcome = decide(facts(results_files={"empty.xml": b"<testsuite/>"}), LIMITS)
    assert "the JUnit files hold no test cases" in outcome.reason


# --- purity ---------------------------------------------------------------------------------


def test_decide_is_a_pure_function_of_its_inputs():
    run = facts(exit_code=1, results_files={"a.xml": junit(("t", False))})
    assert decide(run, LIMITS) == decide(run, LIMITS)
    assert run.results_files == {"a.xml": junit(("t", False))}


def test_an_empty_junit_report_from_a_grader_that_failed_is_not_a_pass():
    # What pytest writes when its test folder is missing (exit 4) or nothing was collected (5).
    empty = b'<testsuites><testsuite name="pytest" tests="0" errors="0"/></testsuites>'
    outcome = decide(facts(exit_code=4, results_files={"junit.xml": empty}), LIMITS)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("The grader reported no tests and exited with code 4.")
    assert decide(facts(exit_code=0, results_files={"junit.xml": empty}), LIMITS).status is (
        Status.PASSED
    )
    # Failing tests exit non-zero too: that is their report, not a broken grader.
    failing = decide(facts(exit_code=1, results_files={"j.xml": junit(("t", False))}), LIMITS)
    assert failing.status is Status.FAILED and failing.reason is None


# --- a grader that declares what it produces (`results:`) -------------------------------------

_FILES = {"results.json": PASSING_JSON, "report.xml": PASSING_JUNIT}

DECLARED = [
    # (declared, exit code, files left, TAP printed, status, error, source)
    ("gradescope", 0, _FILES, PASSING_TAP, Status.PASSED, None, ResultsSource.RESULTS_JSON),
    ("gradescope", 1, {}, None, Status.ERRORED, ErrorKind.GRADER_FAILED, None),
    ("gradescope", 0, {"report.xml": PASSING_JUNIT}, PASSING_TAP, Status.ERRORED,
     ErrorKind.GRADER_FAILED, None),  # other kinds do not stand in for the declared one
    ("junit", 0, _FILES, None, Status.PASSED, None, ResultsSource.JUNIT),
    ("junit", 137, {}, None, Status.ERRORED, ErrorKind.GRADER_FAILED, None),
    ("tap", 0, _FILES, PASSING_TAP, Status.PASSED, None, ResultsSource.TAP),
    ("tap", 2, {}, None, Status.ERRORED, ErrorKind.GRADER_FAILED, None),
    ("exit-code", 0, _FILES, FAILING_TAP, Status.PASSED, None, ResultsSource.EXIT_CODE),
    ("exit-code", 1, {}, None, Status.FAILED, None, ResultsSource.EXIT_CODE),
    (None, 1, {}, None, Status.FAILED, None, ResultsSource.EXIT_CODE),  # inferred, as before
]  # fmt: skip


@pytest.mark.parametrize(
    ("declared", "code", "files", "tap", "status", "error", "source"), DECLARED
)
def test_a_declared_kind_is_the_only_one_read_and_none_is_the_graders_failure(
    declared, code, files, tap, status, error, source
):
    outcome = decide(facts(exit_code=code, results_files=files, tap=tap), LIMITS, declared=declared)
    assert (outcome.status, outcome.error, outcome.source) == (status, error, source)
    if error is ErrorKind.GRADER_FAILED:
        assert outcome.reason.startswith(f"The grader declares results: {declared} but left no ")
        assert f"exited with code {code}" in outcome.reason
        assert not outcome.could_not_run  # it ran: its own failure, not the engine's


def test_out_of_memory_still_beats_a_declared_kind():
    outcome = decide(facts(exit_code=137, oom_killed=True), LIMITS, declared="gradescope")
    assert outcome.error is ErrorKind.OUT_OF_MEMORY  # the submission's doing, not the grader's
