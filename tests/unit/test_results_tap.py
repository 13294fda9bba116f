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
    # The failing subtest is named first; the subtest's own YAML stays with the subtest.
    assert parser.output == (
        "subtest 'parser' failed: not ok 2 reads negative numbers (line 5)\nduration_ms: 12.3"
    )
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


def test_oks_without_a_plan_do_not_pass_since_the_tests_may_have_died_before_it():
    results = tap("ok - compiles\nok - runs\n")
    assert not results.passed
    assert [t.number for t in results.tests] == ["1", "2"]
    assert results.notes == (
        "the TAP output has no plan line (1..N): the tests may have stopped early",
    )


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
    assert results.bailed_out == "database unreachable"


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
    results = tap("1..7\nok\nok 5 - five\nok\nnot ok\n")
    assert [t.number for t in results.tests] == ["1", "5", "6", "7"]
    assert "TAP plan said 7 tests, 4 ran" in results.notes


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


def test_a_passing_subtest_counts_as_its_summary_line():
    results = tap(
        "1..1\n# Subtest: group\n    1..2\n    ok 1 - inner\n    ok 2 - more\nok 1 - group\n"
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


def test_yaml_after_a_comment_still_belongs_to_the_test_before_it():
    results = tap("ok 1\n# note\n  ---\n  diag: true\n  ...\n")
    assert results.tests[0].output == "diag: true"


def test_yaml_after_a_plan_belongs_to_no_test():
    results = tap("1..1\n  ---\n  stray: true\n  ...\nok 1\n")
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


@pytest.mark.parametrize("text", ["", "\n\n", "Hello, world!\nAll done.\n", "TAP version 14\n"])
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


# --- the verdict tap-parser gives (the cases, each a stream tap-parser fails or passes) --

BUFFERED_CHILD_FAILS = (
    "TAP version 13\n1..1\nok 1 - my kids are fine {\n    1..1\n    not ok - no they aren't\n}\n"
)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        # A missing test hidden by a repeated id: five lines, but test 5 never ran.
        ("1..5\nok 1\nok 2\nok 3\nok 4\nok 4\n", "test 4 (line 6) repeats the id of line 5"),
        ("1..5\nok 1\nok 2\nok 3\nok 4\nok 6\n", "test 6 (line 6) is outside the plan 1..5"),
        (
            "1..5\nok 1 - One\nok 2 - Two\nok - Three\nok 0 - Four\nok 5 - Five\n",
            "test 0 (line 5) is outside the plan 1..5",
        ),
        # The plan comes last and the ids are out of its range.
        ("ok 8\nok 9\nok 10\nok 11\n1..4\n", "test 8 (line 1) is outside the plan 1..4"),
        ("TAP version 13\nok 1\nok 1\nok 1\n1..3\n", "test 1 (line 3) repeats the id of line 2"),
        # No plan: the test program may have died before printing it.
        (
            "ok 1\nok 2\nok 3\nok 4\n",
            "the TAP output has no plan line (1..N): the tests may have stopped early",
        ),
        (
            "TAP version 13\n1..1\npragma +strict\nNonsense!\npragma -strict\n"
            "Doesn't matter.\nok 1 All OK\n",
            "line 4 is not TAP, under pragma +strict: Nonsense!",
        ),
        (
            "pragma +strict\nTAP version 12\n1..5\nok 1\nok 2\nok 3\nok 4\nok 5\n",
            "line 2 is not TAP, under pragma +strict: TAP version 12",
        ),
        ("pragma +strict\n100..1\nok 1\n1..1\n", "the plan 100..1 (line 2) ends before it starts"),
        # A plan in the middle ends the stream: what follows is not read.
        ("ok 1\nok 2\n1..4\nok 3\nok 4\n", "TAP plan said 4 tests, 2 ran"),
        ("1..2\nok 1\n    # Subtest: inner\n    1..1\n    not ok 1 - deep\nok 2 - inner\n", None),
    ],
)
def test_streams_tap_parser_fails_do_not_pass(text, note):
    results = tap(text)
    assert not results.passed
    assert fed_line_by_line(text) == results
    if note:
        assert note in results.notes


def test_a_failing_buffered_subtest_fails_its_test_even_under_a_top_level_ok():
    results = tap(BUFFERED_CHILD_FAILS)
    assert not results.passed
    (test,) = results.tests
    assert (test.name, test.status, test.score) == ("my kids are fine", FAILED, 0.0)
    assert (
        test.output
        == "subtest 'my kids are fine' failed: not ok  no they aren't (line 5)".replace("  ", " ")
    )


def test_a_failing_streamed_subtest_fails_the_test_line_that_closes_it():
    results = tap(
        "1..2\n# Subtest: parse\n    1..2\n    ok 1\n    not ok 2 - negatives\nok 1 - parse\nok 2\n"
    )
    assert not results.passed
    assert [(t.name, t.status) for t in results.tests] == [("parse", FAILED), ("test 2", PASSED)]
    assert results.tests[0].output == "subtest 'parse' failed: not ok 2 negatives (line 5)"
    assert (results.score, results.max_score) == (1.0, 2.0)


def test_an_escaped_backslash_before_a_hash_leaves_the_hash_a_directive():
    results = tap("1..2\nok 1 - contains \\# hash\nok 2 - escaped \\\\ slash \\\\# todo true\n")
    first, second = results.tests
    assert (first.name, first.status) == ("contains # hash", PASSED)
    assert (second.name, second.status, second.output) == (
        "escaped \\ slash \\",
        SKIPPED,
        "TODO (ok): true",
    )


def test_test_lines_after_a_skip_all_plan_are_not_read():
    results = tap(
        "# TAP emitted by Test::More 0.98\n1..0 # SKIP Insufficient skipping\n"
        "ok 1 - should not be asserting\n"
    )
    assert results.passed
    assert results.tests == ()
    assert results.notes == (
        "the TAP plan skipped every test: SKIP Insufficient skipping",
        "the plan at line 2 ended the stream; later test lines are not read "
        "(line 3: ok 1 - should not be asserting)",
    )


def test_a_plan_may_start_past_one():
    assert tap("2..3\nok 2\nok 3\n").passed
    assert not tap("2..3\nok 1\nok 2\n").passed


def test_a_plan_line_with_trailing_spaces_is_read_unlike_tap_parser():
    assert tap("1..2 \nok 1 \nok 2 \n").passed


def test_bail_out_carries_its_reason():
    results = tap("1..3\nok 1\nBail out! Couldn't connect to database.\nok 2\n")
    assert results.bailed_out == "Couldn't connect to database."
    assert tap("1..3\nok 1\n").bailed_out is None
    assert tap("Bail out!\n").bailed_out == ""


def test_subtests_nested_beyond_reason_are_not_read_and_never_recurse_deeply():
    # Deeper than Python's recursion limit, were each level a call.
    text = "1..1\n" + "".join("    " * depth + "# Subtest\n" for depth in range(1200))
    text += "    " * 1200 + "not ok 1\nok 1\n"
    results = parse_tap(text)
    assert [(t.name, t.status) for t in results.tests][:1] == [("test 1", PASSED)]
