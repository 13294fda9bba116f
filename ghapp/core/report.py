"""What a check run says about an `Outcome`: as much as the assignment's visibility policy allows.

Pure: an Outcome and the policy in, a `CheckRunReport` out; the worker sends it. The rules:

- Levels (`VisibilityLevel`): `hidden` says "graded" and nothing else, with conclusion `neutral`,
  since a green or red mark would give the verdict away; `score` adds the total and the mark;
  `tests` each shown test's name, status and points; `full` the failing tests' output,
  annotations, the grader's own message and, when its visibility allows, the log.
- A test is shown when its Gradescope `visibility` is `visible`, `after_due_date` once
  `after_due`, `after_published` once `published`; `hidden` never. The grader's message
  (`output_visibility`) and the log (`stdout_visibility`) follow the same rule.
- Withheld tests leave no trace: no name, output, points or verdict. When any test is withheld
  the score shown is the sum of the shown tests, labelled "on visible tests" (Gradescope hides
  the total then, and counts `hidden` tests in it on the assumption that they carry no points,
  which pushgrade does not make); the mark follows the shown tests alone, since a red one would
  betray a failing hidden test; and when every test is withheld the report is the `hidden` one.
- When the teacher's image, the grader's results or the service failed, the check run asks for
  action and says what kind of problem it was; the details, which may name hidden tests, stay in
  the dashboard. Out of memory and output floods are the submission's doing: they fail.
- Test names, outputs and logs are untrusted Markdown (see `ghapp.core.markdown`). Output in the
  `html` or `md` formats is shown as text in a code block until it can be sanitised.

Longer than most modules (~540 lines) on purpose: it is one decision, what a student may read,
and its rules above are checked together by tests/unit/test_report.py. Split, a rule's two
halves (the title and the table that must agree on what is withheld) would sit apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from ghapp.core import markdown as md
from ghapp.core.config import VisibilityLevel
from runner.outcome import ErrorKind, Outcome, Status, TestResult, TestStatus, Visibility

MAX_TITLE_CHARS = 1000
ANNOTATIONS_PER_REQUEST = 50
# Each further batch of annotations costs a write from the installation's 500-an-hour budget.
MAX_ANNOTATIONS = 50
MAX_ANNOTATION_BYTES = 65_535

_ANNOTATION_LINES = 20
_ANNOTATION_CHARS = 4000
_TEST_OUTPUT_CHARS = 12_000
_LOG_RESERVE_CHARS = 16_000
_GRADER_OUTPUT_CHARS = 8_000
_NAME_CHARS = 200


class Conclusion(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"
    NEUTRAL = "neutral"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


_FAILING = frozenset({TestStatus.FAILED, TestStatus.ERRORED})
_STATUS = {
    TestStatus.PASSED: "✅ passed",
    TestStatus.FAILED: "❌ failed",
    TestStatus.ERRORED: "⚠️ errored",
    TestStatus.SKIPPED: "⏭️ skipped",
}
_LEVELS = ("notice", "warning", "failure")
_GRADED = "Submission received and graded"
_HELD_BACK = (
    "Your submission was received and graded. Your teacher has chosen not to show its results here."
)


@dataclass(frozen=True)
class Annotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: str
    message: str
    title: str | None = None
    raw_details: str | None = None

    def __post_init__(self) -> None:
        if self.annotation_level not in _LEVELS:
            raise ValueError(f"annotation_level must be one of {_LEVELS}")
        if not 1 <= self.start_line <= self.end_line:
            raise ValueError("lines must satisfy 1 <= start_line <= end_line")

    def to_api(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class CheckRunReport:
    conclusion: Conclusion
    title: str
    summary: str
    text: str | None = None
    # All of them; GitHub takes ANNOTATIONS_PER_REQUEST per request (see annotation_batches).
    annotations: tuple[Annotation, ...] = ()

    def output(self, annotations: Sequence[Annotation] = ()) -> dict:
        """The API's `output` object, carrying one batch of annotations."""
        if len(annotations) > ANNOTATIONS_PER_REQUEST:
            raise ValueError(f"GitHub takes at most {ANNOTATIONS_PER_REQUEST} annotations a call")
        data: dict = {"title": self.title, "summary": self.summary}
        if self.text is not None:
            data["text"] = self.text
        if annotations:
            data["annotations"] = [a.to_api() for a in annotations]
        return data

    def annotation_batches(
        self, size: int = ANNOTATIONS_PER_REQUEST
    ) -> list[tuple[Annotation, ...]]:
        """The annotations in batches of `size`; an empty list when there are none."""
        if not 1 <= size <= ANNOTATIONS_PER_REQUEST:
            raise ValueError(f"size must be from 1 to {ANNOTATIONS_PER_REQUEST}")
        return [self.annotations[i : i + size] for i in range(0, len(self.annotations), size)]


