"""Read TAP (versions 12, 13 and 14) from a grader's stdout, line by line as it streams.

Each top-level `ok`/`not ok` line is a test worth one point. Rules where TAP leaves room:

- `# SKIP` and `# TODO` tests are skipped: no points either way, and not failures. A TODO test
  keeps "TODO (ok)" or "TODO (not ok)" and its reason as output, so the teacher still sees it.
- A YAML diagnostic block (indented `---` … `...`) right after a test becomes that test's output,
  as text; it is never parsed.
- Indented lines (subtests) are ignored; the subtest's summary line at the top level counts.
- The run passes when no test is `not ok`, nothing bailed out, and the tests seen match the plan
  (`1..N`, first or last). Missing tests count against `max_score`. With no plan the count cannot
  be checked, which is noted.
- A stream with no plan, no test line and no `Bail out!` is not TAP: `finish()` returns None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.outcome import ResultsSource, TestResult, TestStatus
from runner.results.common import (
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    Trimmer,
    clean_text,
)

_TEST_LINE = re.compile(r"(not )?ok(?:\s+(\d{1,18}))?(?=\s|$)(.*)", re.DOTALL)
# A description ends at the first "#" after whitespace (an escaped "\\#" is not one); what follows
# is a SKIP or TODO directive, or else a comment such as node-tap's "# time=12ms".
_COMMENT = re.compile(r"(?:^|\s)#")
_DIRECTIVE = re.compile(r"\s*(skip|todo)\S*\s*(.*)", re.IGNORECASE | re.DOTALL)
_PLAN = re.compile(r"1\.\.(\d{1,18})\s*(?:#\s*(.*))?", re.DOTALL)
_BAIL_OUT = re.compile(r"bail out!\s*(.*)", re.IGNORECASE | re.DOTALL)
_MAX_REASON_CHARS = 500


@dataclass
class _Point:
    """The latest test line, still open for a YAML block."""

    name: str
    status: TestStatus
    score: float | None
    number: int
    output: str
    output_cut: bool = False


class TapParser:
    """Feed stdout lines as they arrive, then `finish()` for the results (None if not TAP)."""

    def __init__(self) -> None:
        self._trim = Trimmer()
        self._tests: list[TestResult] = []
        self._notes: list[str] = []
        self._is_tap = False
        self._plan: int | None = None
        self._count = 0
        self._last_number = 0
        self._failed = 0
        self._score = 0
        self._counted = 0
        self._bailed: str | None = None
        self._point: _Point | None = None
        self._after_point = False
        self._yaml: list[str] | None = None
        self._yaml_indent = 0
        self._yaml_chars = 0
        self._first_line = True
        self._out_of_order_noted = False

    def feed(self, line: str) -> None:
        """One line of stdout; embedded newlines are split, line endings are ignored."""
        parts = line.split("\n")
        if len(parts) > 1 and not parts[-1]:
            parts.pop()  # "text\n" is one line
        for part in parts:
            self._line(part.rstrip("\r"))

    def finish(self) -> ParsedResults | None:
        self._close_point()
        if not self._is_tap:
            return None
        notes = list(self._notes)
        passed = self._failed == 0 and self._bailed is None
        missing = 0
        if self._bailed is not None:
            notes.append(
                f"the tests bailed out: {self._bailed}" if self._bailed else "the tests bailed out"
            )
        if self._plan is None:
            notes.append(
                "the TAP output has no plan line (1..N), so missing tests cannot be detected"
            )
        elif self._plan != self._count:
            passed = False
            missing = max(0, self._plan - self._count)
            notes.append(f"TAP plan said {self._plan} tests, {self._count} ran")
        notes.extend(self._trim.notes(self._count))
        return ParsedResults(
            source=ResultsSource.TAP,
            passed=passed,
            score=float(self._score),
            max_score=float(self._counted + missing),
            tests=tuple(self._tests),
            notes=tuple(notes),
        )

    def _line(self, line: str) -> None:
        if self._first_line and line:
            line = line.removeprefix("\ufeff")
            self._first_line = False
        if self._bailed is not None:
            return
        if self._yaml is not None:
            if not line.strip() or line[:1] in " \t":
                self._yaml_line(line)
                return
            self._close_yaml()  # an unterminated block ends at the next top-level line
        if not line.strip():
            return
        after_point, self._after_point = self._after_point, False
        if line[:1] in " \t":
            stripped = line.strip()
            if after_point and stripped == "---":
                self._yaml, self._yaml_indent, self._yaml_chars = [], line.index("-"), 0
            elif _BAIL_OUT.match(stripped):  # a subtest's bail out stops everything too
                self._bail(stripped)
            return
        if match := _TEST_LINE.match(line):
            self._test_point(not_ok=bool(match[1]), number=match[2], rest=match[3])
            self._after_point = True
        elif match := _PLAN.fullmatch(line):
            self._set_plan(int(match[1]), match[2] or "")
        elif _BAIL_OUT.match(line):
            self._bail(line)

    def _test_point(self, *, not_ok: bool, number: str | None, rest: str) -> None:
        self._close_point()
        self._is_tap = True
        self._count += 1
        if number is None:
            position = self._last_number + 1
        else:
            position = int(number)
            if position != self._last_number + 1 and not self._out_of_order_noted:
                self._notes.append(f"TAP test {position} came after test {self._last_number}")
                self._out_of_order_noted = True
        self._last_number = position

        comment = _COMMENT.search(rest)
        directive = _DIRECTIVE.match(rest, comment.end()) if comment else None
        description = (rest[: comment.start()] if comment else rest).strip()
        if description == "-" or description.startswith("- "):
            description = description[1:].strip()
        description = description.replace("\\#", "#").replace("\\\\", "\\")
        name = description or f"test {position}"
        output = ""
        reason = directive[2].strip() if directive else ""
        if directive and directive[1].lower() == "todo":
            status = TestStatus.SKIPPED
            output = f"TODO ({'not ok' if not_ok else 'ok'})" + (f": {reason}" if reason else "")
        elif directive:
            status = TestStatus.SKIPPED
            output = reason
        elif not_ok:
            status = TestStatus.FAILED
            self._failed += 1
        else:
            status = TestStatus.PASSED
            self._score += 1
        if status is not TestStatus.SKIPPED:
            self._counted += 1
        if self._count <= MAX_TESTS:
            score = None if status is TestStatus.SKIPPED else float(status is TestStatus.PASSED)
            self._point = _Point(name, status, score, position, output)

    def _close_point(self) -> None:
        self._close_yaml()
        point, self._point = self._point, None
        if point is None:
            return
        counted = point.status is not TestStatus.SKIPPED
        self._tests.append(
            TestResult(
                name=self._trim.test_name(point.name),
                status=point.status,
                score=point.score,
                max_score=1.0 if counted else None,
                output=self._trim.test_output(point.output, cut=point.output_cut),
                number=str(point.number),
            )
        )

    def _yaml_line(self, line: str) -> None:
        assert self._yaml is not None
        if line.strip() == "...":
            self._close_yaml()
            return
        if self._point is None:
            return
        if self._yaml_chars > MAX_TEST_OUTPUT_BYTES:  # bounded while streaming
            self._point.output_cut = True
            return
        indent = min(len(line) - len(line.lstrip(" \t")), self._yaml_indent)
        self._yaml.append(line[indent:])
        self._yaml_chars += len(line) + 1

    def _close_yaml(self) -> None:
        block, self._yaml = self._yaml, None
        text = "\n".join(block or ()).strip("\n")
        if text and self._point is not None:
            self._point.output = f"{self._point.output}\n{text}" if self._point.output else text

    def _set_plan(self, count: int, comment: str) -> None:
        self._is_tap = True
        if self._plan is not None:
            note = "the TAP output has more than one plan line; the first one counts"
            if note not in self._notes:
                self._notes.append(note)
            return
        self._plan = count
        if count == 0 and comment:
            self._notes.append(f"the TAP plan skipped every test: {_short(comment)}")

    def _bail(self, line: str) -> None:
        self._close_point()
        self._is_tap = True
        match = _BAIL_OUT.match(line)
        self._bailed = _short(match[1]) if match else ""


def _short(text: str) -> str:
    """A reason from the stream, fit for a note."""
    text = clean_text(text[: _MAX_REASON_CHARS + 1].strip())
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"


def parse_tap(text: str) -> ParsedResults | None:
    """Parse a whole stdout at once; the same as feeding it line by line."""
    parser = TapParser()
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    for line in lines:
        parser.feed(line)
    return parser.finish()
