"""Result-file parsers: turn what a grader wrote (Gradescope results.json, JUnit XML, TAP on stdout,
or just its exit code) into one `ParsedResults`, treating every byte as untrusted."""

from runner.results.common import (
    MAX_NAME_CHARS,
    MAX_OUTPUT_BYTES,
    MAX_TEST_OUTPUT_BYTES,
    MAX_TESTS,
    ParsedResults,
    ResultsError,
    results_from_exit_code,
)
from runner.results.gradescope import parse_gradescope
from runner.results.junit import parse_junit
from runner.results.tap import TapParser, parse_tap

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_OUTPUT_BYTES",
    "MAX_TESTS",
    "MAX_TEST_OUTPUT_BYTES",
    "ParsedResults",
    "ResultsError",
    "TapParser",
    "parse_gradescope",
    "parse_junit",
    "parse_tap",
    "results_from_exit_code",
]
