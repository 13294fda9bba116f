"""Read Gradescope's results.json, the contract that Gradescope autograder images already follow.

Faithful to Gradescope's "Autograder Specifications", with these rules where it is silent:

- A top-level `score` overrides the sum of the tests' scores. `max_score` is not in the spec at the
  top level, but graders write it: when present it wins, else the tests' max_score are summed.
- A test's `visibility` defaults to the top-level `visibility` (the spec lets tests override the
  assignment's setting), which defaults to visible; `stdout_visibility` defaults to hidden.
- A test without `status` fails only when it has a `max_score` and its score (absent counts as 0)
  is below it: Gradescope marks tests awarded less than max_score as failing, and tests with no
  points as informational checks.
- Numbers may be JSON numbers or numeric strings ("5", "2.5"). NaN, infinities, booleans,
  magnitudes beyond 10^12 and negative max_score are errors; negative scores (penalties) are not.
- An unknown output format is shown as text, with a note; an unknown visibility is an error,
  because guessing could show a hidden test.
- `leaderboard` entries (`name`, a number or text `value`, `order` asc or desc, default desc) are
  kept, at most 20, names and text values cut to 100 characters. An entry that is not one is
  left out with a note: a leaderboard never decides a grade, so it never fails a run.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from runner.outcome import LeaderboardEntry, ResultsSource, TestResult, TestStatus, Visibility
from runner.results.common import (
    MAX_TESTS,
    ParsedResults,
    ResultsError,
    Trimmer,
    at_least,
    clean_text,
)

MAX_POINTS = 1e12
MAX_LEADERBOARD = 20
MAX_LEADERBOARD_CHARS = 100
OUTPUT_FORMATS = ("text", "html", "simple_format", "md", "ansi")
_VISIBILITY_NAMES = ", ".join(v.value for v in Visibility)
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")

Path = tuple[str | int, ...]


def parse_gradescope(data: bytes, *, file: str = "results.json") -> ParsedResults:
    """Parse a results.json; raises ResultsError, naming file, line and field, if it is unusable."""
    text = data if isinstance(data, str) else _decode(bytes(data), file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"is not valid JSON: {error.msg} (column {error.colno})", file=file, line=error.lineno
        ) from None
    except RecursionError:
        raise ResultsError("is not usable JSON: it is nested too deeply", file=file) from None
    except ValueError:  # how json refuses an integer of thousands of digits
        raise ResultsError(
            "is not usable JSON: it holds a number with too many digits", file=file
        ) from None
    return _ResultsFile(text, file).read(document)


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ResultsError(
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})",
            file=file,
            line=data.count(b"\n", 0, error.start) + 1,
        ) from None


class _ResultsFile:
    """One results.json being validated; knows its text so errors can name the line."""

    def __init__(self, text: str, file: str):
        self.source = text
        self.file = file
        self.trim = Trimmer()
        self.unknown_formats: set[str] = set()

    def fail(self, path: Path, problem: str) -> NoReturn:
        raise ResultsError(
            f"{_path_text(path)} {problem}", file=self.file, line=_line_of(self.source, path)
        )

    def read(self, document: Any) -> ParsedResults:
        if not isinstance(document, dict):
            raise ResultsError(f"holds {_describe(document)}, not a JSON object", file=self.file)
        score = self.number(document, "score", ())
        max_score = self.number(document, "max_score", (), non_negative=True)
        visibility = self.visibility(document, "visibility", (), Visibility.VISIBLE)
        stdout_visibility = self.visibility(document, "stdout_visibility", (), Visibility.HIDDEN)
        test_format = self.output_format(document, "test_output_format", (), "text")
        output = self.trim.top_output(self.text(document, "output", ()) or "")
        raw_tests = document.get("tests")
        if raw_tests is None:
            if score is None:
                raise ResultsError(
                    'has neither a top-level "score" nor "tests"; Gradescope needs one of them',
                    file=self.file,
                )
            raw_tests = []
        elif not isinstance(raw_tests, list):
            self.fail(("tests",), f"is {_describe(raw_tests)}, not a list")

        tests: list[TestResult] = []
        scores: list[float] = []
        max_scores: list[float] = []
        any_failed = False
        for index, raw in enumerate(raw_tests):
            path: Path = ("tests", index)
            if not isinstance(raw, dict):
                self.fail(path, f"is {_describe(raw)}, not an object")
            status, test_score, test_max = self.points(raw, path)
            any_failed = any_failed or status is TestStatus.FAILED
            if test_score is not None:
                scores.append(test_score)
            if test_max is not None:
                max_scores.append(test_max)
            if index < MAX_TESTS:
                tests.append(
                    self.test(raw, path, status, test_score, test_max, visibility, test_format)
                )

        if score is None and scores:
            score = math.fsum(scores)
        if max_score is None and max_scores:
            max_score = math.fsum(max_scores)
        passed = not any_failed and (
            score is None or max_score is None or at_least(score, max_score)
        )
        notes = self.trim.notes(len(raw_tests))
        leaderboard = self.leaderboard(document.get("leaderboard"), notes)
        if self.unknown_formats:
            known = ", ".join(OUTPUT_FORMATS)
            shown = ", ".join(sorted(self.unknown_formats))
            notes.append(f"output formats {shown} are not Gradescope's ({known}); shown as text")
        return ParsedResults(
            source=ResultsSource.RESULTS_JSON,
            passed=passed,
            score=score,
            max_score=max_score,
            tests=tuple(tests),
            output=output,
            output_visibility=visibility,
            stdout_visibility=stdout_visibility,
            notes=tuple(notes),
            leaderboard=leaderboard,
        )

    def leaderboard(self, raw: Any, notes: list[str]) -> tuple[LeaderboardEntry, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            notes.append(f"leaderboard is {_describe(raw)}, not a list; it is left out")
            return ()
        entries: list[LeaderboardEntry] = []
        bad: list[str] = []
        for index, item in enumerate(raw):
            entry = _leaderboard_entry(item)
            if entry is None:
                bad.append(str(index))
            elif len(entries) < MAX_LEADERBOARD:
                entries.append(entry)
        if bad:
            shown = ", ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
            notes.append(
                f"leaderboard entries {shown} are not a name with a number or text value and an "
                "order of asc or desc; they are left out"
            )
        if len(raw) - len(bad) > MAX_LEADERBOARD:
            notes.append(f"the leaderboard keeps its first {MAX_LEADERBOARD} entries")
        return tuple(entries)

    def points(self, raw: dict, path: Path) -> tuple[TestStatus, float | None, float | None]:
        score = self.number(raw, "score", path)
        max_score = self.number(raw, "max_score", path, non_negative=True)
        status = raw.get("status")
        if status is None:
            passed = max_score is None or at_least(score or 0.0, max_score)
            return (TestStatus.PASSED if passed else TestStatus.FAILED), score, max_score
        if isinstance(status, str) and status.strip().lower() in ("passed", "failed"):
            return TestStatus(status.strip().lower()), score, max_score
        self.fail((*path, "status"), f'is {_describe(status)}, not "passed" or "failed"')

    def test(
        self,
        raw: dict,
        path: Path,
        status: TestStatus,
        score: float | None,
        max_score: float | None,
        visibility: Visibility,
        output_format: str,
    ) -> TestResult:
        number = self.text(raw, "number", path)
        name = self.text(raw, "name", path)
        if not name or not name.strip():
            # The spec numbers unnamed, unnumbered tests in the order of the array.
            name = f"Test {number}" if number else f"Test {int(path[-1]) + 1}"
        return TestResult(
            name=self.trim.test_name(name),
            status=status,
            score=score,
            max_score=max_score,
            output=self.trim.test_output(self.text(raw, "output", path) or ""),
            output_format=self.output_format(raw, "output_format", path, output_format),
            visibility=self.visibility(raw, "visibility", path, visibility),
            number=self.trim.test_name(number) if number else None,
        )

    def number(
        self, mapping: dict, key: str, path: Path, *, non_negative: bool = False
    ) -> float | None:
        value = mapping.get(key)
        if value is None:
            return None
        where = (*path, key)
        if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
            number = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                self.fail(where, f"is {_describe(value)}, beyond any plausible score (10^12)")
        else:
            self.fail(where, f"is {_describe(value)}, not a number")
        if not math.isfinite(number):
            self.fail(where, f"is {_describe(value)}, not a finite number")
        if abs(number) > MAX_POINTS:
            self.fail(where, f"is {_describe(value)}, beyond any plausible score (10^12)")
        if non_negative and number < 0:
            self.fail(where, f"is {_describe(value)}, which is negative")
        return number

    def text(self, mapping: dict, key: str, path: Path) -> str | None:
        value = mapping.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return str(value)  # "number": 1.1 is common in the wild
        self.fail((*path, key), f"is {_describe(value)}, not text")

    def visibility(self, mapping: dict, key: str, path: Path, default: Visibility) -> Visibility:
        value = mapping.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            try:
                return Visibility(value.strip().lower())
            except ValueError:
                pass
        self.fail((*path, key), f"is {_describe(value)}, not one of {_VISIBILITY_NAMES}")

    def output_format(self, mapping: dict, key: str, path: Path, default: str) -> str:
        value = mapping.get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lower() in OUTPUT_FORMATS:
            return value.strip().lower()
        if len(self.unknown_formats) < 5:
            self.unknown_formats.add(_describe(value))
        return "text"


def _describe(value: Any) -> str:
    """A short, printable rendering of an untrusted value for an error message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > 40:
        return json.dumps(value[:40])[:-1] + '…"'
    shown = json.dumps(value)  # escapes control characters; NaN and Infinity read as in the file
    return shown if len(shown) <= 40 else shown[:40] + "…"


