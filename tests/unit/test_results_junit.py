"""JUnit XML as pytest, Maven Surefire, jest-junit and gotestsum write it."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.outcome import ResultsSource
from runner.outcome import TestStatus as CaseStatus  # "Test*" names would be collected by pytest
from runner.results import (
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    ResultsError,
    parse_junit,
)

SAMPLES = Path(__file__).parent / "samples" / "results"
PASSED, FAILED, ERRORED, SKIPPED = (
    CaseStatus.PASSED,
    CaseStatus.FAILED,
    CaseStatus.ERRORED,
    CaseStatus.SKIPPED,
)


def sample(name: str) -> ParsedResults:
    return parse_junit([(name, (SAMPLES / name).read_bytes())])


def parse_one(xml: str, file: str = "junit.xml") -> ParsedResults:
    return parse_junit([(file, xml.encode())])


def error_of(xml: bytes, file: str = "junit.xml") -> str:
    with pytest.raises(ResultsError) as caught:
        parse_junit([(file, xml)])
    return str(caught.value)


# --- real producers -------------------------------------------------------------------------


def test_pytest_xunit2_report():
    results = sample("pytest_xunit2.xml")

    assert results.source is ResultsSource.JUNIT
    assert [(t.name, t.status) for t in results.tests] == [
        ("test_calc.test_add", PASSED),
        ("test_calc.test_add_negative", FAILED),
        ("test_calc.test_divide", SKIPPED),
        ("test_calc.TestStrings.test_upper", PASSED),
        ("test_calc.TestStrings.test_needs_database", ERRORED),
    ]
    assert (results.score, results.max_score, results.passed) == (2.0, 4.0, False)
    failed = results.tests[1]
    assert failed.output.startswith("assert -2 == -3\n +  where -2 = add(-1, -1)\n")
    assert "test_calc.py:13: AssertionError" in failed.output
    assert "fixture 'database' not found" in results.tests[4].output
    assert results.tests[2].output.endswith("division not implemented yet")
    assert all(t.file is None and t.line is None for t in results.tests)


def test_pytest_xunit1_report_gives_file_and_one_based_line():
    results = sample("pytest_xunit1.xml")

    assert [(t.file, t.line) for t in results.tests] == [
        ("test_calc.py", 8),  # pytest writes line="7": its locations count from 0
        ("test_calc.py", 12),
        ("test_calc.py", 17),
        ("test_calc.py", 23),
    ]


def test_pytest_captured_output_is_kept_without_its_empty_headers():
    results = sample("pytest_xunit1.xml")
    passed, failed, _, _ = results.tests

    assert passed.output == ""
    assert failed.output.endswith("\n\n[stdout]\nadding -1 and -1")


def test_maven_surefire_report():
    results = sample("surefire_TEST-com.example.CalculatorTest.xml")

    assert [(t.name, t.status) for t in results.tests] == [
        ("com.example.CalculatorTest.addsTwoNumbers", PASSED),
        ("com.example.CalculatorTest.dividesByZero", FAILED),
        ("com.example.CalculatorTest.parsesInput", ERRORED),
        ("com.example.CalculatorTest.multipliesMatrices", SKIPPED),
    ]
    assert (results.score, results.max_score, results.passed) == (1.0, 3.0, False)
    _, failed, errored, skipped = results.tests
    # The message repeats the trace's first line, so it is not written twice.
    assert failed.output.startswith("org.opentest4j.AssertionFailedError: expected: <0> but")
    assert failed.output.count("expected: <0> but was: <1>") == 1
    assert "CalculatorTest.java:27" in failed.output
    assert failed.output.endswith("[stdout]\ndividing 1 by 0")
    assert errored.output.endswith('[stderr]\nWARN: could not parse "x"')
    assert skipped.output == "matrices come in part 2"
    assert results.notes == ()


def test_jest_junit_report_does_not_repeat_the_classname():
    results = sample("jest_junit.xml")

    assert [(t.name, t.status) for t in results.tests] == [
        ("Calculator adds 1 + 2 to equal 3", PASSED),
        ("Calculator subtracts", FAILED),
        ("Calculator multiplies", PASSED),
        ("Calculator divides", SKIPPED),
        ("strings reverses a word", PASSED),
    ]
    assert results.tests[1].output.startswith("Error: expect(received).toBe(expected)")
    assert (results.score, results.max_score) == (3.0, 4.0)


def test_gotestsum_report_names_tests_by_package():
    results = sample("gotestsum.xml")

    assert [(t.name, t.status) for t in results.tests] == [
        ("example.com/hw1/calc.TestAdd", PASSED),
        ("example.com/hw1/calc.TestDivide/by_zero", FAILED),
        ("example.com/hw1/calc.TestDivide", FAILED),
        ("example.com/hw1/calc.TestSqrt", SKIPPED),
        ("example.com/hw1/words.TestReverse", PASSED),
    ]
    assert "calc_test.go:21: Divide(1, 0) = 1, want an error" in results.tests[1].output
    assert results.tests[3].output.endswith("--- SKIP: TestSqrt (0.00s)")


def test_several_files_merge_in_the_given_order():
    names = ["gotestsum.xml", "jest_junit.xml"]
    results = parse_junit([(name, (SAMPLES / name).read_bytes()) for name in names])

    assert len(results.tests) == 10
    assert results.tests[0].name == "example.com/hw1/calc.TestAdd"
    assert results.tests[5].name == "Calculator adds 1 + 2 to equal 3"
    assert (results.score, results.max_score) == (5.0, 8.0)


# --- shapes and rules -------------------------------------------------------------------------


def test_all_passing_and_skipped_tests_pass_the_run():
    results = parse_one(
        '<testsuite name="s"><testcase classname="c" name="a"/>'
        '<testcase classname="c" name="b"><skipped/></testcase></testsuite>'
    )
    assert results.passed
    assert (results.score, results.max_score) == (1.0, 1.0)
    assert (results.tests[1].score, results.tests[1].max_score) == (None, None)


def test_nested_testsuites_are_read_in_document_order():
    results = parse_one(
        """<testsuites><testsuite name="outer">
             <testcase classname="Outer" name="first"/>
             <testsuite name="inner"><testcase classname="Inner" name="second"/></testsuite>
             <testcase classname="Outer" name="third"/>
           </testsuite></testsuites>"""
    )
    assert [t.name for t in results.tests] == ["Outer.first", "Inner.second", "Outer.third"]


def test_a_failure_outranks_an_error_in_the_same_test_case():
    (test,) = parse_one(
        '<testsuite><testcase name="t"><failure message="boom"/><error message="teardown"/>'
        "</testcase></testsuite>"
    ).tests
    assert test.status is FAILED
    assert test.output == "boom\n\nteardown"


def test_a_suite_claiming_failures_its_test_cases_do_not_show_fails_the_run():
    results = parse_one(
        '<testsuites failures="1"><testsuite name="broken.test.js" failures="0" errors="1">'
        "</testsuite></testsuites>"
    )
    assert not results.passed
    assert any("broken.test.js reports 1 more failures or errors" in n for n in results.notes)
    assert sum("reports" in n for n in results.notes) == 1


def test_a_failure_and_an_error_in_one_test_case_match_a_suite_counting_both():
    results = parse_one(
        '<testsuite name="pytest" failures="1" errors="1"><testcase name="t"><failure/><error/>'
        "</testcase></testsuite>"
    )
    assert results.notes == ()


def test_namespaced_tags_are_understood():
    results = parse_one('<j:testsuite xmlns:j="urn:x"><j:testcase name="t"/></j:testsuite>')
    assert [t.name for t in results.tests] == ["t"]


def test_a_test_case_without_names_gets_one():
    results = parse_one("<testsuite><testcase/><testcase classname='only.Class'/></testsuite>")
    assert [t.name for t in results.tests] == ["(unnamed test 1)", "only.Class"]


def test_an_empty_report_passes_with_a_note():
    results = parse_one('<testsuites name="none"/>')
    assert (results.passed, results.tests, results.score, results.max_score) == (True, (), 0, 0)
    assert results.notes == ("the JUnit files hold no test cases",)


@pytest.mark.parametrize("line", ["", "x", "-3", "99999999999"])
def test_a_garbage_line_attribute_is_ignored(line):
    (test,) = parse_one(
        f'<testsuite><testcase name="t" file="a.py" line="{line}"/></testsuite>'
    ).tests
    assert (test.file, test.line) == ("a.py", None)


def test_lines_outside_pytest_suites_are_taken_as_written():
    (test,) = parse_one('<testsuite name="vitest"><testcase name="t" line="7"/></testsuite>').tests
    assert test.line == 7


# --- caps -----------------------------------------------------------------------------------


def test_only_the_first_test_cases_are_kept_but_the_verdict_counts_all():
    cases = '<testcase name="ok"/>' * (MAX_TESTS + 1) + '<testcase name="late"><error/></testcase>'
    results = parse_one(f"<testsuite>{cases}</testsuite>")

    assert len(results.tests) == MAX_TESTS
    assert (results.score, results.max_score) == (MAX_TESTS + 1, MAX_TESTS + 2)
    assert not results.passed
    assert any(f"only the first {MAX_TESTS}" in note for note in results.notes)


def test_huge_failure_text_is_truncated():
    huge = "x" * 5_000_000
    (test,) = parse_one(
        f'<testsuite><testcase name="t"><failure message="m">{huge}</failure>'
        f"<system-out>{huge}</system-out></testcase></testsuite>"
    ).tests
    assert len(test.output.encode()) <= MAX_TEST_OUTPUT_BYTES
    assert test.output.endswith("\n… [output truncated]")


# --- malformed and hostile files --------------------------------------------------------------


def test_an_xml_syntax_error_names_the_file_and_line():
    error = error_of(b'<testsuite>\n  <testcase name="a">\n</testsuite>', file="TEST-x.xml")
    assert error.startswith("TEST-x.xml line 3: is not valid XML: mismatched tag")


def test_a_dtd_is_refused():
    xml = b'<?xml version="1.0"?>\n<!DOCTYPE testsuite SYSTEM "x.dtd">\n<testsuite/>'
    assert error_of(xml) == "junit.xml: uses a DTD or entities, which are not allowed"


def test_an_entity_expansion_bomb_is_refused():
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite name="&lol2;"/>"""
    assert "uses a DTD or entities, which are not allowed" in error_of(xml)


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b"", "line 1: is not valid XML: no element found"),
        (b"\xff\xfe<testsuite/>", "is not valid XML"),
        (b"<html><body/></html>", "has <html> at its root, not <testsuites> or <testsuite>"),
        (b'{"tests": []}', "is not valid XML: not well-formed (invalid token)"),
    ],
)
def test_files_that_are_not_junit_are_results_errors(xml, expected):
    assert expected in error_of(xml)


