"""The check-run report: what a student sees of an Outcome, and that GitHub will accept it."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghapp.core.config import VisibilityLevel as Level
from ghapp.core.markdown import MAX_FIELD_CHARS, code, code_block, fenced, inline, plain
from ghapp.core.report import (
    Annotation,
    CheckRunReport,
    Conclusion,
    Lateness,
    render_error_report,
    render_in_progress,
    render_not_graded,
    render_queued,
    render_report,
)
from runner.outcome import ErrorKind, Outcome, Status, TestResult, Visibility
from runner.outcome import TestStatus as Case  # "Test*" names would be collected by pytest

PASSED, FAILED, ERRORED, SKIPPED = Case.PASSED, Case.FAILED, Case.ERRORED, Case.SKIPPED


def case(name: str = "t", status: Case = PASSED, **fields) -> TestResult:
    return TestResult(name=name, status=status, **fields)


def outcome(*tests: TestResult, status: Status | None = None, **fields) -> Outcome:
    if status is None:
        status = (
            Status.FAILED if any(t.status in (FAILED, ERRORED) for t in tests) else Status.PASSED
        )
    return Outcome(status=status, tests=list(tests), **fields)


def scored(passed: int, failed: int, points: float = 1.0) -> list[TestResult]:
    return [case(f"p{i}", PASSED, score=points, max_score=points) for i in range(passed)] + [
        case(f"f{i}", FAILED, score=0.0, max_score=points) for i in range(failed)
    ]


def everything(report: CheckRunReport) -> str:
    """Every string of the payload, annotations included."""
    parts = [report.conclusion, report.title, report.summary, report.text or ""]
    for a in report.annotations:
        parts += [a.path, a.message, a.title or "", a.raw_details or ""]
    return "\n".join(parts)


def assert_well_formed(markdown: str) -> None:
    """Every code fence is closed and every <details> too, counting only outside fences."""
    fence, depth = None, 0
    for line in markdown.split("\n"):
        if fence is not None:
            if re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}\s*", line):
                fence = None
            continue
        opening = re.match(r" {0,3}(`{3,})", line)
        if opening:
            fence = opening.group(1)
            continue
        depth += line.count("<details>") - line.count("</details>")
        assert depth >= 0, markdown
    assert fence is None, "a code fence is left open"
    assert depth == 0, "a <details> is left open"


def assert_within_limits(report: CheckRunReport) -> None:
    assert report.conclusion in set(Conclusion)
    assert 0 < len(report.title) <= 1000
    assert report.summary and len(report.summary) <= MAX_FIELD_CHARS  # GitHub counts characters
    assert report.text is None or len(report.text) <= MAX_FIELD_CHARS
    assert_well_formed(report.summary)
    assert_well_formed(report.text or "")
    for a in report.annotations:
        assert a.message and len(a.message.encode()) <= 65_535
        assert a.title is None or len(a.title) <= 255
        assert not a.path.startswith("/") and ".." not in a.path.split("/")
    batches = report.annotation_batches()
    assert all(1 <= len(batch) <= 50 for batch in batches)
    assert sum(len(batch) for batch in batches) == len(report.annotations)
    for batch in batches or [()]:
        output = report.output(batch)
        assert set(output) <= {"title", "summary", "text", "annotations"}


# --- conclusions -----------------------------------------------------------------------------


def test_passed_is_success_and_failed_is_failure():
    assert render_report(outcome(*scored(3, 0))).conclusion == "success"
    assert render_report(outcome(*scored(3, 1))).conclusion == "failure"


def test_timed_out_is_timed_out_with_the_limit_in_the_title():
    report = render_report(
        Outcome(
            status=Status.TIMED_OUT,
            duration_s=120.04,
            reason="The submission did not finish within the time limit (120 s).",
        )
    )
    assert report.conclusion == "timed_out"
    assert report.title == "Timed out after 120 s"
    assert "did not finish within the time limit" in report.summary


@pytest.mark.parametrize(
    "kind",
    [
        ErrorKind.IMAGE_NOT_FOUND,
        ErrorKind.IMAGE_NO_COMMAND,
        ErrorKind.DOCKER_UNAVAILABLE,
        ErrorKind.SANDBOX_FAILED,
        ErrorKind.BAD_RESULTS,
    ],
)
def test_a_broken_image_or_results_file_asks_for_action_without_the_details(kind):
    secret = "results.json line 7: tests[3] 'secret_edge_case' has no name; image ghcr.io/x/y"
    report = render_report(Outcome.errored(kind, secret), visibility=Level.FULL)
    assert report.conclusion == "action_required"
    assert "Your teacher has been notified" in report.summary
    assert "secret_edge_case" not in everything(report) and "ghcr.io" not in everything(report)
    assert report.text is None and report.annotations == ()


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        (ErrorKind.OUT_OF_MEMORY, "Ran out of memory"),
        (ErrorKind.OUTPUT_FLOOD, "Stopped: too much output"),
    ],
)
def test_memory_and_output_floods_are_the_submissions_failure_with_the_reason(kind, title):
    reason = "The submission ran out of memory (limit 512 MiB) and was stopped."
    report = render_report(Outcome.errored(kind, reason), visibility=Level.SCORE)
    assert report.conclusion == "failure"
    assert report.title == title
    assert "ran out of memory \\(limit 512 MiB\\)" in report.summary


def test_a_bail_out_is_a_failure_whose_reason_shows_only_where_tests_do():
    reason = "The tests stopped early (TAP Bail out!): secret_edge_case segfaulted."
    outcome = Outcome.errored(ErrorKind.BAILED_OUT, reason, tests=[case("compiles")])
    for level in (Level.SCORE, Level.TESTS, Level.FULL):
        report = render_report(outcome, visibility=level)
        assert report.conclusion == "failure"
        assert report.title == "Stopped early: the tests bailed out"
        assert ("secret\\_edge\\_case" in report.summary) is (level is not Level.SCORE)
    hidden = outcome.model_copy(
        update={"tests": [case("compiles"), case("x").model_copy(update={"visibility": "hidden"})]}
    )
    assert "secret" not in everything(render_report(hidden, visibility=Level.FULL))


def test_a_broken_archive_shows_the_student_what_is_wrong_with_their_commit():
    reason = 'entry "../evil" leaves the submission folder'
    report = render_report(Outcome.errored(ErrorKind.BAD_ARCHIVE, reason), visibility=Level.HIDDEN)
    assert report.conclusion == "action_required"
    assert report.title == "The submission could not be unpacked"
    assert '"../evil" leaves the submission folder' in report.text
    assert_well_formed(report.text)


# --- titles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tests", "fields", "title"),
    [
        (scored(48, 2), {"score": 48, "max_score": 50}, "48 / 50 — 2 tests failing"),
        (scored(49, 1), {"score": 49.0, "max_score": 50.0}, "49 / 50 — 1 test failing"),
        (scored(12, 0), {"score": 12, "max_score": 12}, "12 / 12 — all 12 tests passed"),
        (scored(1, 0), {"score": 1, "max_score": 1}, "1 / 1 — 1 test passed"),
        ([], {"score": 42.5, "max_score": 50}, "42.5 / 50"),
        ([], {"score": 1 / 3, "max_score": 1}, "0.33 / 1"),
        ([], {"score": 7}, "7 points"),
        ([case("a"), case("b", SKIPPED)], {}, "1 passed, 1 skipped"),
        ([case("a"), case("b"), case("c")], {}, "All 3 tests passed"),
        (
            [case(str(i), FAILED if i < 3 else PASSED) for i in range(10)],
            {},
            "3 of 10 tests failing",
        ),
        ([case("a", ERRORED)], {}, "1 of 1 test failing"),
        ([], {"status": Status.PASSED}, "All tests passed"),
        ([], {"status": Status.FAILED}, "Tests failed"),
    ],
)
def test_titles(tests, fields, title):
    assert render_report(outcome(*tests, **fields)).title == title


def test_titles_use_the_real_dashes():
    assert "\u2014" in render_report(outcome(*scored(1, 1), score=1, max_score=2)).title


# --- summary and text ------------------------------------------------------------------------


def test_test_names_cannot_break_the_table_or_add_markup():
    name = "a | b\n`code` <script>alert(1)</script> [x](http://e.vil) **bold**"
    report = render_report(outcome(case(name, FAILED, score=0, max_score=1, output="x")))
    row = next(line for line in report.summary.splitlines() if "script" in line)
    assert row.count(" | ") == 2  # three cells: status, name, points
    assert "<script>" not in report.summary and "\\<script\\>" in row
    assert "\\`code\\`" in row and "\\*\\*bold\\*\\*" in row and "\\[x\\]" in row
    assert row.endswith("| 0 / 1 |")
    assert "&lt;script&gt;" in report.text  # the <summary> of its output is HTML-escaped


def test_points_column_appears_only_when_some_test_has_points():
    with_points = render_report(outcome(case("a", score=1, max_score=1), case("b")))
    assert "| Status | Test | Points |" in with_points.summary
    assert "| ✅ passed | b | — |" in with_points.summary
    assert "Points" not in render_report(outcome(case("a"))).summary


def test_failing_output_is_fenced_longer_than_any_backtick_run_in_it():
    output = "before\n`````\n</details>\n# not a heading\n`````\nafter"
    report = render_report(outcome(case("t", FAILED, output=output)))
    assert "<details><summary>❌ failed t</summary>" in report.text
    assert "``````\nbefore" in report.text  # six backticks: longer than the run of five
    assert_well_formed(report.text)


def test_passing_tests_output_is_not_in_the_text():
    report = render_report(outcome(case("ok", PASSED, output="chatty"), case("no", FAILED)))
    assert "chatty" not in everything(report)


def test_ansi_escapes_are_stripped_from_outputs_and_names():
    report = render_report(
        outcome(case("\x1b[1mbold\x1b[0m", FAILED, output="\x1b[31mred\x1b[0m\r\nnext\x07"))
    )
    assert "\x1b" not in everything(report) and "\x07" not in everything(report)
    assert "red\nnext" in report.text and "| bold |" in report.summary


def test_html_output_is_shown_as_text_not_rendered():
    report = render_report(
        outcome(case("t", FAILED, output="<img src=x onerror=alert(1)>", output_format="html"))
    )
    assert "```\n<img src=x onerror=alert(1)>\n```" in report.text


def test_grader_output_is_in_the_summary_at_full_level_when_visible():
    result = outcome(case("a"), output="Well done overall")
    assert "Well done overall" in render_report(result).summary
    assert "Well done" not in everything(render_report(result, visibility=Level.TESTS))
    hidden = result.model_copy(update={"output_visibility": Visibility.HIDDEN})
    assert "Well done" not in everything(render_report(hidden))


def test_a_one_megabyte_failing_output_is_cut_visibly_and_its_blocks_closed():
    output = ("x" * 99 + "\n") * 10_000 + "```" + "y" * 10
    report = render_report(
        outcome(case("big", FAILED, output=output), case("big2", FAILED, output=output))
    )
    assert_within_limits(report)
    assert re.search(
        r"… cut: \d+ more characters; the full output is in the dashboard", report.text
    )
    assert report.text.count("</details>") == 2


def test_many_failing_outputs_share_the_text_and_the_rest_is_announced():
    tests = [case(f"t{i}", FAILED, output="z" * 20_000) for i in range(20)]
    report = render_report(outcome(*tests))
    assert_within_limits(report)
    assert re.search(r"cut: the output of \d+ tests more", report.text)


def test_five_thousand_tests_fill_the_table_and_the_rest_is_announced():
    tests = [
        case(f"test number {i} " + "n" * 150, FAILED, score=0, max_score=1) for i in range(5000)
    ]
    report = render_report(outcome(*tests, score=0, max_score=5000))
    assert_within_limits(report)
    assert re.search(
        r"… cut: \d+ more tests; the full results are in the dashboard", report.summary
    )


def test_log_is_shown_at_full_level_with_head_and_tail_when_its_visibility_allows():
    log = "HEAD\n" + "line\n" * 40_000 + "TAIL\n"
    result = outcome(case("a"), log=log, log_truncated=True, stdout_visibility=Visibility.VISIBLE)
    report = render_report(result)
    assert_within_limits(report)
    assert "### Log" in report.text and "HEAD" in report.text and "TAIL" in report.text
    assert "[cut here]" in report.text and "beginning and its end" in report.text
    assert "HEAD" not in everything(render_report(result, visibility=Level.TESTS))
    default = result.model_copy(update={"stdout_visibility": Visibility.HIDDEN})
    assert "HEAD" not in everything(render_report(default))


# --- annotations -----------------------------------------------------------------------------


def test_annotations_point_at_failing_tests_with_a_file_and_line():
    output = "\n".join(f"line {i}" for i in range(100))
    report = render_report(
        outcome(
            case("test_add", FAILED, output=output, file="/submission/src/calc.py", line=12),
            case("test_ok", PASSED, file="src/calc.py", line=3),
            case("test_nowhere", FAILED, output="x"),
        )
    )
    [annotation] = report.annotations
    assert annotation.to_api() == {
        "path": "src/calc.py",
        "start_line": 12,
        "end_line": 12,
        "annotation_level": "failure",
        "message": "\n".join(f"line {i}" for i in range(20)),
        "title": "test_add",
    }


@pytest.mark.parametrize(
    "path", ["/autograder/source/tests/test_hidden.py", "../x.py", "/etc/passwd"]
)
def test_no_annotation_for_files_outside_the_students_repository(path):
    report = render_report(outcome(case("t", FAILED, file=path, line=1)))
    assert report.annotations == ()


def test_annotations_come_at_most_fifty_so_one_request_carries_them():
    tests = [case(f"t{i}", FAILED, file="a.py", line=i + 1) for i in range(120)]
    report = render_report(outcome(*tests))
    assert len(report.annotations) == 50
    assert [len(b) for b in report.annotation_batches(size=20)] == [20, 20, 10]
    assert len(report.output(report.annotation_batches()[0])["annotations"]) == 50
    with pytest.raises(ValueError):
        report.output(report.annotations + report.annotations[:1])


def test_annotations_refuse_what_github_would():
    with pytest.raises(ValueError):
        Annotation("a.py", 0, 0, "failure", "m")
    with pytest.raises(ValueError):
        Annotation("a.py", 1, 1, "error", "m")


# --- visibility levels -----------------------------------------------------------------------


def graded(**fields) -> Outcome:
    tests = [
        case("visiblepass", PASSED, score=40, max_score=40),
        case("visiblefail", FAILED, score=2, max_score=10, output="boom", file="a.py", line=1),
    ]
    return outcome(*tests, score=42, max_score=50, output="top", **fields)


def test_hidden_level_says_graded_and_nothing_else():
    report = render_report(graded(), visibility=Level.HIDDEN)
    assert report.conclusion == "neutral"
    assert report.title == "Submission received and graded"
    assert not re.search(r"\d|visible|boom|top", everything(report))
    assert report.text is None and report.annotations == ()


def test_hidden_level_hides_a_timeout_too():
    report = render_report(
        Outcome(status=Status.TIMED_OUT, duration_s=120), visibility=Level.HIDDEN
    )
    assert report.conclusion == "neutral" and "Timed out" not in everything(report)


def test_score_level_shows_the_total_only():
    report = render_report(graded(), visibility=Level.SCORE)
    assert report.conclusion == "failure"
    assert report.title == "42 / 50"
    assert "visible" not in everything(report) and "failing" not in everything(report)
    assert report.text is None and report.annotations == ()


def test_tests_level_shows_names_status_and_points_but_no_output():
    report = render_report(graded(), visibility=Level.TESTS)
    assert report.title == "42 / 50 — 1 test failing"
    assert "| ❌ failed | visiblefail | 2 / 10 |" in report.summary
    assert "boom" not in everything(report) and "top" not in everything(report)
    assert report.text is None and report.annotations == ()


def test_full_level_adds_output_and_annotations():
    report = render_report(graded(), visibility=Level.FULL)
    assert "boom" in report.text and "top" in report.summary
    assert len(report.annotations) == 1


def test_hidden_tests_never_appear_and_the_score_counts_visible_tests_only():
    result = outcome(
        case("shown", PASSED, score=3, max_score=3),
        case("secret", FAILED, score=0, max_score=7, visibility=Visibility.HIDDEN, output="s3cr3t"),
        score=3,
        max_score=10,
    )
    for level in Level:
        for after_due in (False, True):
            report = render_report(result, visibility=level, after_due=after_due, published=True)
            assert "secret" not in everything(report) and "s3cr3t" not in everything(report)
            assert "10" not in everything(report) and "7" not in everything(report)
    report = render_report(result, visibility=Level.FULL)
    assert report.title == "3 / 3 on visible tests — 1 test passed"
    assert report.conclusion == "success"  # the mark follows the tests the student can see


def test_after_due_date_tests_appear_once_the_deadline_has_passed():
    result = outcome(case("early"), case("late", FAILED, visibility=Visibility.AFTER_DUE_DATE))
    assert "late" not in render_report(result).summary
    assert render_report(result).conclusion == "success"
    after = render_report(result, after_due=True)
    assert "late" in after.summary and after.conclusion == "failure"


def test_after_published_tests_appear_once_grades_are_published():
    result = outcome(case("early"), case("pub", FAILED, visibility=Visibility.AFTER_PUBLISHED))
    assert "pub" not in render_report(result, after_due=True).summary
    assert "pub" in render_report(result, published=True).summary


def test_when_every_test_is_withheld_the_report_is_the_hidden_one():
    result = outcome(case("x", FAILED, score=0, max_score=5, visibility=Visibility.AFTER_DUE_DATE))
    report = render_report(result, visibility=Level.FULL)
    assert report.conclusion == "neutral" and report.title == "Submission received and graded"


def test_parser_notes_are_not_shown_when_tests_are_withheld():
    result = outcome(
        case("a"),
        case("b", visibility=Visibility.HIDDEN),
        reason="the results list 2 tests; hidden_b was renamed",
    )
    assert "hidden_b" not in everything(render_report(result))
    assert "hidden\\_b" not in everything(render_report(result))


# --- the other reports -----------------------------------------------------------------------


def test_error_report_keeps_the_teachers_detail_out_unless_the_student_may_read_it():
    detail = ".github/pushgrade.yml: line 3, column 1 timeout: must be > 0 (got -1)"
    report = render_error_report(detail)
    assert report.conclusion == "action_required"
    assert report.title == "Not graded yet: grading is not set up correctly"
    assert "Your teacher has been notified" in report.summary
    assert "keeps the time it was received" in report.summary  # a teacher's fault: not theirs
    assert "timeout" not in everything(report)
    shown = render_error_report(detail, student_may_read=True)
    assert "timeout: must be > 0" in shown.text


def test_not_graded_is_neutral_and_within_limits():
    report = render_not_graded("Daily limit reached", "x" * 100_000)
    assert report.conclusion == "neutral" and report.title == "Daily limit reached"
    assert_within_limits(report)
    assert "… cut:" in report.summary


def test_intermediate_states_are_tiny():
    assert render_queued() == {
        "title": "Queued — position unknown",
        "summary": "Waiting for a free grader.",
    }
    assert render_queued(3) == {
        "title": "Queued — 3 ahead of you",
        "summary": "Waiting for a free grader: 3 pushes were queued before yours.",
    }
    assert render_queued(1)["summary"].endswith("1 push was queued before yours.")
    assert render_queued(0)["title"] == "Queued — next in line"
    assert render_in_progress()["title"] == "Grading started"
    assert "120 s" in render_in_progress(120)["summary"]


# --- markdown helpers ------------------------------------------------------------------------


def test_fences_stay_short_even_for_absurd_backtick_runs():
    block = fenced("`" * 70_000)
    assert block.startswith("`" * 33 + "\n") and len(block.split("\n")[0]) == 33
    assert_well_formed(block)
    assert code_block("`" * 70_000, 10_000) is not None


def test_plain_drops_controls_and_bidi_overrides_and_keeps_text():
    assert plain("a\x1b]0;title\x07b\u202ec\x00d\ud800") == "abcd\ufffd"
    assert inline("a\nb|c") == "a b\\|c"


# --- properties: for any outcome, policy and flags -------------------------------------------

# Untrusted text is built of these; none has a lowercase letter outside an escape sequence, so
# the lowercase markers below can only come from the field they were put in.
FRAGMENTS = [
    "|", "`", "```", "````````", "`" * 40, "<B>", "</details>", "<details>", "<summary>", "\n",
    "\r\n", "\r", "\t", " ", "\x1b[31m", "\x1b[0m", "\x1b]8;;HTTP://X\x07", "\x00", "\x7f",
    "\ud800", "\u202e", "&AMP;", "\\", "*", "_", "[X](HTTP://X)", "#", "@", "É", "😀", "~~~",
    "<!--", "-->", "A", "ZZ", "42", "    ", "\n```\n", "\n`````\n", "\n</details>\n",
    "\n</summary>\n\n",
]  # fmt: skip
untrusted = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join)
points = st.none() | st.sampled_from([0.0, 1.0, 2.5, -1.0]) | st.floats(allow_nan=True)
LEVELS = list(Level)


@st.composite
def cases_(draw, index: int) -> TestResult:
    big = draw(st.sampled_from([1, 1, 1, 1, 3000]))
    return TestResult(
        name=f"mkname{index}q" + draw(untrusted),
        status=draw(st.sampled_from(list(Case))),
        score=draw(points),
        max_score=draw(points),
        output=f"mkoutput{index}q" + draw(untrusted) * big,
        output_format=draw(st.sampled_from(["text", "html", "md", "ansi"])),
        visibility=draw(st.sampled_from(list(Visibility))),
        number=draw(st.none() | st.just(f"mknumber{index}q")),
        file=draw(st.none() | st.sampled_from([f"src/mkfile{index}q.py", "../mkup.py"])),
        line=draw(st.none() | st.integers(-3, 10**12)),
    )


@st.composite
def outcomes(draw) -> Outcome:
    count = draw(st.integers(0, 8))
    status = draw(st.sampled_from(list(Status)))
    return Outcome(
        status=status,
        error=draw(st.sampled_from(list(ErrorKind))) if status is Status.ERRORED else None,
        tests=[draw(cases_(i)) for i in range(count)],
        score=draw(points),
        max_score=draw(points),
        duration_s=draw(st.floats(0, 1e6)),
        log="mklogq" + draw(untrusted) * draw(st.sampled_from([1, 1, 10_000])),
        log_truncated=draw(st.booleans()),
        reason=draw(st.none() | untrusted.map(lambda s: "mkreasonq" + s)),
        output="mkgraderq" + draw(untrusted),
        output_visibility=draw(st.sampled_from(list(Visibility))),
        stdout_visibility=draw(st.sampled_from(list(Visibility))),
    )


def released(visibility: Visibility, after_due: bool, published: bool) -> bool:
    return (
        visibility is Visibility.VISIBLE
        or (visibility is Visibility.AFTER_DUE_DATE and after_due)
        or (visibility is Visibility.AFTER_PUBLISHED and published)
    )


def forbidden_markers(result: Outcome, level: Level, after_due: bool, published: bool):
    """The markers of everything the policy hides from this student."""
    names = level in (Level.TESTS, Level.FULL)
    full = level is Level.FULL
    for i, test in enumerate(result.tests):
        shown = released(test.visibility, after_due, published)
        if not (names and shown):
            yield from (f"mkname{i}q", f"mknumber{i}q")
        if not (full and shown):
            yield from (f"mkoutput{i}q", f"mkfile{i}q")
    if not (full and released(result.stdout_visibility, after_due, published)):
        yield "mklogq"
    if not (full and released(result.output_visibility, after_due, published)):
        yield "mkgraderq"
    yield "mkup"  # a path outside the repository is never annotated


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


LATENESS = st.none() | st.builds(
    Lateness,
    late_by=st.just("2 hours"),
    due=st.just("2026-12-01 23:59 +01:00"),
    penalty=st.floats(0, 1),
)


@SETTINGS
@given(outcomes(), st.sampled_from(LEVELS), st.booleans(), st.booleans(), LATENESS)
def test_nothing_the_policy_hides_reaches_the_payload(result, level, after_due, published, late):
    report = render_report(
        result, visibility=level, after_due=after_due, published=published, late=late
    )
    payload = everything(report)
    for marker in forbidden_markers(result, level, after_due, published):
        assert marker not in payload, marker


@SETTINGS
@given(outcomes(), st.sampled_from(LEVELS), st.booleans(), st.booleans(), LATENESS)
def test_every_report_is_within_githubs_limits_and_well_formed(
    result, level, after_due, published, late
):
    report = render_report(
        result, visibility=level, after_due=after_due, published=published, late=late
    )
    assert_within_limits(report)


@SETTINGS
@given(outcomes(), st.data(), st.sampled_from(LEVELS), st.booleans(), st.booleans())
def test_withheld_tests_do_not_change_the_report(result, data, level, after_due, published):
    """Whatever withheld tests say (names, outputs, points, verdicts, and so the total and the
    overall status), the student's report is the same."""
    if result.status is Status.ERRORED:
        return
    withheld = [
        i
        for i, test in enumerate(result.tests)
        if not released(test.visibility, after_due, published)
    ]
    if not withheld:
        return
    tests = list(result.tests)
    for i in withheld:
        other = data.draw(cases_(i + 100))
        tests[i] = other.model_copy(update={"visibility": tests[i].visibility})
    status = result.status
    if status is not Status.TIMED_OUT:
        status = data.draw(st.sampled_from([Status.PASSED, Status.FAILED]))
    changed = result.model_copy(
        update={
            "tests": tests,
            "status": status,
            "score": data.draw(points),
            "max_score": data.draw(points),
            # A timeout's reason is pushgrade's own; other reasons carry the parsers' notes.
            "reason": result.reason if status is Status.TIMED_OUT else None,
        }
    )
    flags = {"visibility": level, "after_due": after_due, "published": published}
    assert render_report(result, **flags) == render_report(changed, **flags)


