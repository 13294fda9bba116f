"""A template's Classroom configuration, converted: the tests, what moves into the image build,
the files the grader carries, and a note for every decision. No I/O beyond reading the template.

Which configuration counts, as Classroom ran it: the workflows (`.github/workflows/*.yml`) that
use Classroom's actions; autograding.json when a workflow runs `education/autograding`, or when
no workflow holds tests (Classroom's first autograding made that workflow itself).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pushgrade.classroom import autograding, workflow
from pushgrade.classroom.build import plan_setup, strip_sudo
from pushgrade.classroom.checks import check
from pushgrade.classroom.files import Selection, select
from pushgrade.classroom.model import Conversion, Kind, NoteKind, TemplateError, Test
from pushgrade.classroom.shell import one_line
from pushgrade.classroom.template import Template

CEILING_S = 600  # the operator's default timeout ceiling: an assignment may not ask for more
SLACK_S = 30  # the runner's own start, copying the files, writing results.json


@dataclass
class Grader:
    conversion: Conversion
    selection: Selection
    timeout_s: int  # the assignment's timeout: every test's limit, and some slack


def convert(template: Template, *, extra: Iterable[str] = (), drop: Iterable[str] = ()) -> Grader:
    conversion = Conversion()
    tests = _read_tests(template, conversion)
    first_json = next((t for t in tests if t.kind is Kind.AUTOGRADING_JSON), None)
    for test in tests:
        before = [
            (text, here)
            for key, text, here in conversion.prelude
            if key == test.where or (key is None and test is first_json)
        ]
        prelude = [_plan_step(text, here, test, template, conversion) for text, here in before]
        test.setup = plan_setup(
            test.setup, where=test.where, template=template, conversion=conversion
        )
        test.setup = strip_sudo(test.setup, where=test.where, conversion=conversion, what="setup")
        test.run = strip_sudo(test.run, where=test.where, conversion=conversion, what="command")
        if test.setup.strip():
            conversion.note(
                NoteKind.KEPT,
                test.where,
                f"setup `{one_line(test.setup, 80)}` runs before the test at each run, as in "
                "Classroom (it works on the student's files)",
            )
        test.setup = "\n".join(part for part in [*prelude, test.setup] if part)
    conversion.tests = tests
    steps = [step for step, _ in conversion.steps]
    chosen = select(
        template,
        [text for test in tests for text in (test.setup, test.run)],
        build_files=[f for step in steps for f in step.files],
        build_needs=[f for step in steps for f in step.needs],
        extra=extra,
        drop=drop,
    )
    for path in chosen.dropped:
        if any(path in step.files for step in steps):
            conversion.note(NoteKind.CHECK, path, "dropped, but a build step needs it")
    for test in tests:
        check(test, template, chosen, conversion)
    for name, count in Counter(t.name for t in tests).items():
        if count > 1:
            conversion.note(NoteKind.CHECK, "", f"{count} tests are named {name!r}")
    if not any(t.points for t in tests):
        conversion.note(
            NoteKind.CHECK,
            "",
            "no test has points: Classroom showed no score; here the run passes or fails on "
            "the tests alone",
        )
    return Grader(conversion, chosen, _budget(tests, conversion))


def _read_tests(template: Template, conversion: Conversion) -> list[Test]:
    tests: list[Test] = []
    runs_json = False
    for path in sorted(template.files):
        folder, _, name = path.rpartition("/")
        if folder == ".github/workflows" and name.endswith((".yml", ".yaml")):
            found = workflow.parse(_read(template, path), path, conversion)
            if found is not None:
                tests += found[0]
                runs_json = runs_json or found[1]
    if template.has(autograding.PATH):
        if runs_json or not tests:
            json_tests = autograding.parse(_read(template, autograding.PATH), conversion)
            conversion.configs.insert(0, autograding.PATH)
            tests = json_tests + tests
        else:
            conversion.configs.append(autograding.PATH)
            conversion.note(
                NoteKind.DROPPED,
                autograding.PATH,
                "no workflow runs education/autograding, so Classroom did not run these tests: "
                "left out",
            )
    elif runs_json:
        conversion.note(
            NoteKind.CHECK,
            "",
            f"a workflow runs education/autograding, but there is no {autograding.PATH}",
        )
    if not tests:
        raise TemplateError(
            "no GitHub Classroom tests in the template: no tests in "
            f"{autograding.PATH}, nor a .github/workflows file using "
            "classroom-resources/autograding-io-grader, -command-grader or -python-grader"
        )
    return tests


def _read(template: Template, path: str) -> bytes:
    try:
        return template.read(path)
    except ValueError as err:
        raise TemplateError(str(err)) from None


def _plan_step(text: str, here: str, test: Test, template: Template, conversion) -> str:
    """A workflow run: step before `test`: its installs move into the build, the rest goes first
    in the test's setup, once, in a subshell (a `cd` or an `export` in a step does not reach
    the next step)."""
    kept = plan_setup(text, where=here, template=template, conversion=conversion)
    kept = strip_sudo(kept, where=here, conversion=conversion, what="step")
    if not kept.strip():
        return ""
    conversion.note(
        NoteKind.KEPT,
        here,
        f"`{one_line(kept, 80)}` works on the student's files: it runs at each run, once, "
        f"first in the setup of {test.name!r}",
    )
    return f"(\n{kept}\n)"


def _budget(tests: list[Test], conversion: Conversion) -> int:
    """The assignment's timeout; the tests' own limits shortened alike when they add up to more
    than a run may last (a test that hangs must not take the whole run, and the later tests'
    points, with it)."""
    total = sum(test.limit_s for test in tests)
    room = CEILING_S - SLACK_S
    if total <= room:
        return math.ceil(total + SLACK_S)
    factor = room / total
    for test in tests:
        test.timeout_s = max(min(test.timeout_s, 1.0), test.timeout_s * factor)
        if test.setup_timeout_s is not None:
            test.setup_timeout_s = max(
                min(test.setup_timeout_s, 1.0), test.setup_timeout_s * factor
            )
    conversion.note(
        NoteKind.CHANGED,
        "",
        f"the tests' time limits add up to {total / 60:.0f} minutes, more than the {CEILING_S} s "
        f"a run may last by default: each is cut to {factor:.0%} of Classroom's, and the "
        f"assignment's timeout is {CEILING_S} s (an operator who raises the ceiling can give "
        "more: edit tests.json and timeout:)",
    )
    return CEILING_S
