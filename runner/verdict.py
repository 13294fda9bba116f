"""From what happened in the container to an `Outcome` (pure: no Docker here).

The results come from the first of these that exists: `/results/results.json` (Gradescope's
schema), JUnit XML files under `/results/`, TAP on stdout, the exit code. What stopped the run
early (memory, an output flood, the clock) decides before any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.outcome import ErrorKind, Outcome, ResultsSource, Status
from runner.results import (
    ParsedResults,
    ResultsError,
    parse_gradescope,
    parse_junit,
    results_from_exit_code,
)
from runner.spec import SandboxLimits, format_size


@dataclass(frozen=True)
class RunFacts:
    """What the sandbox observed, stripped of everything Docker-shaped."""

    exit_code: int | None
    duration_s: float
    log: str
    log_truncated: bool
    image_id: str | None = None
    timed_out: bool = False
    oom_killed: bool = False
    flooded: bool = False
    # Files found under /results: path relative to it -> content.
    results_files: dict[str, bytes] = field(default_factory=dict)
    # Why the results folder could not be read, when it could not.
    results_problem: str | None = None
    tap: ParsedResults | None = None


# What a grader may declare it produces (the config's `results:`), and the source each means.
DECLARED = {
    "gradescope": ResultsSource.RESULTS_JSON,
    "junit": ResultsSource.JUNIT,
    "tap": ResultsSource.TAP,
    "exit-code": ResultsSource.EXIT_CODE,
}
_PRODUCES = {
    ResultsSource.RESULTS_JSON: "/results/results.json",
    ResultsSource.JUNIT: "JUnit XML under /results/",
    ResultsSource.TAP: "TAP on its output",
}


def decide(facts: RunFacts, limits: SandboxLimits, *, declared: str | None = None) -> Outcome:
    """The outcome of a run. `declared`: what the grader said it produces (see DECLARED); then
    results of that kind are the only ones read, and none is the grader's failure."""
    common = {
        "duration_s": round(facts.duration_s, 3),
        "exit_code": facts.exit_code,
        "log": facts.log,
        "log_truncated": facts.log_truncated,
        "image_id": facts.image_id,
    }
    if facts.oom_killed:
        return Outcome.errored(
            ErrorKind.OUT_OF_MEMORY,
            f"The submission ran out of memory (limit {format_size(limits.memory_bytes)}) "
            "and was stopped.",
            **common,
        )
    if facts.flooded:
        return Outcome.errored(
            ErrorKind.OUTPUT_FLOOD,
            f"The submission printed more than {format_size(limits.output_flood_bytes)} of "
            "output and was stopped; the log keeps its beginning and end.",
            **common,
        )
    expected = DECLARED.get(declared) if declared else None
    try:
        parsed = _read_results(facts, expected)
    except ResultsError as err:
        if facts.timed_out:
            return _timed_out(None, limits, common)
        return Outcome.errored(
            ErrorKind.BAD_RESULTS, f"The grader's results could not be read: {err}", **common
        )
    if facts.timed_out:
        return _timed_out(parsed, limits, common)
    if parsed is None and expected not in (None, ResultsSource.EXIT_CODE):
        return Outcome.errored(
            ErrorKind.GRADER_FAILED,
            f"The grader declares results: {declared} but left no {_PRODUCES[expected]}; it "
            f"{_exited(facts.exit_code)}.",
            **common,
        )
    if parsed is None:
        parsed = results_from_exit_code(facts.exit_code if facts.exit_code is not None else -1)
    reason = None
    passed = parsed.passed
    if parsed.source == "exit_code" and facts.exit_code != 0:
        reason = f"The grader {_exited(facts.exit_code)} and wrote no results file."
        if expected is ResultsSource.EXIT_CODE:
            reason = f"The grader {_exited(facts.exit_code)}: the tests did not pass."
    elif parsed.source == "tap" and facts.exit_code != 0:
        # A TAP harness that exits non-zero has failed, whatever lines it printed before.
        passed = False
        reason = f"The grader printed TAP but {_exited(facts.exit_code)}."
    elif parsed.source == "junit" and not parsed.tests and facts.exit_code != 0:
        # pytest writes its XML even when it found no tests or failed to collect them (exit
        # 2, 4, 5): an empty report from a grader that failed is not a pass.
        passed = False
        reason = f"The grader reported no tests and {_exited(facts.exit_code)}."
    if parsed.bailed_out is not None:
        said = f": {parsed.bailed_out.rstrip('.')}." if parsed.bailed_out else "."
        reason = f"The tests stopped early (TAP Bail out!){said}"
    if parsed.notes:
        reason = " ".join(filter(None, [reason, *parsed.notes]))
    if parsed.bailed_out is not None:
        return _with_results(Status.ERRORED, parsed, reason, common, error=ErrorKind.BAILED_OUT)
    return _with_results(Status.PASSED if passed else Status.FAILED, parsed, reason, common)


def _exited(exit_code: int | None) -> str:
    return "ended without an exit code" if exit_code is None else f"exited with code {exit_code}"


def _read_results(facts: RunFacts, expected: ResultsSource | None) -> ParsedResults | None:
    """The results of the declared kind (`expected`), else of the first kind found; None for
    none (the exit code decides, unless a kind was declared)."""
    if expected is ResultsSource.EXIT_CODE:
        return None
    if facts.results_problem:
        raise ResultsError(facts.results_problem)
    if expected in (None, ResultsSource.RESULTS_JSON) and "results.json" in facts.results_files:
        return parse_gradescope(facts.results_files["results.json"], file="results.json")
    xml = sorted(
        (path, data) for path, data in facts.results_files.items() if path.endswith(".xml")
    )
    if expected in (None, ResultsSource.JUNIT) and xml:
        return parse_junit(xml)
    if expected in (None, ResultsSource.TAP):
        return facts.tap
    return None


def _timed_out(parsed: ParsedResults | None, limits: SandboxLimits, common: dict) -> Outcome:
    reason = f"The submission did not finish within the time limit ({limits.timeout_s:g} s)."
    if parsed is None:
        return Outcome(status=Status.TIMED_OUT, reason=reason, **common)
    # Whatever the grader had reported before the clock ran out stays visible to the teacher.
    return _with_results(Status.TIMED_OUT, parsed, reason, common)


def _with_results(
    status: Status,
    parsed: ParsedResults,
    reason: str | None,
    common: dict,
    *,
    error: ErrorKind | None = None,
) -> Outcome:
    return Outcome(
        status=status,
        error=error,
        score=parsed.score,
        max_score=parsed.max_score,
        tests=list(parsed.tests),
        reason=reason,
        source=parsed.source,
        output=parsed.output,
        output_visibility=parsed.output_visibility,
        stdout_visibility=parsed.stdout_visibility,
        leaderboard=list(parsed.leaderboard),
        **common,
    )