LATE = Lateness(late_by="1 day 2 hours", due="2026-12-01 23:59 +01:00", penalty=0.2)


def test_a_late_push_is_flagged_and_its_score_loses_the_penalty():
    report = render_report(outcome(*scored(4, 1, points=2.0), score=8, max_score=10), late=LATE)
    assert report.title.startswith("Late: 6.4 / 10 after the late penalty")
    assert report.summary.startswith(
        "⏰ **Late**: received 1 day 2 hours after the deadline (2026-12-01 23:59 +01:00). "
        "A late penalty of 20 % applies."
    )
    assert "8 / 10" not in everything(report)


def test_a_late_push_without_a_penalty_keeps_its_score_and_is_flagged():
    flagged = Lateness(late_by="5 minutes", due="2026-12-01 23:59 +01:00")
    report = render_report(outcome(*scored(2, 0), score=2, max_score=2), late=flagged)
    assert report.title.startswith("Late: 2 / 2") and "penalty" not in everything(report)
    assert report.conclusion == "success"


def test_the_late_flag_shows_even_when_results_are_hidden_and_reveals_nothing_else():
    result = outcome(*scored(1, 3), score=1, max_score=4)
    report = render_report(result, visibility=Level.HIDDEN, late=LATE)
    assert report.title == "Submission received and graded (late)"
    assert "20 %" in report.summary and "/ 4" not in everything(report)
    assert report.conclusion == "neutral"