def test_no_files_at_all_is_a_results_error():
    with pytest.raises(ResultsError, match="no JUnit XML files"):
        parse_junit([])


def test_deeply_nested_suites_are_walked_without_recursion():
    depth = 50_000
    xml = "<testsuite>" * depth + '<testcase name="deep"/>' + "</testsuite>" * depth
    results = parse_one(xml)
    assert [t.name for t in results.tests] == ["deep"]


def test_a_bad_file_among_good_ones_is_named():
    good = (SAMPLES / "jest_junit.xml").read_bytes()
    with pytest.raises(ResultsError) as caught:
        parse_junit([("a.xml", good), ("b.xml", b"<testsuite>")])
    assert caught.value.file == "b.xml"


def only_results_or_results_error(xml: bytes) -> None:
    try:
        results = parse_junit([("junit.xml", xml)])
    except ResultsError as error:
        assert str(error).startswith("junit.xml")
    else:
        assert isinstance(results, ParsedResults)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_results_or_a_results_error(data):
    only_results_or_results_error(data)


xml_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
junit_tags = st.sampled_from(
    ["testsuites", "testsuite", "testcase", "failure", "error", "skipped", "system-out"]
)
junit_attributes = st.dictionaries(
    st.sampled_from(["name", "classname", "file", "line", "failures", "errors", "message"]),
    xml_text,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(junit_tags, junit_attributes, xml_text), max_size=8))
