"""`.github/classroom/autograding.json`, as `education/autograding` (the runner of GitHub
Classroom's first autograding) read it.

Its rules, from that runner's source (src/runner.ts): the tests run in order, in one working
folder; `timeout` is in minutes, 1 when absent or 0, and setup and run share it; a test with
neither `input` nor `output` is judged by its exit code alone; otherwise stdout, with line endings
made `\\n` and trimmed, is compared to `output` (trimmed) by `exact`, `regex` (the pattern as
written, against the trimmed stdout) or `included` (any other value, or none); `points` count
only when truthy, so a test with none, null or 0 runs and counts for nothing.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from pushgrade.classroom.model import Conversion, Kind, NoteKind, TemplateError, Test

PATH = ".github/classroom/autograding.json"
MAX_TESTS = 1000
MAX_TEXT = 256 * 1024  # one command, input or output
_FIELDS = {"name", "setup", "run", "input", "output", "comparison", "timeout", "points"}
_COMPARISONS = ("included", "exact", "regex")


def parse(data: bytes, conversion: Conversion, *, file: str = PATH) -> list[Test]:
    """The file's tests, in order; TemplateError (file, line, column) when it is not JSON of that
    shape."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TemplateError(f"{file}: not UTF-8 text (byte {err.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
        conversion.note(
            NoteKind.CHECK,
            file,
            "it starts with a byte order mark, which Classroom's runner could not parse (its "
            "tests never ran there); read here without it",
        )
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise TemplateError(
            f"{file}: line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}"
        ) from None
    except (ValueError, RecursionError) as err:
        raise TemplateError(f"{file}: not valid JSON: {err}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
        raise TemplateError(f'{file}: expected {{"tests": [...]}}, the list of Classroom tests')
    items = document["tests"]
    if len(items) > MAX_TESTS:
        raise TemplateError(f"{file}: {len(items)} tests; at most {MAX_TESTS} are read")
    tests = []
    for number, item in enumerate(items, start=1):
        where = f"autograding.json test {number}"
        if not isinstance(item, dict):
            conversion.note(NoteKind.DROPPED, where, "not a test (an object) — left out")
            continue
        tests.append(_test(item, where, number, conversion))
    return tests


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _test(item: dict[str, Any], where: str, number: int, conversion: Conversion) -> Test:
    name = clean_name(item.get("name"), f"Test {number}", where, conversion)
    where = f"{where} ({name})"
    unknown = sorted(str(k) for k in item if k not in _FIELDS)
    if unknown:
        conversion.note(
            NoteKind.DROPPED, where, f"fields Classroom's runner did not read: {', '.join(unknown)}"
        )
    run = item.get("run")
    if not isinstance(run, str):  # spawn() throws on anything but text: the test failed
        conversion.note(
            NoteKind.CHECK,
            where,
            "no run command: Classroom's runner failed this test every time, and so does this one",
        )
        run = "exit 1"
    elif len(run) > MAX_TEXT:
        raise TemplateError(f"{where}: run is longer than {MAX_TEXT // 1024} KiB")
    comparison = item.get("comparison")
    if comparison not in _COMPARISONS:
        if comparison is not None:
            conversion.note(
                NoteKind.CHANGED,
                where,
                f"comparison {comparison!r} is not one Classroom knew: it compared with "
                "'included', and so does this",
            )
        comparison = "included"
    return Test(
        name=name,
        kind=Kind.AUTOGRADING_JSON,
        setup=_text(item.get("setup"), "setup", where, conversion),
        run=run,
        input=_text(item.get("input"), "input", where, conversion),
        expected=_text(item.get("output"), "output", where, conversion),
        comparison=comparison,
        timeout_s=_timeout_s(item.get("timeout"), where, conversion),
        setup_timeout_s=None,
        points=_points(item.get("points"), where, conversion),
        where=where,
    )


def clean_name(value: Any, default: str, where: str, conversion: Conversion) -> str:
    """A test's name as Classroom showed it: HTML entities decoded, spaces trimmed."""
    if not isinstance(value, str) or not value.strip():
        conversion.note(NoteKind.CHANGED, where, f"no name: named {default!r}")
        return default
    name = html.unescape(value).strip()
    if name != value:
        conversion.note(
            NoteKind.CHANGED, where, f"name {value!r} read as {name!r} (entities, spaces)"
        )
    return name[:1000]


def _text(value: Any, field: str, where: str, conversion: Conversion) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        conversion.note(NoteKind.CHECK, where, f"{field} is not text: read as empty")
        return ""
    if not isinstance(value, str):
        conversion.note(NoteKind.CHANGED, where, f"{field} {value!r} is a number: read as text")
        value = str(value)
    if len(value) > MAX_TEXT:
        raise TemplateError(f"{where}: {field} is longer than {MAX_TEXT // 1024} KiB")
    return value


def _timeout_s(value: Any, where: str, conversion: Conversion) -> float:
    """Classroom's `(timeout || 1) * 60 * 1000 || 30000` milliseconds, in seconds."""
    minutes = value
    if isinstance(value, str):
        try:
            minutes = float(value) if value.strip() else 0
        except ValueError:
            conversion.note(
                NoteKind.CHANGED, where, f"timeout {value!r} is not a number: 30 s, as Classroom"
            )
            return 30.0
    elif not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        minutes = 0
    if not minutes:
        return 60.0
    if minutes < 0:
        conversion.note(
            NoteKind.CHECK, where, f"timeout {value!r} is negative: the test times out at once"
        )
        return 0.01
    return min(float(minutes) * 60.0, 6 * 3600.0)


def _points(value: Any, where: str, conversion: Conversion) -> float | int | None:
    """Points count when truthy, as `if (test.points)` in Classroom's runner."""
    if value is None or value is False:
        return None
    if value is True:
        conversion.note(NoteKind.CHANGED, where, "points true: counted as 1, as Classroom did")
        return 1
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            conversion.note(NoteKind.CHANGED, where, f"points {value!r}: not a number, no points")
            return None
        conversion.note(
            NoteKind.CHANGED,
            where,
            f"points {value!r} are text, which Classroom's total joined as text: counted as "
            f"{number:g}",
        )
        value = number
    if not isinstance(value, int | float) or math.isnan(value) or not value:
        return None
    if value < 0:
        conversion.note(
            NoteKind.CHANGED,
            where,
            f"points {value:g}: Classroom took a negative maximum off the total; here the test "
            "counts for nothing",
        )
        return None
    return int(value) if float(value).is_integer() else float(value)
