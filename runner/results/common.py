"""What every results parser shares: the result and error types, and the caps on untrusted text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner.outcome import LeaderboardEntry, ResultsSource, TestResult, Visibility

# Results files are written inside the student's container, so every size is capped.
MAX_TESTS = 5000
MAX_TEST_OUTPUT_BYTES = 64 * 1024
MAX_OUTPUT_BYTES = 64 * 1024
MAX_NAME_CHARS = 1000
TRUNCATION_MARK = "\n… [output truncated]"

# NUL and lone surrogates cannot be stored in PostgreSQL text or encoded as UTF-8 for GitHub.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ResultsError(Exception):
    """A results file that cannot be trusted.

    str(e) names the file and, where known, the line and the field.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = " ".join(
            part for part in (self.file, f"line {self.line}" if self.line else None) if part
        )
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ParsedResults:
    """What the grader reported, in one shape whichever format it used."""

    source: ResultsSource
    passed: bool
    score: float | None
    max_score: float | None
    tests: tuple[TestResult, ...]
    output: str = ""
    output_visibility: Visibility = Visibility.VISIBLE
    stdout_visibility: Visibility = Visibility.HIDDEN
    notes: tuple[str, ...] = ()
    # TAP's `Bail out!`: the tests stopped early, for this reason ("" when none was given).
    bailed_out: str | None = None
    # results.json's leaderboard.
    leaderboard: tuple[LeaderboardEntry, ...] = ()


def results_from_exit_code(exit_code: int) -> ParsedResults:
    """The last resort when the image wrote no results: exit status 0 passes, all else fails."""
    return ParsedResults(
        source=ResultsSource.EXIT_CODE, passed=exit_code == 0, score=None, max_score=None, tests=()
    )


def clean_text(text: str) -> str:
    """Replace the characters that could not be stored or sent on with U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def cap_bytes(text: str, limit: int, *, cut: bool = False) -> tuple[str, bool]:
    """Clean `text` and keep at most `limit` UTF-8 bytes of it, marking a cut; True if cut.

    `cut` says the text was already cut short upstream (as while streaming), so it gets the mark.
    """
    # A character is at least one byte, so slicing first bounds the work on a 10 MB string.
    cut = cut or len(text) > limit
    text = clean_text(text[:limit])
    encoded = text.encode("utf-8")
    if not cut and len(encoded) <= limit:
        return text, False
    room = limit - len(TRUNCATION_MARK.encode("utf-8"))
    return encoded[:room].decode("utf-8", "ignore") + TRUNCATION_MARK, True


def at_least(score: float, max_score: float) -> bool:
    """score >= max_score, forgiving the rounding of summed floats (0.1 + 0.2 vs 0.3)."""
    return score >= max_score - 1e-9 * max(1.0, abs(max_score))


@dataclass
class Trimmer:
    """Applies the caps to names and outputs and remembers what it cut, for the teacher's notes."""

    outputs_cut: int = 0
    names_cut: int = 0
    top_output_cut: bool = False
    extra_notes: list[str] = field(default_factory=list)

    def test_output(self, text: str, *, cut: bool = False) -> str:
        text, cut = cap_bytes(text, MAX_TEST_OUTPUT_BYTES, cut=cut)
        self.outputs_cut += cut
        return text

    def top_output(self, text: str) -> str:
        text, cut = cap_bytes(text, MAX_OUTPUT_BYTES)
        self.top_output_cut = self.top_output_cut or cut
        return text

    def test_name(self, name: str) -> str:
        if len(name) <= MAX_NAME_CHARS:
            return clean_text(name)
        self.names_cut += 1
        return clean_text(name[: MAX_NAME_CHARS - 1]) + "…"

    def notes(self, tests_seen: int) -> list[str]:
        notes = list(self.extra_notes)
        if tests_seen > MAX_TESTS:
            notes.append(
                f"the results list {tests_seen} tests; only the first {MAX_TESTS} are kept "
                "(the totals and the verdict count all of them)"
            )
        if self.top_output_cut:
            notes.append(
                f"the top-level output was longer than {MAX_OUTPUT_BYTES // 1024} KiB "
                "and was truncated"
            )
        if self.outputs_cut:
            notes.append(
                f"the output of {_tests(self.outputs_cut)} was longer than "
                f"{MAX_TEST_OUTPUT_BYTES // 1024} KiB and was truncated"
            )
        if self.names_cut:
            notes.append(
                f"the names of {_tests(self.names_cut)} were longer than {MAX_NAME_CHARS} "
                "characters and were shortened"
            )
        return notes


def _tests(count: int) -> str:
    return "1 test" if count == 1 else f"{count} tests"
