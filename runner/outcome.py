"""The `Outcome` of grading one submission: what happened, in terms a teacher understands.

Every way a run can end maps to one of four statuses. An `errored` outcome always carries an
`error` code (for programs) and a `reason` (for people). The JSON form (`Outcome.to_json`) has
stable keys that other parts of pushgrade and users' scripts build on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    TIMED_OUT = "timed_out"


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class, despite the name

    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"


class Visibility(StrEnum):
    """Gradescope's per-test visibility values; pushgrade's policy narrows by them."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    AFTER_DUE_DATE = "after_due_date"
    AFTER_PUBLISHED = "after_published"


class ErrorKind(StrEnum):
    """Why an outcome is `errored`. The first group means grading could not run at all."""

    BAD_ARCHIVE = "bad_archive"
    IMAGE_NOT_FOUND = "image_not_found"
    IMAGE_NO_COMMAND = "image_no_command"
    GRADER_BUILD_FAILED = "grader_build_failed"  # the teacher's grader repo did not build
    OVER_LIMITS = "over_limits"  # limits the engine cannot give (more CPUs than it has)
    DOCKER_UNAVAILABLE = "docker_unavailable"
    SANDBOX_FAILED = "sandbox_failed"
    # Grading ran, and this is what went wrong in it.
    OUT_OF_MEMORY = "out_of_memory"
    OUTPUT_FLOOD = "output_flood"
    # The tests stopped themselves early (TAP's `Bail out!`), with the reason they gave.
    BAILED_OUT = "bailed_out"
    BAD_RESULTS = "bad_results"
    # The grader did not produce what it declared (`results:`): the teacher's to fix, not a
    # failure of the student's work.
    GRADER_FAILED = "grader_failed"

    @property
    def could_not_run(self) -> bool:
        return self in _COULD_NOT_RUN


_COULD_NOT_RUN = frozenset(
    {
        ErrorKind.BAD_ARCHIVE,
        ErrorKind.IMAGE_NOT_FOUND,
        ErrorKind.IMAGE_NO_COMMAND,
        ErrorKind.GRADER_BUILD_FAILED,
        ErrorKind.OVER_LIMITS,
        ErrorKind.DOCKER_UNAVAILABLE,
        ErrorKind.SANDBOX_FAILED,
    }
)


class TestResult(BaseModel):
    """One test as the grader reported it."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest test class, despite the name

    name: str
    status: TestStatus
    score: float | None = None
    max_score: float | None = None
    output: str = ""
    # Gradescope's output_format: text, html, simple_format, md or ansi.
    output_format: str = "text"
    visibility: Visibility = Visibility.VISIBLE
    number: str | None = None
    # Where the failure is, when the results format says (JUnit file/line): annotations use it.
    file: str | None = None
    line: int | None = None


class LeaderboardEntry(BaseModel):
    """One of a results.json's `leaderboard` entries: a named value ranked high-first (`desc`)
    or low-first (`asc`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float | str
    order: str = "desc"


class ResultsSource(StrEnum):
    RESULTS_JSON = "results.json"
    JUNIT = "junit"
    TAP = "tap"
    EXIT_CODE = "exit_code"


class Outcome(BaseModel):
    status: Status
    score: float | None = None
    max_score: float | None = None
    tests: list[TestResult] = Field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int | None = None
    log: str = ""
    log_truncated: bool = False
    reason: str | None = None
    error: ErrorKind | None = None
    # Where the results came from, and the grader's own top-level message and visibilities.
    source: ResultsSource | None = None
    output: str = ""
    output_visibility: Visibility = Visibility.VISIBLE
    stdout_visibility: Visibility = Visibility.HIDDEN
    image_id: str | None = None
    # The registry digest of that image (registry/name@sha256:…), when it came from a registry.
    image_digest: str | None = None
    # When the container was created, started and exited (Unix time, seconds), for the job's
    # timeline; empty when no container ran.
    phases: dict[str, float] = Field(default_factory=dict)
    # A results.json's leaderboard entries, as the grader wrote them (checked and capped).
    leaderboard: list[LeaderboardEntry] = Field(default_factory=list)

    @property
    def could_not_run(self) -> bool:
        return self.error is not None and self.error.could_not_run

    @classmethod
    def errored(cls, error: ErrorKind, reason: str, **fields: object) -> Outcome:
        return cls(status=Status.ERRORED, error=error, reason=reason, **fields)

    def to_json(self) -> str:
        return self.model_dump_json()
