"""TAP on a grader's stdout (versions 12 to 14), read whole or line by line as it streams."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.capture import OutputCapture
from runner.outcome import ResultsSource
from runner.outcome import TestStatus as CaseStatus  # "Test*" names would be collected by pytest
from runner.results import (
    MAX_NAME_CHARS,
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    TapParser,
    parse_tap,
)

SAMPLES = Path(__file__).parent / "samples" / "results"
PASSED, FAILED, SKIPPED = CaseStatus.PASSED, CaseStatus.FAILED, CaseStatus.SKIPPED


def tap(text: str) -> ParsedResults:
    results = parse_tap(text)
    assert results is not None
    return results


def fed_line_by_line(text: str) -> ParsedResults | None:
    """Feed `text` the way the sandbox does: bytes in small chunks through OutputCapture, which
    splits stdout on "\n" only (never on the other characters str.splitlines breaks at)."""
    parser = TapParser()
    capture = OutputCapture(on_stdout_line=parser.feed)
    data = text.encode()
    for start in range(0, len(data), 7):
        capture.feed(data[start : start + 7])
    capture.close()
    return parser.finish()


# --- real producers -------------------------------------------------------------------------


def test_node_tap_14_with_subtests_yaml_skip_and_todo():
    results = tap((SAMPLES / "node_tap14.tap").read_text())

    assert results.source is ResultsSource.TAP
    assert [(t.number, t.name, t.status) for t in results.tests] == [
        ("1", "parser", FAILED),
        ("2", "formats output", PASSED),
        ("3", "handles unicode", SKIPPED),
        ("4", "big inputs", SKIPPED),
    ]
    parser, _, unicode, todo = results.tests
    assert parser.output == "duration_ms: 12.3"  # the subtest's own YAML stays with the subtest
    assert unicode.output == "no ICU in the image"
    assert todo.output == "TODO (not ok): optimise later\nwanted: fast\nfound: slow"
    assert (results.score, results.max_score, results.passed) == (1.0, 2.0, False)
    assert results.notes == ()


def test_bats_output():
    results = tap((SAMPLES / "bats.tap").read_text())

    assert [(t.name, t.status) for t in results.tests] == [
        ("addition using bc", PASSED),
        ("subtraction using dc", FAILED),
        ("multiplication", SKIPPED),
        ("addition handles negative numbers", PASSED),
    ]
    assert (results.score, results.max_score, results.passed) == (2.0, 3.0, False)


@pytest.mark.parametrize("name", ["node_tap14.tap", "bats.tap"])
def test_feeding_line_by_line_equals_parsing_the_whole_text(name):
    text = (SAMPLES / name).read_text()
    assert fed_line_by_line(text) == parse_tap(text)


# --- the verdict ------------------------------------------------------------------------------


def test_all_ok_with_a_plan_passes():
    results = tap("TAP version 13\n1..2\nok 1 - a\nok 2 - b\n")
    assert (results.passed, results.score, results.max_score) == (True, 2.0, 2.0)
    assert results.notes == ()


def test_the_plan_may_come_last():
    assert tap("ok 1\nok 2\n1..2\n").passed


def test_oks_without_a_plan_pass_with_a_note():
    results = tap("ok - compiles\nok - runs\n")
    assert results.passed
    assert [t.number for t in results.tests] == ["1", "2"]
    assert any("no plan line" in note for note in results.notes)


def test_missing_tests_fail_the_run_and_count_against_the_max_score():
    results = tap("1..5\nok 1\nok 2\nok 3 # skip later\n")
    assert not results.passed
    assert "TAP plan said 5 tests, 3 ran" in results.notes
    assert (results.score, results.max_score) == (2.0, 4.0)


def test_more_tests_than_planned_fail_the_run():
    results = tap("1..1\nok 1\nok 2\n")
    assert not results.passed
    assert "TAP plan said 1 tests, 2 ran" in results.notes


def test_bail_out_fails_the_run_and_ends_the_stream():
    results = tap("1..3\nok 1\nBail out! database unreachable\nok 2\nok 3\n")
    assert not results.passed
    assert [t.name for t in results.tests] == ["test 1"]
    assert "the tests bailed out: database unreachable" in results.notes


def test_a_bail_out_inside_a_subtest_bails_out_everything():
    results = tap("1..2\n    1..1\n    Bail out! no network\nok 1\n")
    assert not results.passed
    assert results.tests == ()


def test_a_bail_out_alone_is_tap():
    assert not tap("Bail out!").passed


def test_a_plan_of_zero_skips_everything_and_passes():
    results = tap("1..0 # SKIP no display available\n")
    assert (results.passed, results.tests) == (True, ())
    assert "the TAP plan skipped every test: SKIP no display available" in results.notes


def test_todo_failures_do_not_fail_the_run():
    results = tap("1..3\nok 1\nnot ok 2 - fast path # TODO not written\nok 3 # todo\n")
    assert results.passed
    _, failing_todo, passing_todo = results.tests
    assert (failing_todo.status, failing_todo.score, failing_todo.max_score) == (
        SKIPPED,
        None,
        None,
    )
    assert failing_todo.output == "TODO (not ok): not written"
    assert (passing_todo.status, passing_todo.output) == (SKIPPED, "TODO (ok)")
    assert (results.score, results.max_score) == (1.0, 1.0)


@pytest.mark.parametrize("directive", ["# SKIP", "# skip", "#Skipped:", "# SKIP: no net"])
def test_skip_directives_are_case_insensitive(directive):
    (test,) = tap(f"1..1\nok 1 - net {directive}\n").tests
    assert (test.name, test.status) == ("net", SKIPPED)


# --- test lines -------------------------------------------------------------------------------


def test_unnumbered_tests_continue_from_the_last_number():
    results = tap("ok\nok 5 - five\nok\nnot ok\n")
    assert [t.number for t in results.tests] == ["1", "5", "6", "7"]
    assert "TAP test 5 came after test 1" in results.notes


def test_descriptions_lose_the_dash_and_keep_escaped_hashes():
    results = tap(r"ok 1 - issue \#42 fixed" + "\nok 2 -\nok 3 - - odd\n")
    assert [t.name for t in results.tests] == ["issue #42 fixed", "test 2", "- odd"]


def test_a_comment_after_the_description_is_not_part_of_the_name():
    (test,) = tap("ok 1 - formats output # time=1.1ms\n").tests
    assert (test.name, test.status) == ("formats output", PASSED)


def test_lines_that_are_not_tap_are_ignored():
    results = tap(
        "Compiling...\nokay then\nok 1 - runs\n# comment\nnot okay\nok1\nnot ok 2 - sorts\n1..2\n"
    )
    assert [(t.name, t.status) for t in results.tests] == [("runs", PASSED), ("sorts", FAILED)]


def test_windows_line_endings_are_understood():
    results = tap("1..2\r\nok 1 - a\r\nnot ok 2 - b # TODO\r\n")
    assert [(t.name, t.status) for t in results.tests] == [("a", PASSED), ("b", SKIPPED)]
    assert results.passed


def test_indented_subtest_lines_are_ignored_and_only_the_summary_counts():
    results = tap(
        "1..1\n# Subtest: group\n    1..2\n    ok 1 - inner\n    not ok 2 - inner fails\n"
        "ok 1 - group\n"
    )
    assert [(t.name, t.status) for t in results.tests] == [("group", PASSED)]
    assert results.passed


# --- YAML diagnostics -------------------------------------------------------------------------


def test_a_yaml_block_becomes_the_output_of_the_test_before_it():
    results = tap(
        "1..2\nnot ok 1 - adds\n  ---\n  message: 'expected 3'\n  data:\n    got: 4\n  ...\n"
        "ok 2 - subtracts\n"
    )
    adds, subtracts = results.tests
    assert adds.output == "message: 'expected 3'\ndata:\n  got: 4"
    assert subtracts.output == ""


def test_an_unterminated_yaml_block_ends_at_the_next_test():
    results = tap("not ok 1\n  ---\n  got: 4\nok 2\n")
    assert [t.output for t in results.tests] == ["got: 4", ""]


def test_yaml_not_right_after_a_test_is_ignored():
    results = tap("ok 1\n# note\n  ---\n  stray: true\n  ...\n")
    assert results.tests[0].output == ""


def test_a_huge_yaml_block_is_truncated_while_streaming():
    parser = TapParser()
    parser.feed("not ok 1 - floods")
    parser.feed("  ---")
    for _ in range(200_000):
        parser.feed("  line: " + "x" * 50)
    parser.feed("  ...")
    results = parser.finish()
    assert results is not None
    output = results.tests[0].output
    assert len(output.encode()) <= MAX_TEST_OUTPUT_BYTES
    assert output.endswith("\n… [output truncated]")
    assert any("1 test was longer" in note for note in results.notes)


# --- not TAP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "\n\n", "Hello, world!\nAll done.\n", "TAP version 14\n", "    ok 1 - indented\n"]
)
def test_output_without_plan_or_test_lines_is_not_tap(text):
    assert parse_tap(text) is None
    assert fed_line_by_line(text) is None


# --- caps -----------------------------------------------------------------------------------


def test_only_the_first_tests_are_kept_but_the_verdict_counts_all():
    text = "ok\n" * (MAX_TESTS + 5) + "not ok - late\n"
    results = tap(text)
    assert len(results.tests) == MAX_TESTS
    assert (results.score, results.max_score) == (MAX_TESTS + 5, MAX_TESTS + 6)
    assert not results.passed
    assert any(f"only the first {MAX_TESTS}" in note for note in results.notes)


def test_long_descriptions_are_shortened():
    (test,) = tap("ok 1 - " + "d" * 10_000 + "\n").tests
    assert len(test.name) == MAX_NAME_CHARS


def test_a_long_bail_out_reason_is_shortened():
    results = tap("Bail out! " + "r" * 100_000)
    assert all(len(note) < 600 for note in results.notes)


# --- properties -------------------------------------------------------------------------------

tap_lines = st.lists(
    st.sampled_from(
        [
            "TAP version 14",
            "1..3",
            "1..0 # skip all",
            "ok",
            "ok 1 - a",
            "not ok 2 - b",
            "not ok 3 # TODO t",
            "ok 4 # skip s",
            "  ---",
            "  key: value",
            "  ...",
            "    ok 1 - sub",
            "# comment",
            "Bail out! r",
            "",
            "noise",
        ]
    )
    | st.text(max_size=30),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(tap_lines)
def test_streamed_and_whole_parses_agree_and_never_raise(lines):
    text = "\n".join(lines)
    whole = parse_tap(text)
    assert whole is None or isinstance(whole, ParsedResults)
    assert fed_line_by_line(text) == whole
