"""Read JUnit XML (pytest, Maven Surefire, jest-junit, gotestsum and the like) into results.

Each `<testcase>` becomes a test worth one point: `<failure>` fails it, `<error>` errors it,
`<skipped>` (or a `status` of disabled, skipped, notrun or ignored, as JUnit 5, xUnit and NUnit
exporters write) skips it and leaves it out of the totals. A case holding several results counts
the worst: a failure or error beats a skip, and a failure beats an error (pytest reports a failing
test whose teardown also broke that way). A `<testsuite>` whose `failures` and `errors` counts claim
more than its test cases show (a suite that could not even load) fails the run, with a note; one
that declares counts (`tests="6" failures="1"`) but lists no test case is shown by its counts. DTDs
and entities are refused outright: these files come from student-reachable containers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from runner.outcome import ResultsSource, TestResult, TestStatus
from runner.results.common import (
    MAX_NAME_CHARS,
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    ResultsError,
    Trimmer,
    clean_text,
)

_SUITE_TAGS = ("testsuites", "testsuite")
MAX_POINTS = 10_000.0  # one test's max_score
_POSITION_SUFFIX = re.compile(r": line \d+, column \d+$")
_COUNT = re.compile(r"\s*\d{1,9}\s*")
# pytest's junit_logging writes this header even when a test printed nothing.
_PYTEST_CAPTURE_HEADER = re.compile(r"-+ Captured [\w ]+ -+")
# pytest's `line` attribute is its 0-based test location; its suite is named "pytest" by default.
_PYTEST_SUITE_NAME = "pytest"
# A test case's `status` that means it did not run (no <skipped/> needed).
_NOT_RUN = frozenset({"disabled", "skipped", "skip", "notrun", "not run", "notexecuted", "ignored"})
# The most tests a suite's declared counts may stand for.
_MAX_DECLARED = 100_000


def parse_junit(files: Sequence[tuple[str, bytes]]) -> ParsedResults:
    """Merge JUnit XML files, given as (name, content) pairs, in order into one result."""
    if not files:
        raise ResultsError("no JUnit XML files to read")
    tally = _Tally()
    for file, data in files:
        tally.read_tree(file, _parse(file, data))
    notes = tally.trim.notes(tally.seen) + tally.notes
    if tally.seen == 0:
        notes.append("the JUnit files hold no test cases")
    return ParsedResults(
        source=ResultsSource.JUNIT,
        passed=tally.failing == 0,
        score=float(tally.score),
        max_score=float(tally.max_score),
        tests=tuple(tally.tests),
        notes=tuple(notes),
    )


def _parse(file: str, data: bytes) -> Element:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except ParseError as error:
        line, column = error.position
        problem = _POSITION_SUFFIX.sub("", str(error))
        raise ResultsError(
            f"is not valid XML: {problem} (column {column + 1})", file=file, line=line
        ) from None
    except DefusedXmlException:
        raise ResultsError("uses a DTD or entities, which are not allowed", file=file) from None
    except (ValueError, RecursionError) as error:
        raise ResultsError(f"is not usable XML: {type(error).__name__}", file=file) from None
    tag = _local(root.tag)
    if tag not in _SUITE_TAGS:
        shown = clean_text(tag[:40]) or "no element"
        raise ResultsError(f"has <{shown}> at its root, not <testsuites> or <testsuite>", file=file)
    return root


@dataclass
class _Tally:
    """The test cases read so far, across files, and the totals over all of them."""

    trim: Trimmer = field(default_factory=Trimmer)
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seen: int = 0
    failing: int = 0
    score: float = 0.0
    max_score: float = 0.0
    bad_points: bool = False

    def read_tree(self, file: str, root: Element) -> None:
        # Walked with an explicit stack: nesting depth is the file author's choice.
        stack: list[tuple[Element, bool]] = [(root, False)]
        # [suite element, failures and errors seen inside it, test cases seen inside it]
        open_suites: list[list] = []
        while stack:
            element, leaving = stack.pop()
            if leaving:
                suite, failing, cases = open_suites.pop()
                if not cases and _count(suite, "tests"):
                    failing, cases = self.counts_only(file, suite)
                declared = _count(suite, "failures") + _count(suite, "errors")
                if declared > failing:
                    self.undeclared_failures(file, suite, declared - failing)
                    failing = declared  # so enclosing suites do not report the same shortfall
                if open_suites:
                    open_suites[-1][1] += failing
                    open_suites[-1][2] += cases
                continue
            tag = _local(element.tag)
            if tag == "testcase":
                suite_name = open_suites[-1][0].get("name") if open_suites else None
                problems = self.add(element, suite_name)
                if open_suites:
                    open_suites[-1][1] += problems
                    open_suites[-1][2] += 1
            elif tag in _SUITE_TAGS:
                open_suites.append([element, 0, 0])
                stack.append((element, True))
                stack.extend((child, False) for child in reversed(element))

    def add(self, case: Element, suite_name: str | None) -> int:
        """Count one test case and keep it if under the cap; returns its failures and errors.

        pytest counts a test that fails and then errors in teardown once in each suite total.
        """
        self.seen += 1
        tags = [_local(child.tag) for child in case]
        if "failure" in tags:
            status = TestStatus.FAILED
        elif "error" in tags:
            status = TestStatus.ERRORED
        elif "skipped" in tags or (case.get("status") or "").strip().lower() in _NOT_RUN:
            status = TestStatus.SKIPPED
        else:
            status = TestStatus.PASSED
        worth = self.worth(case)
        score = worth if status is TestStatus.PASSED else 0.0
        counted = status is not TestStatus.SKIPPED
        self.score += score if counted else 0.0
        self.max_score += worth if counted else 0.0
        failed = status in (TestStatus.FAILED, TestStatus.ERRORED)
        self.failing += failed
        if self.seen <= MAX_TESTS:
            self.tests.append(
                TestResult(
                    name=self.trim.test_name(_test_name(case, self.seen)),
                    status=status,
                    score=score if counted else None,
                    max_score=worth if counted else None,
                    output=self.trim.test_output(_test_output(case)),
                    file=_file(case),
                    line=_line(case, suite_name),
                )
            )
        return tags.count("failure") + tags.count("error")

    def worth(self, case: Element) -> float:
        """A test's points: its `max_score` property (pytest's `record_property("max_score",
        3)` writes it), else one."""
        for child in case:
            if _local(child.tag) != "properties":
                continue
            for prop in child:
                if _local(prop.tag) == "property" and prop.get("name") == "max_score":
                    value = (prop.get("value") or "")[:32]
                    try:
                        points = float(value)
                    except ValueError:
                        points = -1.0
                    if 0 <= points <= MAX_POINTS and points == points:  # not NaN
                        return points
                    if not self.bad_points:  # once: a file may hold thousands
                        self.notes.append(
                            f"a max_score of {clean_text(value)!r} is not a number of points "
                            f"from 0 to {MAX_POINTS:g}; such tests count 1"
                        )
                    self.bad_points = True
        return 1.0

    def counts_only(self, file: str, suite: Element) -> tuple[int, int]:
        """A suite that lists no test case but declares how many it ran: one line per kind of
        result, worth a point a test. Returns its failures and errors, and its test count."""
        total = min(_count(suite, "tests"), _MAX_DECLARED)
        failed = min(_count(suite, "failures"), total)
        errored = min(_count(suite, "errors"), total - failed)
        skipped = min(
            _count(suite, "skipped") + _count(suite, "disabled"), total - failed - errored
        )
        passed = total - failed - errored - skipped
        name = clean_text((suite.get("name") or "")[:200]) or f"<{_local(suite.tag)}>"
        for count, status, word in (
            (passed, TestStatus.PASSED, "passed"),
            (failed, TestStatus.FAILED, "failed"),
            (errored, TestStatus.ERRORED, "errored"),
            (skipped, TestStatus.SKIPPED, "skipped"),
        ):
            if not count:
                continue
            counted = status is not TestStatus.SKIPPED
            score = float(count) if status is TestStatus.PASSED else 0.0
            self.seen += 1
            self.score += score
            self.max_score += count if counted else 0
            self.failing += count if status in (TestStatus.FAILED, TestStatus.ERRORED) else 0
            if self.seen <= MAX_TESTS:
                self.tests.append(
                    TestResult(
                        name=self.trim.test_name(f"{name}: {count} {word}"),
                        status=status,
                        score=score if counted else None,
                        max_score=float(count) if counted else None,
                    )
                )
        self.notes.append(
            f"{file}: {name} lists no test cases, only counts ({total} tests); they are shown "
            "as one line per result"
        )
        return failed + errored, total

    def undeclared_failures(self, file: str, suite: Element, missing: int) -> None:
        self.failing += missing
        name = clean_text((suite.get("name") or "")[:200]) or f"<{_local(suite.tag)}>"
        self.notes.append(
            f"{file}: {name} reports {missing} more failures or errors than its test cases show"
        )


def _local(tag: object) -> str:
    """The tag without any {namespace}; comments and processing instructions have none."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _count(element: Element, attribute: str) -> int:
    value = element.get(attribute) or ""
    return int(value) if _COUNT.fullmatch(value) else 0