@dataclass(frozen=True)
class Lateness:
    """A late push that is graded: how late, against which deadline, and any penalty."""

    late_by: str  # "2 hours 5 minutes"
    due: str  # "2026-12-01 23:59 +01:00"
    penalty: float = 0.0  # the fraction of the score taken off
    received: str = ""  # when the push was received, as `due` is shown

    def note(self) -> str:
        when = f"{self.received}, " if self.received else ""
        line = f"⏰ **Late**: received {when}{self.late_by} after the deadline ({self.due})."
        if self.penalty > 0:
            line += f" A late penalty of {_number(round(self.penalty * 100, 2))} % applies."
        return line


@dataclass(frozen=True)
class _View:
    """What the policy lets a student see of one outcome."""

    level: VisibilityLevel
    tests: tuple[TestResult, ...]  # shown at `tests` and `full`; their verdicts count at `score`
    withheld: bool
    score: str | None
    grader_output: str
    log: str


def render_report(
    outcome: Outcome,
    *,
    visibility: VisibilityLevel = VisibilityLevel.FULL,
    after_due: bool = False,
    published: bool = False,
    late: Lateness | None = None,
    notes: Sequence[str] = (),
) -> CheckRunReport:
    """The check run for a graded push, as the student may see it.

    `after_due`: the due date (the late one, if late pushes are graded) has passed.
    `published`: the teacher has published the grades.
    `late`: the push came after the deadline; it is flagged at every level, and any penalty is
    taken off the score wherever a score is shown.
    `notes`: pushgrade's own lines the summary opens with (when the push was received and that
    it is on time, the graded pushes left today).
    """
    level = VisibilityLevel(visibility)
    if outcome.status is Status.ERRORED and outcome.error not in _SUBMISSIONS_FAULT:
        kind = outcome.error or ErrorKind.SANDBOX_FAILED
        return render_error_report(
            outcome.reason or "",
            kind=kind,
            student_may_read=kind is ErrorKind.BAD_ARCHIVE,
            notes=notes,
        )
    penalty = late.penalty if late else 0.0
    view = _view(outcome, level, after_due=after_due, published=published, penalty=penalty)
    all_withheld = view.withheld and not view.tests
    lead = "\n\n".join([*([late.note()] if late else []), *notes]) or None
    if level is VisibilityLevel.HIDDEN or (
        all_withheld and outcome.status in (Status.PASSED, Status.FAILED)
    ):
        title = f"{_GRADED} (late)" if late else _GRADED
        return CheckRunReport(
            Conclusion.NEUTRAL, title, f"{lead}\n\n{_HELD_BACK}" if lead else _HELD_BACK
        )
    conclusion = _conclusion(outcome, view)
    title = _title(outcome, view, conclusion)
    title = md.one_line(f"Late: {title}" if late else title, MAX_TITLE_CHARS)
    full = level is VisibilityLevel.FULL
    return CheckRunReport(
        conclusion=conclusion,
        title=title,
        summary=_summary(outcome, view, title, lead=lead),
        text=_text(outcome, view) if full else None,
        annotations=_annotations(view.tests) if full else (),
    )