def test_the_penalty_applies_to_the_total_of_visible_tests_too():
    tests = [
        case("seen", PASSED, score=5, max_score=5),
        case("secret", FAILED, score=0, max_score=5, visibility=Visibility.HIDDEN),
    ]
    report = render_report(outcome(*tests), visibility=Level.SCORE, late=LATE)
    assert report.title == "Late: 4 / 5 on visible tests after the late penalty"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("main", "`main`"),
        ("hw*", "`hw*`"),  # no escapes: inside a span they would be shown
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("a```b``c", "````a```b``c````"),
        ("", "` `"),
        (" x ", "`x`"),  # one line, trimmed
        ("two\nlines", "`two lines`"),
        ("x" * 150, "`" + "x" * 99 + "…`"),
    ],
)
def test_code_span(text, span):
    assert code(text, 100) == span


def test_a_graders_failure_is_not_graded_yet_for_the_student_and_keeps_the_push_s_time():
    outcome = Outcome.errored(
        ErrorKind.GRADER_FAILED,
        "The grader declares results: gradescope but left no /results/results.json; it "
        "exited with code 1.",
        log="Traceback: hidden_tests/test_secret.py line 3",
    )
    report = render_report(outcome, visibility=Level.FULL)
    assert report.conclusion == "action_required"  # the teacher has something to do
    assert report.title == "Not graded yet: the grader failed"
    assert "not a verdict on your code" in report.summary
    assert "keeps the time it was received" in report.summary
    assert "hidden_tests" not in everything(report) and "gradescope" not in everything(report)


def test_non_ascii_output_fills_githubs_limit_in_characters_not_bytes():
    # 100,000 two-byte characters: a byte budget would keep at most ~32,000 of them.
    outcome = Outcome(status=Status.FAILED, log="é" * 100_000, stdout_visibility="visible")
    report = render_report(outcome, visibility=Level.FULL)
    assert_within_limits(report)
    assert report.text.count("é") > 45_000
    assert len(report.text.encode()) > MAX_FIELD_CHARS