def _test_name(case: Element, position: int) -> str:
    name = case.get("name") or ""
    classname = case.get("classname") or ""
    # jest-junit repeats the describe blocks in both; gotestsum and pytest do not.
    if not classname or classname in name:
        return name or f"(unnamed test {position})"
    return f"{classname}.{name}" if name else classname


def _test_output(case: Element) -> str:
    pieces: list[str] = []
    for child in case:
        tag = _local(child.tag)
        if tag in ("failure", "error", "skipped"):
            message = _trimmed(child.get("message") or "")
            body = _text_of(child)
            if message and body and message not in body:
                pieces.append(f"{message}\n{body}")
            elif body or message:
                pieces.append(body or message)
        elif tag in ("system-out", "system-err"):
            captured = _text_of(child)
            first_line, _, rest = captured.partition("\n")
            if _PYTEST_CAPTURE_HEADER.fullmatch(first_line.strip()):
                captured = rest.strip("\r\n").rstrip()
            if captured:
                pieces.append(f"[{'stdout' if tag == 'system-out' else 'stderr'}]\n{captured}")
    return "\n\n".join(pieces)


def _text_of(element: Element) -> str:
    return _trimmed(element.text or "")


def _trimmed(text: str) -> str:
    # Bounded before any joining: a single element or attribute may hold megabytes.
    return text[: MAX_TEST_OUTPUT_BYTES + 1].strip("\r\n").rstrip()


def _file(case: Element) -> str | None:
    file = case.get("file")
    return clean_text(file) if file and len(file) <= MAX_NAME_CHARS else None


def _line(case: Element, suite_name: str | None) -> int | None:
    value = case.get("line") or ""
    if not _COUNT.fullmatch(value):
        return None
    line = int(value) + (suite_name == _PYTEST_SUITE_NAME)
    return line if line >= 1 else None