# Errors shown as a graded run (the tests seen so far, a failure), not as "not graded yet".
_SUBMISSIONS_FAULT = frozenset(
    {ErrorKind.OUT_OF_MEMORY, ErrorKind.OUTPUT_FLOOD, ErrorKind.BAILED_OUT}
)
_NO_GRADER = ("Grading could not run", "No grader could be started.")
_PROBLEMS: dict[str, tuple[str, str]] = {
    "config": (
        "Grading is not set up correctly",
        "The grading configuration for this assignment has a problem.",
    ),
    ErrorKind.IMAGE_NOT_FOUND: (
        "The grader could not start",
        "The grading image for this assignment could not be found.",
    ),
    ErrorKind.IMAGE_NO_COMMAND: (
        "The grader could not start",
        "The grading image for this assignment does not say what to run.",
    ),
    ErrorKind.GRADER_BUILD_FAILED: (
        "The grader could not be built",
        "The grader for this assignment could not be built from its repository.",
    ),
    ErrorKind.OVER_LIMITS: (
        "Grading is not set up correctly",
        "The grader's limits cannot be given on this deployment.",
    ),
    ErrorKind.DOCKER_UNAVAILABLE: _NO_GRADER,
    ErrorKind.SANDBOX_FAILED: _NO_GRADER,
    ErrorKind.BAD_RESULTS: (
        "The grader's results could not be read",
        "The grader ran, but the results it wrote could not be read.",
    ),
    ErrorKind.GRADER_FAILED: (
        "The grader failed",
        "The grader for this assignment stopped before it reported its results.",
    ),
    ErrorKind.BAD_ARCHIVE: (
        "The submission could not be unpacked",
        "This commit could not be unpacked for grading; the details below say why. "
        "Push a commit without the problem to be graded.",
    ),
}


# Regrades keep the deadline standing of the push they regrade (ghapp.store.requests).
KEEPS_ITS_TIME = (
    "Your push keeps the time it was received: once your teacher has fixed the problem and "
    "regraded it, it is graded as of that time."
)


def render_error_report(
    problem_for_teacher: str,
    *,
    kind: ErrorKind | str = "config",
    student_may_read: bool = False,
    notes: Sequence[str] = (),
) -> CheckRunReport:
    """`action_required`: this push was not graded, and someone has to act.

    The student reads the kind of problem and that the teacher has been notified. The detail is
    for the teacher (the dashboard shows it): it can name hidden tests, the image or the org's
    settings. It reaches the check run only with `student_may_read`, for problems in what the
    student can read anyway: their own archive, or the config file in their own repository.
    """
    title, description = _PROBLEMS.get(kind, _PROBLEMS[ErrorKind.SANDBOX_FAILED])
    if student_may_read:  # theirs to fix: their archive, their own config file
        summary = f"{description} Your code was not graded. Your teacher has been notified."
    else:
        title = f"Not graded yet: {title[0].lower()}{title[1:]}"
        summary = (
            f"{description} This is not a verdict on your code, which was not graded yet. "
            f"{KEEPS_ITS_TIME} Your teacher has been notified."
        )
    summary = "\n\n".join([*notes, summary])
    text = None
    if student_may_read and problem_for_teacher.strip():
        heading = "The problem, as pushgrade found it:"
        text = heading + "\n\n" + (md.code_block(problem_for_teacher, 60_000) or "")
    return CheckRunReport(Conclusion.ACTION_REQUIRED, title, summary, text)


def render_not_graded(title: str, summary: str) -> CheckRunReport:
    """`neutral`: a push that pushgrade chose not to grade (limit reached, branch not graded …)."""
    return render_notice(title, summary, Conclusion.NEUTRAL)


