"""Gradescope's results.json, as Gradescope's own autograder specification describes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.outcome import ResultsSource, Visibility
from runner.outcome import TestStatus as CaseStatus  # "Test*" names would be collected by pytest
from runner.results import (
    MAX_NAME_CHARS,
    MAX_OUTPUT_BYTES,
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    ResultsError,
    parse_gradescope,
    results_from_exit_code,
)

SAMPLES = Path(__file__).parent / "samples" / "results"


def parse(document: object) -> ParsedResults:
    return parse_gradescope(json.dumps(document).encode())


def error_of(data: bytes, file: str = "results.json") -> str:
    with pytest.raises(ResultsError) as caught:
        parse_gradescope(data, file=file)
    return str(caught.value)


# --- Gradescope's documented examples -------------------------------------------------------


def test_the_specs_example_is_read_as_gradescope_reads_it():
    results = parse_gradescope((SAMPLES / "gradescope_spec_example.json").read_bytes())

    assert results.source is ResultsSource.RESULTS_JSON
    assert results.score == 44.0  # the top-level score overrides the tests' 2.0
    assert results.max_score == 2.0
    assert results.passed
    assert results.output == "Text relevant to the entire submission"
    assert results.output_visibility is Visibility.AFTER_DUE_DATE
    assert results.stdout_visibility is Visibility.VISIBLE
    (test,) = results.tests
    assert test.name == "Your name here"
    assert test.number == "1.1"
    assert test.status is CaseStatus.PASSED
    assert (test.score, test.max_score) == (2.0, 2.0)
    assert test.visibility is Visibility.VISIBLE
    assert test.output_format == "text"
    assert test.output.startswith("Giant multiline string")
    assert results.notes == ()


def test_the_specs_status_example_mixes_informational_checks_and_points():
    results = parse_gradescope((SAMPLES / "gradescope_status_example.json").read_bytes())

    compiled, style, partial = results.tests
    assert (compiled.status, compiled.score, compiled.max_score) == (CaseStatus.PASSED, None, None)
    assert style.status is CaseStatus.FAILED
    assert (partial.status, partial.score, partial.max_score) == (CaseStatus.PASSED, 5.0, 10.0)
    assert (results.score, results.max_score) == (5.0, 10.0)
    assert not results.passed


def test_gradescope_utils_output_with_a_failing_test_and_one_shown_after_the_deadline():
    results = parse_gradescope((SAMPLES / "gradescope_utils_python.json").read_bytes())

    assert [t.status for t in results.tests] == [
        CaseStatus.PASSED,
        CaseStatus.FAILED,
        CaseStatus.PASSED,
    ]
    assert [t.number for t in results.tests] == ["1", "2", "3"]
    assert results.tests[1].output == "Test Failed: 2 != 0 : 1 - 1 should be 0\n"
    assert results.tests[2].visibility is Visibility.AFTER_DUE_DATE
    assert (results.score, results.max_score) == (3.0, 4.0)
    assert not results.passed


# --- scores and verdict -----------------------------------------------------------------------


def test_top_level_score_overrides_the_sum_of_test_scores():
    results = parse({"score": 7, "tests": [{"score": 1, "max_score": 5}, {"score": 2}]})
    assert results.score == 7.0


def test_score_is_the_sum_of_test_scores_when_the_top_level_has_none():
    results = parse({"tests": [{"score": 1, "max_score": 1}, {"score": 2.5, "max_score": 3}]})
    assert (results.score, results.max_score) == (3.5, 4.0)


def test_max_score_falls_back_to_the_sum_of_test_max_scores():
    results = parse({"score": 3, "tests": [{"max_score": 2}, {"max_score": 2}, {"name": "info"}]})
    assert results.max_score == 4.0


def test_a_top_level_max_score_wins_over_the_sum():
    results = parse({"score": 10, "max_score": 10, "tests": [{"score": 1, "max_score": 1}]})
    assert (results.score, results.max_score, results.passed) == (10.0, 10.0, True)


def test_a_score_alone_is_enough():
    results = parse({"score": 12.5})
    assert (results.score, results.max_score, results.tests, results.passed) == (
        12.5,
        None,
        (),
        True,
    )


def test_no_scores_anywhere_leaves_score_and_max_score_unknown():
    results = parse({"tests": [{"name": "compiles", "status": "passed"}]})
    assert (results.score, results.max_score, results.passed) == (None, None, True)


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ({"score": 2, "max_score": 2}, CaseStatus.PASSED),
        ({"score": 3, "max_score": 2}, CaseStatus.PASSED),
        ({"score": 1, "max_score": 2}, CaseStatus.FAILED),
        ({"max_score": 2}, CaseStatus.FAILED),  # a missing score counts as 0
        ({"score": 0, "max_score": 0}, CaseStatus.PASSED),
        ({"score": 3}, CaseStatus.PASSED),  # no max_score: nothing to fall short of
        ({"score": -1}, CaseStatus.PASSED),
        ({"name": "informational"}, CaseStatus.PASSED),
    ],
)
def test_a_tests_status_is_inferred_from_score_against_max_score(test, expected):
    (result,) = parse({"tests": [test]}).tests
    assert result.status is expected


def test_an_explicit_status_overrides_the_points():
    passed, failed = parse(
        {
            "tests": [
                {"score": 0, "max_score": 5, "status": "passed"},
                {"score": 5, "max_score": 5, "status": "FAILED"},
            ]
        }
    ).tests
    assert (passed.status, failed.status) == (CaseStatus.PASSED, CaseStatus.FAILED)


def test_the_run_fails_when_the_score_falls_short_although_no_test_failed():
    results = parse({"score": 4, "tests": [{"max_score": 5, "status": "passed"}]})
    assert not results.passed


def test_the_run_fails_when_any_test_failed_although_the_score_is_full():
    results = parse(
        {"score": 10, "max_score": 10, "tests": [{"name": "style", "status": "failed"}]}
    )
    assert not results.passed


def test_summed_fractions_reach_a_max_score_despite_float_rounding():
    tests = [{"score": 0.1, "max_score": 0.1}, {"score": 0.2, "max_score": 0.2}]
    results = parse({"max_score": 0.3, "tests": tests})
    assert results.passed


def test_numbers_written_as_strings_are_accepted():
    results = parse({"score": "5", "tests": [{"score": " 2.5 ", "max_score": "1e1"}]})
    assert results.score == 5.0
    assert (results.tests[0].score, results.tests[0].max_score) == (2.5, 10.0)


def test_negative_scores_are_penalties_and_allowed():
    results = parse({"tests": [{"score": -2, "max_score": 5}, {"score": 5, "max_score": 5}]})
    assert results.score == 3.0


# --- visibility, formats, names -----------------------------------------------------------------


def test_visibilities_default_to_visible_and_stdout_to_hidden():
    results = parse({"tests": [{"score": 1}]})
    assert results.output_visibility is Visibility.VISIBLE
    assert results.stdout_visibility is Visibility.HIDDEN
    assert results.tests[0].visibility is Visibility.VISIBLE


def test_a_tests_visibility_defaults_to_the_top_level_one_and_may_override_it():
    results = parse(
        {
            "visibility": "after_published",
            "tests": [{"name": "secret"}, {"name": "compiles", "visibility": "visible"}],
        }
    )
    assert [t.visibility for t in results.tests] == [
        Visibility.AFTER_PUBLISHED,
        Visibility.VISIBLE,
    ]


def test_output_format_defaults_to_test_output_format_then_text():
    results = parse(
        {
            "test_output_format": "md",
            "tests": [{"name": "a"}, {"name": "b", "output_format": "ansi"}],
        }
    )
    assert [t.output_format for t in results.tests] == ["md", "ansi"]
    assert parse({"tests": [{"name": "a"}]}).tests[0].output_format == "text"


def test_an_unknown_output_format_is_shown_as_text_with_a_note():
    results = parse({"tests": [{"name": "a", "output_format": "markdown"}]})
    assert results.tests[0].output_format == "text"
    assert any('"markdown"' in note for note in results.notes)


def test_unnamed_tests_are_named_by_their_number_or_their_position():
    results = parse({"tests": [{"number": "2.1"}, {"score": 1}, {"name": "  "}]})
    assert [t.name for t in results.tests] == ["Test 2.1", "Test 2", "Test 3"]


def test_nulls_where_strings_go_count_as_absent():
    results = parse(
        {
            "output": None,
            "visibility": None,
            "tests": [{"name": None, "output": None, "number": None, "visibility": None}],
        }
    )
    assert results.output == ""
    (test,) = results.tests
    assert (test.name, test.output, test.number) == ("Test 1", "", None)


def test_numbers_where_text_goes_are_written_as_text():
    (test,) = parse({"tests": [{"name": 42, "number": 1.1}]}).tests
    assert (test.name, test.number) == ("42", "1.1")


def test_a_utf8_byte_order_mark_is_accepted():
    results = parse_gradescope(b'\xef\xbb\xbf{"score": 1}')
    assert results.score == 1.0


# --- malformed files --------------------------------------------------------------------------


def test_a_schema_error_names_the_file_the_line_and_the_field():
    data = b"""{
  "tests": [
    {"name": "one", "score": 1},
    {"name": "two", "score": 2},
    {
      "name": "three",
      "score": "ten"
    }
  ]
}"""
    assert error_of(data) == 'results.json line 7: tests[2].score is "ten", not a number'


def test_a_json_syntax_error_names_the_line():
    error = error_of(b'{\n  "score": 1,\n  "tests": [\n    {"score": 1,}\n  ]\n}')
    assert error.startswith("results.json line 4: is not valid JSON")


def test_the_error_names_the_file_it_was_given():
    assert error_of(b"[]", file="/autograder/results/results.json").startswith(
        "/autograder/results/results.json: "
    )


def test_results_error_keeps_message_file_and_line_apart():
    error = ResultsError("tests[2].score is missing", file="results.json", line=7)
    assert (error.message, error.file, error.line) == (
        "tests[2].score is missing",
        "results.json",
        7,
    )
    assert str(ResultsError("no file")) == "no file"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is not valid JSON"),
        (b'{"score": 1, \xff}', "is not UTF-8 text"),
        (b"[1, 2]", "holds a list, not a JSON object"),
        (b"null", "holds null, not a JSON object"),
        (b'"results"', 'holds "results", not a JSON object'),
        (b"{}", 'neither a top-level "score" nor "tests"'),
        (b'{"output": "crashed"}', 'neither a top-level "score" nor "tests"'),
        (b'{"score": NaN}', "score is NaN, not a finite number"),
        (b'{"score": -Infinity}', "score is -Infinity, not a finite number"),
        (b'{"score": 1e400}', "score is Infinity, not a finite number"),
        (b'{"score": "NaN"}', 'score is "NaN", not a number'),
        (b'{"score": true}', "score is true, not a number"),
        (b'{"score": "5,5"}', 'score is "5,5", not a number'),
        (b'{"score": ""}', 'score is "", not a number'),
        (b'{"score": [5]}', "score is a list, not a number"),
        (b'{"score": 1e13}', "beyond any plausible score"),
        (b'{"max_score": -10, "score": 1}', "max_score is -10, which is negative"),
        (b'{"tests": {"a": 1}}', "tests is an object, not a list"),
        (b'{"tests": [null]}', "tests[0] is null, not an object"),
        (b'{"tests": [{"max_score": "-1"}]}', 'tests[0].max_score is "-1", which is negative'),
        (b'{"tests": [{"status": "error"}]}', 'tests[0].status is "error", not "passed" or'),
        (b'{"tests": [{"status": 1}]}', "tests[0].status is 1, not"),
        (b'{"tests": [{"name": ["a"]}]}', "tests[0].name is a list, not text"),
        (b'{"tests": [{"output": {"a": 1}}]}', "tests[0].output is an object, not text"),
        (b'{"tests": [{"output": true}]}', "tests[0].output is true, not text"),
        (b'{"tests": [{"visibility": "secret"}]}', 'tests[0].visibility is "secret", not one of'),
        (b'{"stdout_visibility": 3, "score": 1}', "stdout_visibility is 3, not one of"),
        (b'{"score": ' + b"9" * 5000 + b"}", "a number with too many digits"),
        (b'{"score": ' + b"9" * 400 + b"}", "beyond any plausible score"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_untrusted_garbage_is_a_results_error_that_says_what_is_wrong(data, expected):
    assert expected in error_of(data)


def test_a_long_bad_value_is_shortened_in_the_message():
    error = error_of(json.dumps({"score": "x" * 10_000}).encode())
    assert len(error) < 120


def test_a_bad_value_behind_a_duplicate_key_is_located_where_json_reads_it():
    error = error_of(b'{"score": 1,\n "score": "bad"}')
    assert error.startswith("results.json line 2: score")


# --- caps -----------------------------------------------------------------------------------


def test_only_the_first_tests_are_kept_but_totals_and_verdict_count_all():
    tests = [{"score": 1, "max_score": 1} for _ in range(MAX_TESTS + 10)]
    tests[-1] = {"score": 0, "max_score": 1}
    results = parse({"tests": tests})

    assert len(results.tests) == MAX_TESTS
    assert (results.score, results.max_score) == (MAX_TESTS + 9, MAX_TESTS + 10)
    assert not results.passed
    assert any(f"only the first {MAX_TESTS}" in note for note in results.notes)


def test_a_huge_test_output_keeps_its_head_and_says_it_was_cut():
    results = parse({"tests": [{"name": "a", "output": "x" * 10_000_000}]})
    output = results.tests[0].output
    assert output.startswith("xxxx")
    assert output.endswith("\n… [output truncated]")
    assert len(output.encode()) <= MAX_TEST_OUTPUT_BYTES
    assert any("1 test was longer" in note for note in results.notes)


def test_truncation_counts_bytes_and_never_splits_a_character():
    results = parse({"tests": [{"name": "a", "output": "é" * MAX_TEST_OUTPUT_BYTES}]})
    encoded = results.tests[0].output.encode()
    assert len(encoded) <= MAX_TEST_OUTPUT_BYTES
    assert encoded.decode().endswith("é\n… [output truncated]")


def test_an_output_exactly_at_the_cap_is_kept_whole():
    results = parse({"score": 1, "output": "y" * MAX_OUTPUT_BYTES})
    assert results.output == "y" * MAX_OUTPUT_BYTES
    assert results.notes == ()


def test_a_huge_top_level_output_is_truncated_with_a_note():
    results = parse({"score": 1, "output": "z" * (MAX_OUTPUT_BYTES + 1)})
    assert results.output.endswith("… [output truncated]")
    assert len(results.output.encode()) <= MAX_OUTPUT_BYTES
    assert any("top-level output" in note for note in results.notes)


def test_long_test_names_are_shortened():
    results = parse({"tests": [{"name": "n" * 5000}]})
    assert len(results.tests[0].name) == MAX_NAME_CHARS
    assert any("names of 1 test" in note for note in results.notes)


def test_characters_that_cannot_be_stored_are_replaced():
    results = parse_gradescope(b'{"tests": [{"name": "a\\u0000b", "output": "\\ud800!"}]}')
    (test,) = results.tests
    assert (test.name, test.output) == ("a\ufffdb", "\ufffd!")


# --- the exit-code fallback -------------------------------------------------------------------


@pytest.mark.parametrize(("code", "passed"), [(0, True), (1, False), (137, False), (-9, False)])
def test_without_results_the_exit_code_decides(code, passed):
    results = results_from_exit_code(code)
    assert results.source is ResultsSource.EXIT_CODE
    assert (results.passed, results.score, results.max_score, results.tests) == (
        passed,
        None,
        None,
        (),
    )


# --- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["5", "passed", "failed", "hidden", "after_due_date", "text", "-1"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["score", "max_score", "tests", "name", "status", "output", "visibility", "number"]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


def only_results_or_results_error(data: bytes) -> None:
    try:
        results = parse_gradescope(data)
    except ResultsError as error:
        assert str(error)
    else:
        assert isinstance(results, ParsedResults)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_results_or_a_results_error(data):
    only_results_or_results_error(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_gives_results_or_a_results_error(value):
    only_results_or_results_error(json.dumps(value).encode())


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={"score": json_values, "tests": st.lists(json_values)}))
def test_arbitrary_results_shapes_give_results_or_a_results_error(value):
    only_results_or_results_error(json.dumps(value).encode())


# --- leaderboard (Gradescope's optional ranking) ------------------------------------------------


def test_leaderboard_entries_are_kept_as_written():
    results = parse_gradescope(
        b'{"score": 1, "leaderboard": [{"name": "Accuracy", "value": 0.926},'
        b' {"name": "Time", "value": 15.1, "order": "asc"}, {"name": "Stars", "value": "*****"}]}'
    )
    assert [(e.name, e.value, e.order) for e in results.leaderboard] == [
        ("Accuracy", 0.926, "desc"),
        ("Time", 15.1, "asc"),
        ("Stars", "*****", "desc"),
    ]
    assert results.notes == ()


@pytest.mark.parametrize(
    "entry",
    [
        b'"just text"',
        b'{"value": 1}',
        b'{"name": "", "value": 1}',
        b'{"name": "x", "value": true}',
        b'{"name": "x", "value": null}',
        b'{"name": "x", "value": [1]}',
        b'{"name": "x", "value": 1, "order": "up"}',
        b'{"name": "x", "value": 1e999}',
    ],
)
def test_a_bad_leaderboard_entry_is_left_out_with_a_note_and_never_fails_the_run(entry):
    results = parse_gradescope(
        b'{"score": 3, "max_score": 3, "leaderboard": [' + entry + b', {"name": "ok", "value": 2}]}'
    )
    assert results.passed
    assert [e.name for e in results.leaderboard] == ["ok"]
    assert results.notes == (
        "leaderboard entries 0 are not a name with a number or text value and an order of asc "
        "or desc; they are left out",
    )


def test_a_leaderboard_is_capped_in_entries_and_characters():
    entries = ",".join(f'{{"name": "{"n" * 500}", "value": "{"v" * 500}"}}' for _ in range(30))
    results = parse_gradescope(f'{{"score": 0, "leaderboard": [{entries}]}}'.encode())
    assert len(results.leaderboard) == 20
    assert {len(e.name) for e in results.leaderboard} == {100}
    assert {len(e.value) for e in results.leaderboard} == {100}
    assert "the leaderboard keeps its first 20 entries" in results.notes


def test_a_leaderboard_that_is_not_a_list_is_left_out():
    results = parse_gradescope(b'{"score": 0, "leaderboard": {"name": "x"}}')
    assert results.leaderboard == ()
    assert results.notes == ("leaderboard is an object, not a list; it is left out",)
