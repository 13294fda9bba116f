"""What a Classroom template converts to: the tests (tests.json, the runner's input), the build
steps moved out of them, and the notes the teacher reads about each decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TemplateError(Exception):
    """The template cannot be converted: one line naming the file (and line) and what to do."""


class Kind(StrEnum):
    """Which of Classroom's runners ran the test: the runner repeats that runner's rules."""

    AUTOGRADING_JSON = (
        "autograding-json"  # education/autograding: .github/classroom/autograding.json
    )
    IO = "io"  # classroom-resources/autograding-io-grader
    COMMAND = "command"  # classroom-resources/autograding-command-grader
    PYTHON = "python"  # classroom-resources/autograding-python-grader


@dataclass
class Test:
    """One Classroom test, as tests.json gives it to the runner."""

    name: str
    kind: Kind
    setup: str
    run: str
    input: str
    expected: str
    comparison: str | None  # included | exact | regex; None where output is not compared
    timeout_s: float
    setup_timeout_s: float | None  # None: setup and run share timeout_s (autograding.json)
    points: float | int | None  # None: the test runs but counts for nothing
    where: str  # "autograding.json test 3", "classroom.yml step greet": for the notes
    env: dict[str, str] = field(default_factory=dict)  # kind python: the step's env

    def as_json(self) -> dict[str, Any]:
        document = {
            "name": self.name,
            "kind": self.kind.value,
            "setup": self.setup,
            "run": self.run,
            "input": self.input,
            "expected": self.expected,
            "comparison": self.comparison,
            "timeout_s": round(self.timeout_s, 3),
            "setup_timeout_s": (
                None if self.setup_timeout_s is None else round(self.setup_timeout_s, 3)
            ),
            "points": self.points,
        }
        if self.env:
            document["env"] = dict(self.env)
        return document

    @property
    def limit_s(self) -> float:
        """The longest this test may take in Classroom's runner, setup included."""
        if self.setup_timeout_s is not None and self.setup.strip():
            return self.timeout_s + self.setup_timeout_s
        return self.timeout_s


class NoteKind(StrEnum):
    MOVED = "moved"  # done once when the image is built instead of before each run
    KEPT = "kept"  # still done at each run, and why
    CHANGED = "changed"  # carried over, with a difference the teacher should know
    DROPPED = "dropped"  # not carried over
    CHECK = "check"  # carried over as it was, but look at it: it may not work as it did


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


@dataclass(frozen=True)
class BuildStep:
    """A RUN line of the grader's Dockerfile, moved out of the tests."""

    run: str  # the shell command, its words quoted
    stage: int  # 0: system packages, 1: language packages, 2: in /grader/files (after COPY)
    needs: tuple[str, ...] = ()  # template files copied to build/ for it (requirements.txt)
    files: tuple[str, ...] = ()  # template files it needs in files/ (package.json)


@dataclass
class Conversion:
    """Everything the template's Classroom configuration says, converted."""

    tests: list[Test] = field(default_factory=list)
    steps: list[tuple[BuildStep, str]] = field(default_factory=list)  # with where it came from
    notes: list[Note] = field(default_factory=list)
    # Workflow run: steps, each (the `where` of the test it precedes, None: autograding.json's
    # first; its text; its own `where`): done once, before that test, at each run.
    prelude: list[tuple[str | None, str, str]] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)  # the files read (to remove from the template)
    wanted_base: list[str] = field(default_factory=list)  # setup-* actions: what the base must have
    needs_network: list[str] = field(default_factory=list)  # the tests that reach the network

    def note(self, kind: NoteKind, where: str, text: str) -> None:
        self.notes.append(Note(kind, where, text))

    def add_step(self, step: BuildStep, where: str) -> None:
        self.steps.append((step, where))