def render_notice(title: str, summary: str, conclusion: Conclusion) -> CheckRunReport:
    """A check run of pushgrade's own words (a push not graded, a grader built).

    Both texts are pushgrade's own Markdown; they are only cut to GitHub's limits.
    """
    budget = md.Budget()
    if not budget.add(summary):
        kept = summary[: budget.room()]
        budget.add(kept)
        budget.note(md.cut_note(len(summary) - len(kept), where="the rest is not shown"))
    return CheckRunReport(conclusion, md.one_line(title, MAX_TITLE_CHARS), str(budget))


def render_superseded(newer_sha: str) -> CheckRunReport:
    """`skipped`: a push that waited while a newer push to its branch came in."""
    short = md.inline(newer_sha[:7], 40)
    return CheckRunReport(
        Conclusion.SKIPPED,
        f"Superseded by {short}",
        f"A newer push to this branch ({short}) is graded instead, so this commit was not "
        "graded. Only the newest of several waiting pushes is graded.",
    )


def render_cancelled() -> CheckRunReport:
    return CheckRunReport(
        Conclusion.CANCELLED,
        "Cancelled by a teacher",
        "A teacher stopped grading this commit. Push again, or ask your teacher, to be graded.",
    )


def render_queued(ahead: int | None = None) -> dict:
    """`ahead`: the pushes waiting before this one when it was queued (the count is not
    written again as the queue moves: each update would cost a write from the budget)."""
    if ahead is None:
        return {"title": "Queued — position unknown", "summary": "Waiting for a free grader."}
    if ahead == 0:
        return {"title": "Queued — next in line", "summary": "Waiting for a free grader."}
    pushes = "push was" if ahead == 1 else "pushes were"
    return {
        "title": f"Queued — {ahead} ahead of you",
        "summary": f"Waiting for a free grader: {ahead} {pushes} queued before yours.",
    }


def render_in_progress(timeout_s: float | None = None) -> dict:
    limit = f" It stops after {_number(timeout_s)} s at most." if timeout_s else ""
    return {"title": "Grading started", "summary": "The grader is running." + limit}


# -- the policy ------------------------------------------------------------------------------


def _view(
    outcome: Outcome, level: VisibilityLevel, *, after_due: bool, published: bool, penalty: float
) -> _View:
    def shown(visibility: Visibility) -> bool:
        return (
            visibility == Visibility.VISIBLE
            or (visibility == Visibility.AFTER_DUE_DATE and after_due)
            or (visibility == Visibility.AFTER_PUBLISHED and published)
        )

    tests = tuple(t for t in outcome.tests if shown(t.visibility))
    withheld = len(tests) < len(outcome.tests)
    full = level is VisibilityLevel.FULL
    return _View(
        level=level,
        tests=tests,
        withheld=withheld,
        score=_score(outcome, tests, withheld, penalty),
        grader_output=outcome.output if full and shown(outcome.output_visibility) else "",
        log=outcome.log if full and shown(outcome.stdout_visibility) else "",
    )


def _score(
    outcome: Outcome, tests: tuple[TestResult, ...], withheld: bool, penalty: float
) -> str | None:
    after = " after the late penalty" if penalty > 0 else ""
    if not withheld:
        if outcome.score is None and outcome.max_score is None:
            return None
        return _points(_less(outcome.score, penalty), outcome.max_score) + after
    scored = [t for t in tests if t.score is not None or t.max_score is not None]
    if not scored:
        return None
    maxima = [t.max_score for t in scored if t.max_score is not None]
    total = _less(_sum([t.score or 0.0 for t in scored]), penalty)
    return f"{_points(total, _sum(maxima) if maxima else None)} on visible tests{after}"


def _less(score: float | None, penalty: float) -> float | None:
    return None if score is None else round(score * (1 - penalty), 2)