def test_arbitrary_junit_shapes_give_results_or_a_results_error(elements):
    opening = "".join(
        f"<{tag} {' '.join(f'{k}={quoteattr(v)}' for k, v in attributes.items())}>{escape(text)}"
        for tag, attributes, text in elements
    )
    closing = "".join(f"</{tag}>" for tag, _, _ in reversed(elements))
    only_results_or_results_error(f"<testsuites>{opening}{closing}</testsuites>".encode())


def weighted(points: str, failing: bool = False) -> str:
    failure = "<failure message='no'/>" if failing else ""
    return (
        f"<testcase classname='t' name='w{points}'><properties>"
        f"<property name='max_score' value='{points}'/></properties>{failure}</testcase>"
    )


def test_a_max_score_property_weights_a_test_as_pytests_record_property_writes_it():
    parsed = parse_one(
        "<testsuite>"
        + weighted("3")
        + weighted("0.5", failing=True)
        + "<testcase classname='t' name='plain'/></testsuite>"
    )
    assert (parsed.score, parsed.max_score) == (4.0, 4.5)
    assert [(t.score, t.max_score) for t in parsed.tests] == [(3, 3), (0, 0.5), (1, 1)]
    assert parsed.notes == ()


@pytest.mark.parametrize("points", ["-1", "lots", "nan", "1e9", ""])
def test_a_max_score_that_is_not_points_counts_one_and_is_told_once(points):
    parsed = parse_one("<testsuite>" + weighted(points) * 3 + "</testsuite>")
    assert (parsed.score, parsed.max_score) == (3.0, 3.0)
    assert len(parsed.notes) == 1 and "is not a number of points" in parsed.notes[0]