def _path_text(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _line_of(text: str, path: Path) -> int | None:
    """The line on which the value at `path` starts. Runs only on the error path, so may rescan."""
    if not path:
        return None
    position: int | None = _skip_space(text, 0)
    try:
        for step in path:
            position = _child_position(text, position, step)
            if position is None:
                return None
    except (ValueError, IndexError, RecursionError):
        return None
    return text.count("\n", 0, position) + 1


def _child_position(text: str, position: int, step: str | int) -> int | None:
    """Where the member `step` of the object (or array) starting at `position` starts."""
    opening, closing = ("{", "}") if isinstance(step, str) else ("[", "]")
    if text[position] != opening:
        return None
    position = _skip_space(text, position + 1)
    if text[position] == closing:
        return None
    found, index = None, 0
    while True:
        if isinstance(step, str):
            key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
            position = _skip_space(text, _skip_space(text, position) + 1)  # past the ":"
            if key == step:
                found = position  # keep looking: json.loads keeps the last duplicate key
        elif index == step:
            return position
        index += 1
        _, position = _DECODER.raw_decode(text, position)
        position = _skip_space(text, position)
        if text[position] == closing:
            return found
        position = _skip_space(text, position + 1)  # past the ","


def _skip_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _leaderboard_entry(item: Any) -> LeaderboardEntry | None:
    if not isinstance(item, dict):
        return None
    name, value, order = item.get("name"), item.get("value"), item.get("order", "desc")
    if not isinstance(name, str) or not name.strip():
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int | float):
        try:
            value = float(value)
        except OverflowError:
            return None
        if not math.isfinite(value):
            return None
    else:
        value = clean_text(value[:MAX_LEADERBOARD_CHARS])
    if not isinstance(order, str) or order.strip().lower() not in ("asc", "desc"):
        return None
    return LeaderboardEntry(
        name=clean_text(name.strip()[:MAX_LEADERBOARD_CHARS]),
        value=value,
        order=order.strip().lower(),
    )