def _conclusion(outcome: Outcome, view: _View) -> Conclusion:
    if outcome.status is Status.TIMED_OUT:
        return Conclusion.TIMED_OUT
    if outcome.status is Status.ERRORED or any(t.status in _FAILING for t in view.tests):
        return Conclusion.FAILURE
    if view.withheld or outcome.status is Status.PASSED:
        return Conclusion.SUCCESS
    return Conclusion.FAILURE


def _reason(outcome: Outcome, view: _View) -> str | None:
    # Timeouts, memory and floods are described in pushgrade's own words. Other reasons carry
    # the parsers' notes, which count every test: shown only when no test is withheld.
    # A bail out's reason is the grader's own words, like the parsers' notes.
    if outcome.status is Status.TIMED_OUT or (
        outcome.status is Status.ERRORED and outcome.error is not ErrorKind.BAILED_OUT
    ):
        return outcome.reason
    if view.level in (VisibilityLevel.TESTS, VisibilityLevel.FULL) and not view.withheld:
        return outcome.reason
    return None


# -- the texts -------------------------------------------------------------------------------


def _title(outcome: Outcome, view: _View, conclusion: Conclusion) -> str:
    if outcome.status is Status.TIMED_OUT:
        seconds = outcome.duration_s
        return f"Timed out after {_number(round(seconds))} s" if seconds > 0 else "Timed out"
    if outcome.error is ErrorKind.OUT_OF_MEMORY:
        return "Ran out of memory"
    if outcome.error is ErrorKind.OUTPUT_FLOOD:
        return "Stopped: too much output"
    if outcome.error is ErrorKind.BAILED_OUT:
        return "Stopped early: the tests bailed out"
    verdict = "All tests passed" if conclusion is Conclusion.SUCCESS else "Tests failed"
    if view.level is VisibilityLevel.SCORE:
        return view.score or verdict
    counts = _counts(view.tests, with_score=view.score is not None)
    if view.score:
        return f"{view.score} — {counts}" if counts else view.score
    return counts or verdict


def _counts(tests: tuple[TestResult, ...], *, with_score: bool) -> str:
    if not tests:
        return ""
    total = len(tests)
    failing = sum(t.status in _FAILING for t in tests)
    skipped = sum(t.status is TestStatus.SKIPPED for t in tests)
    if failing:
        if with_score:
            return f"{_tests(failing)} failing"
        return f"{failing} of {_tests(total)} failing"
    if skipped:
        phrase = f"{total - skipped} passed, {skipped} skipped"
    else:
        phrase = "1 test passed" if total == 1 else f"all {total} tests passed"
    return phrase if with_score else phrase[0].upper() + phrase[1:]


def _summary(outcome: Outcome, view: _View, title: str, *, lead: str | None = None) -> str:
    budget = md.Budget()
    if lead:
        budget.add(lead)
    if view.score:
        budget.add(f"**Score: {view.score}**")
    reason = _reason(outcome, view)
    if reason:
        budget.add(md.inline(reason, 1000))
    if view.level in (VisibilityLevel.TESTS, VisibilityLevel.FULL) and view.tests:
        _add_table(budget, view.tests)
    if md.plain(view.grader_output).strip():
        heading = "### Grader output\n\n"
        room = min(_GRADER_OUTPUT_CHARS, budget.room() - len(heading))
        block = md.code_block(view.grader_output, room)
        if not (block and budget.add(heading + block)):
            budget.note(f"_… cut: the grader's output; {md.DASHBOARD}._")
    if view.level is VisibilityLevel.SCORE:
        budget.add("_Your teacher shows the total only for this assignment._")
    elif view.level is VisibilityLevel.TESTS:
        budget.add("_Test output is not shown for this assignment._")
    return str(budget) or md.inline(title)