# --- shapes other exporters write (issue 18) ---------------------------------------------------


@pytest.mark.parametrize("status", ["disabled", "DISABLED", "skipped", "notrun", "ignored"])
def test_a_disabled_test_without_skipped_is_skipped_and_earns_nothing(status):
    results = parse_one(
        f'<testsuite><testcase name="on"/><testcase name="off" status="{status}"/></testsuite>'
    )
    assert [(t.name, t.status, t.score) for t in results.tests] == [
        ("on", PASSED, 1.0),
        ("off", SKIPPED, None),
    ]
    assert (results.score, results.max_score, results.passed) == (1.0, 1.0, True)


def test_a_disabled_status_does_not_hide_a_failure():
    (test,) = parse_one(
        '<testsuite><testcase name="t" status="disabled"><failure/></testcase></testsuite>'
    ).tests
    assert test.status is FAILED


def test_a_suite_with_counts_and_no_test_cases_is_shown_by_its_counts():
    results = parse_one('<testsuite name="calc" tests="6" failures="1"></testsuite>', "r.xml")
    assert [(t.name, t.status, t.score, t.max_score) for t in results.tests] == [
        ("calc: 5 passed", PASSED, 5.0, 5.0),
        ("calc: 1 failed", FAILED, 0.0, 1.0),
    ]
    assert (results.score, results.max_score, results.passed) == (5.0, 6.0, False)
    assert results.notes == (
        "r.xml: calc lists no test cases, only counts (6 tests); they are shown as one line per "
        "result",
    )


def test_declared_counts_are_used_once_in_nested_suites_and_never_beyond_the_total():
    results = parse_one(
        '<testsuites tests="9" failures="9"><testsuite name="s" tests="3" failures="2" errors="5"'
        ' skipped="4"/></testsuites>'
    )
    assert [(t.name, t.status) for t in results.tests] == [
        ("s: 2 failed", FAILED),
        ("s: 1 errored", ERRORED),
    ]
    assert (results.score, results.max_score) == (0.0, 3.0)


def test_a_case_holding_skipped_failure_and_error_at_once_is_failed():
    (test,) = parse_one(
        '<testsuite><testcase name="t"><skipped/><failure message="f"/><error message="e"/>'
        "</testcase></testsuite>"
    ).tests
    assert (test.status, test.score, test.max_score) == (FAILED, 0.0, 1.0)
