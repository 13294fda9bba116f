"""Read TAP (versions 12, 13 and 14) from a grader's stdout, line by line as it streams.

The verdict is the one tap-parser, the TAP maintainers' own parser, gives the same stream; where
pushgrade differs on purpose it says so below. Each top-level `ok`/`not ok` line is a test worth
one point.

- The run passes when no test is `not ok` (TODO and SKIP tests aside), nothing bailed out, and
  the stream is consistent: it has a plan (`M..N`, first or last), as many tests as the plan
  says, no test id outside the plan or seen twice, no failed subtest, and, after
  `pragma +strict`, no line that is not TAP. Each break of these is a note naming its line;
  missing tests count against `max_score`.
- `# SKIP` and `# TODO` tests are skipped: no points either way, and not failures. A TODO test
  keeps "TODO (ok)" or "TODO (not ok)" and its reason as output. `\\#` in a description is a
  hash, `\\\\` a backslash (so `\\\\# TODO` is a backslash and then a directive).
- Subtests, indented four spaces (TAP14, with or without `# Subtest:`) or buffered in `{ … }`
  after their test line, are read as streams of their own: a failing subtest fails the run and
  the test it belongs to (shown failed, where tap-parser still counts its summary line as a pass).
- A plan after the tests ends the stream: test lines after it are not read (noted).
- `Bail out!` at any depth ends the stream; `finish()` then carries the reason (`bailed_out`).
- A YAML diagnostic block (indented `---` … `...`) right after a test becomes that test's output,
  as text; it is never parsed.
- Deliberate differences from tap-parser: a stream with no plan, no test line and no `Bail out!`
  is not TAP (`finish()` returns None, and the exit code decides) where tap-parser passes it as
  an empty run; a plan line with trailing spaces is read as a plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from runner.outcome import ResultsSource, TestResult, TestStatus
from runner.results.common import (
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    Trimmer,
    clean_text,
)

_TEST_LINE = re.compile(r"(not )?ok(?: ([0-9]{1,18}))?(?:(?: -)?( .*?))?(\{?)", re.DOTALL)
_PLAN = re.compile(r"([0-9]{1,18})\.\.([0-9]{1,18})(?:\s+(?:#\s*(.*?)))?\s*", re.DOTALL)
_PRAGMA = re.compile(r"pragma ([+-])([a-zA-Z0-9_-]+)")
_VERSION = re.compile(r"TAP version ([0-9]+)", re.IGNORECASE)
_BAIL_OUT = re.compile(r"bail out!(.*)", re.IGNORECASE | re.DOTALL)
_SUBTEST = re.compile(r"# Subtest(?:: (.*))?", re.DOTALL)
_SUBTEST_INDENTED = re.compile(r"    # Subtest(?:: (.*))?", re.DOTALL)
_COMMENT = re.compile(r"\s*#.*", re.DOTALL)
_INDENTED_TAP = re.compile(r"(?:    )+([^ ].*)", re.DOTALL)
# A description ends at the first "#" at its start or after whitespace that no backslash escapes.
_HASH = re.compile(r"(?:(?<=\s)|^)(?<!\\)#")
_DIRECTIVE = re.compile(r"(todo|skip)\S*\b(.*)", re.IGNORECASE | re.DOTALL)
_TIME = re.compile(r"time=(?:[1-9][0-9]*|0)(?:\.[0-9]+)?(?:ms|s)", re.IGNORECASE)
_OPEN_BRACE = re.compile(r"\{\s*$")
_MAX_REASON_CHARS = 500
_MAX_PROBLEMS = 5
_MAX_DEPTH = 32  # subtests nested deeper than this are not read (each level costs a call)


def _unescape(text: str) -> str:
    return text.replace("\\\\", "\x00").replace("\\#", "#").replace("\x00", "\\").strip()


@dataclass
class _Point:
    """A test line, open until the next line shows whether a YAML block or subtest follows."""

    ok: bool
    number: int | None
    name: str
    line: int
    directive: str = ""  # "todo" or "skip"
    reason: str = ""
    buffered: bool = False
    has_diag: bool = False
    output: str = ""
    output_cut: bool = False
    subtest_failed: str = ""

    @classmethod
    def read(cls, match: re.Match[str], line: int) -> _Point:
        rest = (match[3] or "").replace("\\\\", "\n")
        head, *tail = _HASH.split(rest)
        name = head.replace("\\#", "#").replace("\n", "\\")
        after = "#".join(tail).replace("\\#", "#").replace("\n", "\\")
        point = cls(ok=not match[1], number=int(match[2]) if match[2] else None, name="", line=line)
        point.buffered = match[4] == "{"
        text = _OPEN_BRACE.sub("", after.strip()).strip()
        directive = None if _TIME.fullmatch(text) else _DIRECTIVE.fullmatch(text) if text else None
        if directive:
            point.directive, point.reason = directive[1].lower(), directive[2].strip()
        elif not _TIME.fullmatch(text):
            name += ("#" + after if tail else "") + match[4]
            point.buffered = False
        if _OPEN_BRACE.search(name):
            name = _OPEN_BRACE.sub("", name)
            point.buffered = True
        name = name.strip()
        point.name = "" if name == "-" else name  # "ok 2 -": a dash with nothing after it
        return point

    @property
    def status(self) -> TestStatus:
        if self.directive:
            return TestStatus.SKIPPED
        return TestStatus.PASSED if self.ok and not self.subtest_failed else TestStatus.FAILED


@dataclass
class _Level:
    """One stream of TAP: the top level, or a subtest (whose lines arrive without their indent)."""

    parent: _Level | None = None
    depth: int = 0
    name: str = ""
    buffered: bool = False
    owner: _Point | None = None  # the buffered test line this subtest belongs to
    closing: _Point | None = None  # the test line that closed this streamed subtest
    strict: bool = False
    on_point: Callable[[_Point], None] | None = None
    on_tap: Callable[[], None] | None = None
    on_bail: Callable[[str], None] | None = None
    ok: bool = True
    problems: list[str] = field(default_factory=list)  # what fails the stream
    notes: list[str] = field(default_factory=list)  # what the teacher may want to know besides
    plan: tuple[int, int] | None = None
    post_plan: int = 0  # the line of a plan that came after the tests
    ignored_after_plan: str = ""
    count: int = 0
    seen: dict[int, int] = field(default_factory=dict)
    current: _Point | None = None
    child: _Level | None = None
    maybe_child: str | None = None
    yaml_indent: str | None = None
    yaml: list[str] = field(default_factory=list)
    yaml_chars: int = 0
    bailed: bool = False

    # -- one line ---------------------------------------------------------------------------

    def parse(self, line: str, n: int) -> None:
        if self.bailed:
            return
        if self.parent is not None and _VERSION.fullmatch(line) and self.yaml_indent is None:
            return
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if indent and line.strip():
            self._indented(line, indent, n)
            return
        if not line.strip():
            if self.child is not None:
                self.child.parse("", n)
            elif self.yaml_indent is not None:
                self._yaml_line(self.yaml_indent)
            return
        if self.child is not None and self.child.buffered and line == "}":
            self._end_child()
            self._emit()
            return
        point = self.current
        if point and line == "{" and point.has_diag and not point.buffered and not self.child:
            point.buffered = True
            return
        if _COMMENT.fullmatch(line) and not _SUBTEST.fullmatch(line):
            return
        kind, match = _line_type(line)
        if kind is None:
            self._non_tap(line, n)
            return
        if self.yaml_indent is not None:
            self._close_yaml()
        if self.maybe_child is not None:
            self.maybe_child = None
        if self.post_plan:
            if kind == "test" and not self.ignored_after_plan:
                self.ignored_after_plan = f"line {n}: {_short(line, 80)}"
            self._non_tap(line, n)
            return
        if kind == "bail":
            self.bail(_unescape(match[1]), n)
        elif kind == "pragma":
            self._pragma(match, line, n)
        elif kind == "version":
            if int(match[1]) < 13 or self.plan is not None or self.count or self.current:
                self._non_tap(line, n)
        elif kind == "plan":
            self._plan(int(match[1]), int(match[2]), match[3] or "", line, n)
        elif kind == "test":
            self._test_point(_Point.read(match, n), n)
        elif kind == "subtest":
            self.maybe_child = match[1] or ""

    def _indented(self, line: str, indent: str, n: int) -> None:
        if self.child is not None and line.startswith("    "):
            self.child.parse(line[4:], n)
            return
        if self.yaml_indent is not None:
            if line.startswith(self.yaml_indent):
                self._yaml_line(line)
                return
            self._close_yaml()
        if self.current and line == indent + "---":
            self.yaml_indent, self.yaml, self.yaml_chars = indent, [], 0
            return
        if line.startswith("    "):
            buffered = self.current is not None and self.current.buffered
            if self.maybe_child is not None or buffered or _SUBTEST_INDENTED.fullmatch(line):
                self._start_child(line, n)
                return
            if (match := _INDENTED_TAP.fullmatch(line)) and _line_type(match[1])[0]:
                if not _COMMENT.fullmatch(match[1]) or _SUBTEST.fullmatch(match[1]):
                    self._start_child(line, n)
                return
        if _COMMENT.fullmatch(line):
            return
        self._non_tap(line, n)

    # -- test lines, plans, pragmas ---------------------------------------------------------

    def _test_point(self, point: _Point, n: int) -> None:
        if self.child is None:
            self._emit()
        if self.bailed:
            return
        self._tap()
        if point.number is not None and self.plan is not None:
            self._check_range(point.number, n)
        if point.number is not None:
            if point.number in self.seen:
                self._problem(
                    f"test {point.number} (line {n}) repeats the id of line "
                    f"{self.seen[point.number]}"
                )
            else:
                self.seen[point.number] = n
        if self.child is not None:
            if self.child.closing is None:
                self.child.closing = point
            self._emit()
            if self.bailed:
                return
        if not point.directive:
            self.ok = self.ok and point.ok
        self.current = point

    def _check_range(self, number: int, n: int) -> None:
        assert self.plan is not None
        start, end = self.plan
        if number < start or number > end:
            self._problem(f"test {number} (line {n}) is outside the plan {start}..{end}")

    def _plan(self, start: int, end: int, comment: str, line: str, n: int) -> None:
        self._tap()
        if self.plan is not None or self.child is not None:
            if self.plan is not None:
                self._problem(f"a second plan at line {n} is not read", fails=False)
            self._non_tap(line, n)
            return
        self._emit()
        if self.bailed:
            return
        if end < start and end != 0 and start != 1:
            if self.strict:
                self._problem(f"the plan {start}..{end} (line {n}) ends before it starts")
            else:
                self._non_tap(line, n)
            return
        self.plan = (start, end)
        if end == 0 and comment:
            self._problem(
                f"the TAP plan skipped every test: {_short(_unescape(comment))}", fails=False
            )
        if self.count or end == 0:
            for number, where in self.seen.items():
                if number < start or number > end:
                    self._problem(
                        f"test {number} (line {where}) is outside the plan {start}..{end}"
                    )
            self.post_plan = n

    def _pragma(self, match: re.Match[str], line: str, n: int) -> None:
        if self.child is not None:
            self._non_tap(line, n)
            return
        self._emit()
        if match[2] == "strict":
            self.strict = match[1] == "+"

    def _non_tap(self, line: str, n: int) -> None:
        if self.strict:
            problem = f"line {n} is not TAP, under pragma +strict: {_short(line, 80)}"
            self._problem(problem)
            if self.parent is not None:
                self.parent._problem(problem)

    def _problem(self, text: str, *, fails: bool = True) -> None:
        kept = self.problems if fails else self.notes
        if fails:
            self.ok = False
        if len(kept) < _MAX_PROBLEMS and text not in kept:
            kept.append(text)

    def _tap(self) -> None:
        if self.on_tap is not None:
            self.on_tap()
        elif self.parent is not None:
            self.parent._tap()

    # -- subtests ---------------------------------------------------------------------------

    def _start_child(self, line: str, n: int) -> None:
        if self.depth >= _MAX_DEPTH:
            self._non_tap(line, n)
            return
        buffered = self.current is not None and self.current.buffered
        indent_stream = (
            not buffered and self.maybe_child is None and _SUBTEST_INDENTED.fullmatch(line)
        )
        if not buffered:
            self._emit()
        if self.bailed:
            return
        line = line[4:]
        if indent_stream:
            name, line = (indent_stream[1] or "").strip(), ""
        elif buffered and self.current is not None:
            name = self.current.name
        else:
            name = (self.maybe_child or "").strip()
        self.maybe_child = None
        self.child = _Level(
            parent=self,
            depth=self.depth + 1,
            name=name,
            buffered=buffered,
            owner=self.current if buffered else None,
            strict=self.strict,
        )
        if line:
            self.child.parse(line, n)

    def _end_child(self) -> None:
        child, self.child = self.child, None
        if child is None:
            return
        child.finish()
        if child.ok:
            return
        self.ok = False
        why = "; ".join(child.problems) or "it failed"
        label = f"subtest {child.name!r}" if child.name else "a subtest"
        point = child.owner or child.closing
        if point is not None and not point.directive:
            point.subtest_failed = f"{label} failed: {why}"
        else:
            self._problem(f"{label} failed: {why}")

    # -- ends -------------------------------------------------------------------------------

    def _emit(self) -> None:
        if self.bailed:
            return
        self._end_child()
        self._close_yaml()
        point, self.current = self.current, None
        if point is None:
            return
        self.count += 1
        if self.parent is not None and point.status is TestStatus.FAILED:
            self._problem(
                _short(f"not ok {point.number or ''} {point.name}".replace("  ", " "), 120)
                + f" (line {point.line})"
            )
        if self.on_point is not None:
            self.on_point(point)

    def bail(self, reason: str, n: int, *, from_child: bool = False) -> None:
        if self.bailed:
            return
        self._tap()
        if from_child:
            self.current = None
        else:
            self._emit()
        self.bailed, self.ok = True, False
        if self.parent is not None:
            self.finish()
            self.parent.bail(reason, n, from_child=True)
        elif self.on_bail is not None:
            self.on_bail(reason)

    def finish(self) -> None:
        """The end of the stream: settle the plan."""
        if self.yaml_indent is not None:
            self._close_yaml()
        self._emit()
        if self.bailed:
            return
        if self.plan == (1, 0):
            if self.count:
                self._problem(f"the plan 1..0 skips every test, yet {self.count} ran")
            else:
                self.ok = True
        elif self.plan is None:
            if self.count:
                self._problem(
                    "the TAP output has no plan line (1..N): the tests may have stopped early"
                )
        else:
            start, end = self.plan
            if self.count != end - start + 1:
                self._problem(f"TAP plan said {end - start + 1} tests, {self.count} ran")
        if self.ignored_after_plan:
            self._problem(
                f"the plan at line {self.post_plan} ended the stream; later test lines are not "
                f"read ({self.ignored_after_plan})",
                fails=False,
            )

    # -- YAML blocks ------------------------------------------------------------------------

    def _yaml_line(self, line: str) -> None:
        if line.strip() == "..." and line == f"{self.yaml_indent}...":
            if self.current is not None:
                self.current.has_diag = True
            self._close_yaml()
            return
        if self.current is None:
            return
        if self.yaml_chars > MAX_TEST_OUTPUT_BYTES:  # bounded while streaming
            self.current.output_cut = True
            return
        self.yaml.append(line[len(self.yaml_indent or "") :])
        self.yaml_chars += len(line) + 1

    def _close_yaml(self) -> None:
        if self.yaml_indent is None:
            return
        text = "\n".join(self.yaml).strip("\n")
        self.yaml_indent, self.yaml = None, []
        point = self.current
        if text and point is not None:
            point.output = f"{point.output}\n{text}" if point.output else text


def _line_type(line: str) -> tuple[str | None, re.Match[str] | None]:
    for kind, pattern in (
        ("test", _TEST_LINE),
        ("pragma", _PRAGMA),
        ("bail", _BAIL_OUT),
        ("version", _VERSION),
        ("plan", _PLAN),
        ("subtest", _SUBTEST),
    ):
        if match := pattern.fullmatch(line):
            return kind, match
    if _COMMENT.fullmatch(line):
        return "comment", None
    return None, None


class TapParser:
    """Feed stdout lines as they arrive, then `finish()` for the results (None if not TAP)."""

    def __init__(self) -> None:
        self._trim = Trimmer()
        self._tests: list[TestResult] = []
        self._is_tap = False
        self._bailed: str | None = None
        self._line_number = 0
        self._last_number = 0
        self._score = 0
        self._counted = 0
        self._root = _Level(on_point=self._point, on_tap=self._tap, on_bail=self._bail)

    def feed(self, line: str) -> None:
        """One line of stdout; embedded newlines are split, line endings are ignored."""
        parts = line.split("\n")
        if len(parts) > 1 and not parts[-1]:
            parts.pop()  # "text\n" is one line
        for part in parts:
            self._line_number += 1
            if self._line_number == 1:
                part = part.removeprefix("\ufeff")
            self._root.parse(part.rstrip("\r"), self._line_number)

    def finish(self) -> ParsedResults | None:
        root = self._root
        root.finish()
        if not self._is_tap:
            return None
        notes = [*root.problems, *root.notes]
        missing = 0
        if root.plan is not None and not self._bailed:
            missing = max(0, root.plan[1] - root.plan[0] + 1 - root.count)
        notes.extend(self._trim.notes(root.count))
        return ParsedResults(
            source=ResultsSource.TAP,
            passed=root.ok and self._bailed is None,
            score=float(self._score),
            max_score=float(self._counted + missing),
            tests=tuple(self._tests),
            notes=tuple(notes),
            bailed_out=self._bailed,
        )

    def _tap(self) -> None:
        self._is_tap = True

    def _bail(self, reason: str) -> None:
        self._bailed = _short(reason)

    def _point(self, point: _Point) -> None:
        number = point.number if point.number is not None else self._last_number + 1
        self._last_number = number
        status = point.status
        if status is not TestStatus.SKIPPED:
            self._counted += 1
            self._score += status is TestStatus.PASSED
        if len(self._tests) >= MAX_TESTS:
            return
        output = point.output
        if point.directive == "todo":
            todo = f"TODO ({'ok' if point.ok else 'not ok'})"
            output = "\n".join(
                filter(None, [f"{todo}: {point.reason}" if point.reason else todo, output])
            )
        elif point.directive:
            output = "\n".join(filter(None, [point.reason, output]))
        if point.subtest_failed:
            output = "\n".join(filter(None, [point.subtest_failed, output]))
        self._tests.append(
            TestResult(
                name=self._trim.test_name(point.name or f"test {number}"),
                status=status,
                score=None if status is TestStatus.SKIPPED else float(status is TestStatus.PASSED),
                max_score=None if status is TestStatus.SKIPPED else 1.0,
                output=self._trim.test_output(output, cut=point.output_cut),
                number=str(number),
            )
        )


def _short(text: str, limit: int = _MAX_REASON_CHARS) -> str:
    """A reason from the stream, fit for a note."""
    text = clean_text(text[: limit + 1].strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_tap(text: str) -> ParsedResults | None:
    """Parse a whole stdout at once; the same as feeding it line by line."""
    parser = TapParser()
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    for line in lines:
        parser.feed(line)
    return parser.finish()