def _add_table(budget: md.Budget, tests: tuple[TestResult, ...]) -> None:
    with_points = any(t.score is not None or t.max_score is not None for t in tests)
    header = ["Status", "Test", *(["Points"] if with_points else [])]
    rows = [
        [
            _STATUS[t.status],
            md.inline(_name(t), _NAME_CHARS),
            *([_test_points(t)] if with_points else []),
        ]
        for t in tests
    ]
    table, left_out = md.table(header, rows, budget.room())
    budget.add(table)
    if left_out:
        budget.note(md.cut_note(left_out, "tests", "the full results are in the dashboard"))


def _text(outcome: Outcome, view: _View) -> str | None:
    budget = md.Budget()
    failing = [t for t in view.tests if t.status in _FAILING and md.plain(t.output).strip()]
    log = view.log if md.plain(view.log).strip() else ""
    keep_for_log = _LOG_RESERVE_CHARS if log else 0
    if failing:
        budget.add("### Failing tests")
    for done, test in enumerate(failing):
        block = _output_block(test, min(_TEST_OUTPUT_CHARS, budget.room() - keep_for_log))
        if block is None or not budget.add(block):
            rest = len(failing) - done
            budget.note(f"_… cut: the output of {_tests(rest)} more; {md.DASHBOARD}._")
            break
    if log:
        heading = "### Log"
        if outcome.log_truncated:
            heading += (
                "\n\n_The grader printed more than pushgrade keeps: the log below has its "
                "beginning and its end._"
            )
        block = md.code_block(log, budget.room() - len(heading) - 2, head_and_tail=True)
        if not (block and budget.add(f"{heading}\n\n{block}")):
            budget.note(f"_The log is not shown here: {md.DASHBOARD}._")
    return str(budget) or None


def _output_block(test: TestResult, max_chars: int) -> str | None:
    summary = md.html_text(f"{_STATUS[test.status]} {_name(test)}", _NAME_CHARS)
    body = md.code_block(test.output, max_chars - len(md.details(summary, "")))
    return md.details(summary, body) if body else None


def _annotations(tests: tuple[TestResult, ...]) -> tuple[Annotation, ...]:
    found: list[Annotation] = []
    for test in tests:
        path = _repo_path(test.file) if test.file else None
        if test.status not in _FAILING or path is None or test.line is None:
            continue
        line = min(max(test.line, 1), 10_000_000)
        lines = md.plain(test.output).strip("\n").split("\n")[:_ANNOTATION_LINES]
        message = "\n".join(lines)[:_ANNOTATION_CHARS].strip() or f"Test {test.status.value}"
        title = md.one_line(_name(test), 255)
        found.append(Annotation(path, line, line, "failure", message, title=title))
        if len(found) == MAX_ANNOTATIONS:
            break
    return tuple(found)


def _repo_path(file: str) -> str | None:
    """The path of `file` in the student's repository, or None if it is not in it."""
    path = md.plain(file).strip().replace("\\", "/")
    for prefix in ("/autograder/submission/", "/submission/"):
        path = path.removeprefix(prefix)
    while path.startswith("./"):
        path = path[2:]
    parts = path.split("/")
    if not path or path.startswith("/") or len(path) > 1000 or {"", ".", ".."} & set(parts):
        return None
    return path


# -- numbers ---------------------------------------------------------------------------------


def _name(test: TestResult) -> str:
    return f"{test.number} {test.name}" if test.number else test.name


def _test_points(test: TestResult) -> str:
    if test.score is None and test.max_score is None:
        return "—"
    return _points(test.score, test.max_score)


def _points(score: float | None, max_score: float | None) -> str:
    if max_score is None:
        return f"{_number(score or 0.0)} point" + ("" if score == 1 else "s")
    return f"{_number(score or 0.0)} / {_number(max_score)}"


def _number(value: float) -> str:
    """42.0 → "42", 42.5 → "42.5", 1/3 → "0.33"."""
    if not math.isfinite(value):
        return "?"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _sum(values: list[float]) -> float:
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):  # inf + -inf: never from the parsers, but never raise
        return math.nan


def _tests(count: int) -> str:
    return "1 test" if count == 1 else f"{count} tests"
