#!/usr/bin/env python3
"""Grade a submission with a GitHub Classroom template's autograding tests, as Classroom did.

`pushgrade import classroom` copies this file into the grader image as /grader/run_tests.py (the
image's command is `python3 /grader/run_tests.py`). It runs inside arbitrary teacher base images,
so it is one file, standard library only, Python 3.8+; it is longer than a module of ours should
be because it cannot be split.

Paths (each overridable by an environment variable, for tests):

- PUSHGRADE_CLASSROOM_SUBMISSION (/submission): the student's repository, only read.
- PUSHGRADE_CLASSROOM_GRADER (/grader): holds tests.json and files/, the teacher's test files.
- PUSHGRADE_CLASSROOM_RESULTS (/results): receives results.json.
- PUSHGRADE_CLASSROOM_WORK (/tmp/pushgrade-classroom): scratch space. The work tree (a copy of the
  submission with files/ laid over it) is WORK/workspace, the tests' HOME is WORK/home.

tests.json, written by the converter::

    {"version": 1,
     "tests": [{
       "name": "Test 1",          # non-empty text, shown as is
       "kind": "autograding-json" | "io" | "command" | "python",
       "setup": "…",              # shell command; "" or absent: none
       "run": "…",                # shell command; ignored for kind python
       "input": "…",              # stdin text; "" or absent: none
       "expected": "…",           # expected stdout; "" or absent: none
       "comparison": "included" | "exact" | "regex" | null,  # "contains" is read as "included"
       "timeout_s": 60.0,         # seconds; null: the kind's default (60 for autograding-json,
                                  # 600 for the actions); 0: 60 for autograding-json, no limit
                                  # for the actions (as a 0-minute timeout was in each)
       "setup_timeout_s": null,   # null: setup and run share timeout_s; a number: setup's own
       "points": 10,              # null, 0 or absent: the test runs but counts for nothing
       "env": {"NAME": "value"}   # optional, kind python only: the workflow's env for the step
     }, …]}

Unknown keys are ignored. Anything else wrong (not JSON, another version, no tests, a missing
name or kind, a negative number) is the teacher's to fix: the runner says so on stderr and in a
results.json whose single failing test, "Grader configuration", explains, and exits 2. A missing
submission is reported the same way. A work tree that cannot be prepared (the submission fills
/tmp, say) fails every test with the reason and exits 3. Otherwise the exit status is 0, whatever
the tests did: results.json holds the verdict.

The rules, each from the source that Classroom ran (education/autograding at v1, and the
classroom-resources/autograding-* actions at v1; "js" below means what Node.js does):

- Tests run in order, in one work tree (the checkout every test shared), each step with that as
  its working directory, through /bin/sh -c (node's spawn with shell: true, and execSync, both
  use /bin/sh; bash is never used). A failing or timed-out test never stops the ones after it
  (education/autograding src/runner.ts runAll catches each test's error; each action is a
  workflow step of its own).
- kind autograding-json (education/autograding src/runner.ts):
  - the environment is exactly PATH, HOME, FORCE_COLOR=true, DOTNET_CLI_HOME=/tmp and
    DOTNET_NOLOGO=true;
  - setup, when not empty, must exit 0; then run must exit 0 (a signal fails it too);
  - stdin: the input is written and closed when it is not empty; otherwise stdin is a pipe left
    open, so a program that reads it waits until the time limit (runCommand; runSetup never
    touches stdin, so setup's stays open too);
  - one limit for setup and run together: the run gets what setup left (run());
    `(timeout || 1) * 60000` makes 0 or none one minute;
  - empty input and empty expected output: the exit status alone decides, whatever comparison
    says. Otherwise both stdout and the expected output have CRLF turned into LF and are trimmed
    (js String.prototype.trim), and: "exact" compares them, "regex" searches the trimmed stdout
    for the expected output as given (not trimmed), anything else (included, null, unknown)
    asks whether stdout contains the expected output;
  - points count when truthy, as they are (2.5 stays 2.5); the total is "Points got/available".
- kind io (classroom-resources/autograding-io-grader src/main.js):
  - the same environment as above; every input is trimmed by @actions/core's getInput, and the
    input once more: so setup, command, input and expected output are all trimmed;
  - an empty command, expected output or comparison ("Input required and not supplied"), or a
    comparison other than exact, contains (given as included) and regex, fails the test;
  - setup (stdin empty, execSync with stdio inherit) must exit 0 within the timeout, then the
    command gets the input on stdin (then end of file; with no input, end of file at once:
    node's spawnSync always shuts stdin down) and must exit 0 within the timeout again (each
    has the whole timeout: setup_timeout_s, which the converter sets to it);
  - stdout is trimmed, not CRLF-normalized, and compared: exact (===), contains (includes),
    regex (search);
  - execSync keeps at most 1 MiB (maxBuffer) of stdout and of stderr: more stops the command and
    fails the test; and it waits for the output pipes to close, so a background process that
    keeps them open runs the command into its timeout;
  - max-score is parseInt'ed: 2.5 counts 2, 0.5 counts nothing.
- kind command (classroom-resources/autograding-command-grader src/main.js): as io for the
  environment, trimming, setup and timeouts; stdin is empty (the runner closes the action's); it
  passes on exit status 0; max-score parseInt'ed.
- kind python (classroom-resources/autograding-python-grader bin/run.sh, bin/run.py,
  runner/__init__.py, runner/data.py):
  - a Docker action: the environment is not stripped (the image's, here this process's, less
    PUSHGRADE_*), plus HOME, CI=true, GITHUB_ACTIONS=true, the test's "env", and PYTHONPATH
    "<driver>:$PYTHONPATH", whose empty last entry puts the working directory on sys.path;
  - setup is eval'ed by the same /bin/sh that then starts pytest, so its cd and export carry
    over; its failure is ignored; only pytest is under the timeout (run.sh: timeout around
    run.py alone). Here a setup_timeout_s, when given, bounds setup, and with none setup and
    pytest share timeout_s;
  - pytest.main(["-s", "--tb=no", every *_test.py under the work tree]) in a process whose own
    directory is first on sys.path (run.py); with no such file, pytest's own discovery;
    test items sorted by the line of their definition (ResultsReporter
    pytest_collection_modifyitems); the `task` marker registered;
  - the tests are keyed by pytest's head_line (so two files' test_x are one test); a test
    passes unless a setup, call or teardown report failed (skipped and xfailed tests pass);
  - each passing test earns max-score / the number of tests; max-score must be an integer there
    (argparse type=int): it is truncated here; the caches (.pytest_cache, __pycache__) at the top
    of the work tree are removed afterwards.
- Totals (classroom-resources/autograding-grading-reporter src/notify-classroom.js): the sum of
  the tests' scores over the sum of the max scores of the tests that have one. When no test
  counts, Classroom showed no points: results.json then has no top-level score or max_score.

Where this runner does not follow Classroom, on purpose:

- A test whose setup failed, or whose inputs were refused, keeps its max score (and scores 0):
  the io grader left max_score out of such a result, and the reporter then dropped the test from
  the total; a python grader that timed out, or a reporter fed a broken result, showed no grade
  at all.
- The python grader crashed (pytest INTERNALERROR, 0 points) on parametrized tests and on test
  classes that are not unittest.TestCase; here they run. Its exercism-specific handling of
  subtests named "variation" is not reproduced. A non-integer max-score or timeout broke it; here
  the score is truncated and the timeout taken as given.
- Each step's processes are killed when it ends (after a second's grace for its output) or times
  out: the whole process group, not only the shell. A background process does not outlive its
  step; under Classroom it lived until the job ended.
- autograding-json compares at most 4 MiB of stdout (more fails the test); Classroom kept it all.
- A JavaScript regular expression is translated to Python's re (see translate_js_regex); the
  few constructs Python cannot express (a variable-length lookbehind, say) fail the test with a
  message for the teacher. A JavaScript string is UTF-16, so `.` matched half an emoji there.

The work tree: the submission is copied with its modes (made writable by their owner, set-id bits
dropped) and times; a symlink is kept only while it resolves inside the work tree; special files
are left out. files/ is then laid over it: its files replace the student's at the same paths
(students could edit tests under Classroom, here they cannot), and a student's file or symlink
where files/ has a folder is removed first, so nothing is written through a student's link.

results.json follows Gradescope's schema (runner/results/gradescope.py): a test per Classroom
test, same name, "passed" or "failed", its score and max_score when it counts, and an output for
the student: the commands, the exit status, what was expected and what came out (cut to a few
thousand characters), stderr's tail, a time-out. It is rewritten after every test (tests not yet
run fail as "not run"), so a grader stopped by its time limit still reports what ran. As the
container's first process (PID 1), this runner also kills every process left between tests and
before writing results, and clears the results folder, so a student's program cannot leave a
results file of its own; it cannot be traced (not dumpable) nor interrupted by SIGINT.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field

KINDS = ("autograding-json", "io", "command", "python")
ACTION_KINDS = ("io", "command", "python")
DEFAULT_TIMEOUT_S = {"autograding-json": 60.0, "io": 600.0, "command": 600.0, "python": 600.0}
COMPARISONS = {"included": "included", "contains": "included", "exact": "exact", "regex": "regex"}
NODE_ENV = {"FORCE_COLOR": "true", "DOTNET_CLI_HOME": "/tmp", "DOTNET_NOLOGO": "true"}  # noqa: S108 -- the value Classroom's runners set
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL = "/bin/sh"

KEEP_BYTES = 64 * 1024  # of each stream of each step, for the student's output
COMPARE_BYTES = 4 * 1024 * 1024  # of stdout, for an autograding-json comparison
NODE_MAX_BUFFER = 1024 * 1024  # execSync's maxBuffer (the io grader)
DRAIN_SECONDS = 1.0  # for a step's output after its shell ended
SHOWN_CHARS = 3000  # of an expected or actual output, or a stream's tail, in a test's output
OUTPUT_CHARS = 60000  # of a test's output in results.json (pushgrade keeps 64 KiB)
CONFIG_TEST = "Grader configuration"
PR_SET_DUMPABLE = 4
PID_1 = os.getpid() == 1  # in the container; never kill everything on a teacher's machine

# What String.prototype.trim removes: WhiteSpace and LineTerminator (ECMA-262).
JS_TRIM = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
JS_TRIM += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# The same set as a character class body for Python's re: JavaScript's \s.
JS_SPACE = r"\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
JS_DOT = r"[^\n\r\u2028\u2029]"


class SuiteError(Exception):
    """tests.json or the paths it needs are unusable; the message is for the teacher."""


class JsRegexError(ValueError):
    """A JavaScript regular expression that is invalid, or that Python's re cannot express."""


# ---------------------------------------------------------------------------------------------
# tests.json


@dataclass(frozen=True)
class ClassroomTest:
    name: str
    kind: str
    setup: str = ""
    run: str = ""
    input: str = ""
    expected: str = ""
    comparison: str | None = None
    timeout_s: float | None = None
    setup_timeout_s: float | None = None
    points: float | None = None
    env: dict = field(default_factory=dict)


def load_suite(path: str) -> list[ClassroomTest]:
    """The tests of a tests.json; raises SuiteError naming the file and the field."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise SuiteError(f"{path} does not exist: the grader image lacks its tests") from None
    except OSError as error:
        raise SuiteError(f"{path} cannot be read: {error.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SuiteError(f"{path} is not UTF-8 text") from None
    except ValueError as error:
        raise SuiteError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise SuiteError(f"{path} is nested too deeply") from None
    if not isinstance(document, dict):
        raise SuiteError(f"{path} holds {_kind_of(document)}, not an object")
    if document.get("version") != 1:
        raise SuiteError(
            f"{path}: version is {json.dumps(document.get('version'))}, not 1 "
            "(a runner from another pushgrade release?)"
        )
    raw_tests = document.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        raise SuiteError(f"{path}: tests must be a non-empty list")
    return [_read_test(path, index, raw) for index, raw in enumerate(raw_tests)]


def _read_test(path: str, index: int, raw: object) -> ClassroomTest:
    where = f"{path}: tests[{index}]"
    if not isinstance(raw, dict):
        raise SuiteError(f"{where} is {_kind_of(raw)}, not an object")

    def text(key: str, required: bool = False) -> str:
        value = raw.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise SuiteError(f"{where}.{key} must be {'non-empty ' if required else ''}text")
        return value

    def number(key: str) -> float | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SuiteError(f"{where}.{key} must be a number or null")
        if not math.isfinite(value) or value < 0:
            raise SuiteError(f"{where}.{key} must be a finite number, 0 or more")
        return value

    kind = raw.get("kind")
    if kind not in KINDS:
        raise SuiteError(f"{where}.kind is {json.dumps(kind)}, not one of {', '.join(KINDS)}")
    comparison = raw.get("comparison")
    if comparison is not None and not isinstance(comparison, str):
        raise SuiteError(f"{where}.comparison must be text or null")
    env = raw.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise SuiteError(f"{where}.env must map names to text")
    return ClassroomTest(
        name=text("name", required=True),
        kind=kind,
        setup=text("setup"),
        run=text("run"),
        input=text("input"),
        expected=text("expected"),
        comparison=comparison,
        timeout_s=number("timeout_s"),
        setup_timeout_s=number("setup_timeout_s"),
        points=number("points"),
        env=dict(env),
    )


def _kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)[:40]


def counted_points(test: ClassroomTest) -> float | None:
    """The points the test is worth, or None when it counts for nothing.

    autograding.json counts truthy points as given; the actions parseInt their max-score."""
    if not test.points:
        return None
    if test.kind in ACTION_KINDS:
        return math.trunc(test.points) or None
    return test.points


def run_limit(test: ClassroomTest) -> float | None:
    """The run's (or, shared, setup and run's) limit in seconds; None: no limit."""
    limit = test.timeout_s
    if limit is None:
        return DEFAULT_TIMEOUT_S[test.kind]
    if limit == 0:
        return 60.0 if test.kind == "autograding-json" else None
    return limit


def setup_limit(test: ClassroomTest) -> float | None:
    """Setup's own limit, when it has one (setup_timeout_s given): None means no limit."""
    if test.setup_timeout_s is None:
        return run_limit(test)
    return test.setup_timeout_s or None


# ---------------------------------------------------------------------------------------------
# JavaScript's strings and regular expressions


def js_trim(text: str) -> str:
    return text.strip(JS_TRIM)


def normalize_line_endings(text: str) -> str:
    """education/autograding's normalizeLineEndings: CRLF to LF, then trim."""
    return js_trim(text.replace("\r\n", "\n"))


_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_GROUP_NAME = re.compile(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>")
_CLASS_ESCAPES = ("\\d", "\\D", "\\w", "\\W", "\\s", "\\S")


def translate_js_regex(pattern: str) -> str:
    """A Python re pattern (to compile with re.ASCII) matching what `new RegExp(pattern)`
    matches in JavaScript, without flags and without the u flag.

    The differences handled: \\d, \\w and \\b are ASCII (re.ASCII) but \\s is Unicode's spaces
    and U+FEFF; `.` stops at \\r, U+2028 and U+2029 too; `$` is the end of the text only (not
    before a final newline); named groups (?<n>…) and \\k<n>; [] never matches and [^] matches
    anything; a `{` that is not a quantifier is literal ({,3} too); an escaped letter with no
    meaning is the letter (\\e, \\A, \\Z); \\cX, legacy octal escapes, \\8 and \\9; a UTF-16
    surrogate pair \\uD83D\\uDE00 is one character; a - next to a class escape ([\\d-z]) is
    literal; \\B matches an empty text; a backreference to a group that has not matched (or
    not closed yet) matches the empty string. Python-only syntax (inline flags, possessive
    quantifiers, (?P…)) is refused as JavaScript refuses it."""
    groups = _Groups(pattern)
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            piece, i = _escape(pattern, i, groups, in_class=False)
            out.append(piece)
        elif c == "[":
            piece, i = _char_class(pattern, i)
            out.append(piece)
        elif c == "(":
            piece, i = _group_opening(pattern, i)
            groups.open(piece)
            out.append(piece)
        elif c == ")":
            groups.close()
            out.append(c)
            i += 1
        elif c == ".":
            out.append(JS_DOT)
            i += 1
        elif c == "$":
            out.append(r"\Z")
            i += 1
        elif c in "*+?" or (c == "{" and _QUANTIFIER.match(pattern, i)):
            piece, i = _quantifier(pattern, i)
            out.append(piece)
        elif c in "{}":
            out.append("\\" + c)
            i += 1
        elif c in "^|":
            out.append(c)
            i += 1
        else:
            out.append(_literal(c))
            i += 1
    return "".join(out)


class _Groups:
    """A pattern's capturing groups: their names, and which have closed so far."""

    def __init__(self, pattern: str):
        self.count, self.names = _capturing_groups(pattern)
        self.closed: set[int] = set()
        self.stack: list[int | None] = []
        self.opened = 0

    def open(self, piece: str) -> None:
        capturing = piece == "(" or piece.startswith("(?P<")
        if capturing:
            self.opened += 1
        self.stack.append(self.opened if capturing else None)

    def close(self) -> None:
        if not self.stack:
            raise JsRegexError("unmatched )")
        number = self.stack.pop()
        if number is not None:
            self.closed.add(number)

    def reference(self, number: int) -> str:
        """JavaScript's backreference: the empty string while the group has not matched."""
        if number not in self.closed:
            return "(?:)"
        return f"(?:(?({number})\\{number}|))"


def _capturing_groups(pattern: str) -> tuple[int, dict[str, int]]:
    count, names, i, in_class = 0, {}, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):
                in_class = False  # [] and [^]: the ] closes it
                i += 2 if pattern.startswith("]", i + 1) else 3
                continue
        elif c == "(":
            named = _GROUP_NAME.match(pattern, i)
            if named:
                if named.group(1) in names:
                    raise JsRegexError(f"duplicate capture group name {named.group(1)}")
                count += 1
                names[named.group(1)] = count
            elif not pattern.startswith("(?", i):
                count += 1
        i += 1
    return count, names


def _group_opening(pattern: str, i: int) -> tuple[str, int]:
    for opening in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
        if pattern.startswith(opening, i):
            return opening, i + len(opening)
    named = _GROUP_NAME.match(pattern, i)
    if named:
        return f"(?P<{named.group(1)}>", named.end()
    if pattern.startswith("(?", i):
        raise JsRegexError(f"invalid group {pattern[i : i + 3]!r}")
    return "(", i + 1


def _quantifier(pattern: str, i: int) -> tuple[str, int]:
    match = _QUANTIFIER.match(pattern, i) if pattern[i] == "{" else None
    if match:
        low, comma, high = match.group(1), match.group(2), match.group(3)
        if high and int(high) < int(low):
            raise JsRegexError("numbers out of order in {} quantifier")
        piece, i = "{" + low + (comma or "") + "}", match.end()
    else:
        piece, i = pattern[i], i + 1
    if pattern.startswith("?", i):  # lazy
        piece, i = piece + "?", i + 1
    if i < len(pattern) and (pattern[i] in "*+?" or _QUANTIFIER.match(pattern, i)):
        raise JsRegexError("nothing to repeat (a quantifier after a quantifier)")
    return piece, i


def _escape(pattern: str, i: int, groups: _Groups | None, *, in_class: bool) -> tuple[str, int]:
    """The Python form of the escape at pattern[i] (a backslash), and where it ends."""
    if i + 1 >= len(pattern):
        raise JsRegexError("\\ at end of pattern")
    c = pattern[i + 1]
    end = i + 2
    if c in "dDwW":
        return "\\" + c, end
    if c == "s":
        return (JS_SPACE if in_class else f"[{JS_SPACE}]"), end
    if c == "S":
        return f"[^{JS_SPACE}]", end  # (inside a class, _char_class handles it)
    if c == "b":
        return (r"\x08" if in_class else r"\b"), end
    if c == "B":  # (Python's \B never matches an empty text)
        return ("B" if in_class else r"(?:(?<=\w)(?=\w)|(?<!\w)(?!\w))"), end
    simple = {"t": r"\t", "n": r"\n", "v": r"\x0b", "f": r"\x0c", "r": r"\r"}
    if c in simple:
        return simple[c], end
    if "0" <= c <= "9":
        digits = re.match(r"[0-9]+", pattern[i + 1 :]).group(0)
        if c != "0" and groups is not None and int(digits) <= groups.count:
            return groups.reference(int(digits)), i + 1 + len(digits)
        if c in "89":
            return c, end
        # A legacy octal escape: up to three octal digits, at most \377.
        octal = re.match(r"[0-7]{1,3}", pattern[i + 1 :]).group(0)
        while int(octal, 8) > 0o377:
            octal = octal[:-1]
        return _literal(chr(int(octal, 8))), i + 1 + len(octal)
    if c == "c":
        letter = pattern[i + 2 : i + 3]
        allowed = letter.isascii() and (letter.isalpha() or (in_class and letter in "0123456789_"))
        if letter and allowed:
            return _literal(chr(ord(letter) % 32)), i + 3
        return r"\\", i + 1  # a lone backslash, then the c as itself
    if c == "x":
        hexa = pattern[i + 2 : i + 4]
        if re.fullmatch(r"[0-9A-Fa-f]{2}", hexa):
            return _literal(chr(int(hexa, 16))), i + 4
        return "x", end
    if c == "u":
        hexa = pattern[i + 2 : i + 6]
        if not re.fullmatch(r"[0-9A-Fa-f]{4}", hexa):
            return "u", end
        code, end = int(hexa, 16), i + 6
        low = re.match(r"\\u(d[c-f][0-9a-f]{2})", pattern[end : end + 6], re.IGNORECASE)
        if 0xD800 <= code <= 0xDBFF and low:
            code = 0x10000 + ((code - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
            end += 6
        return _literal(chr(code)), end
    if c == "k" and groups is not None and groups.names:
        reference = re.match(r"<([A-Za-z_][A-Za-z0-9_]*)>", pattern[end:])
        if not reference or reference.group(1) not in groups.names:
            raise JsRegexError("invalid named reference")
        return groups.reference(groups.names[reference.group(1)]), end + reference.end()
    return _literal(c), end  # identity escapes: \/ \. \e \A …


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """The Python form of the character class starting at pattern[i] ("["), and its end."""
    j, n = i + 1, len(pattern)
    negated = pattern.startswith("^", j)
    j += negated
    if pattern.startswith("]", j):
        return (r"[\s\S]" if negated else "(?!)"), j + 1
    items: list[str] = []
    non_space = False  # holds \S, which a Python class cannot hold with JavaScript's meaning
    after_class_escape = False
    while True:
        if j >= n:
            raise JsRegexError("unterminated character class")
        c = pattern[j]
        if c == "]":
            j += 1
            break
        is_class_escape = pattern.startswith(_CLASS_ESCAPES, j)
        if pattern.startswith("\\S", j):
            non_space, j = True, j + 2
        elif c == "\\":
            piece, j = _escape(pattern, j, None, in_class=True)
            items.append(piece)
        elif c == "-":
            edge = (not items and not non_space) or pattern.startswith("]", j + 1)
            escape_next = pattern.startswith(_CLASS_ESCAPES, j + 1)
            items.append(r"\-" if edge or after_class_escape or escape_next else "-")
            j += 1
        else:
            items.append(_literal(c))
            j += 1
        after_class_escape = is_class_escape
    body = "".join(items)
    if not non_space:
        return f"[{'^' if negated else ''}{body}]", j
    if not negated:
        return (f"(?:[{body}]|[^{JS_SPACE}])" if body else f"[^{JS_SPACE}]"), j
    # [^…\S]: a space that is not one of the others.
    return (f"(?:(?![{body}])[{JS_SPACE}])" if body else f"[{JS_SPACE}]"), j


def _literal(char: str) -> str:
    """One character, matched as itself inside or outside a class."""
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02x}"
    if char in "&~|[":  # literal in JavaScript; Python warns of future set operations
        return "\\" + char
    return re.escape(char)


def compile_js_regex(pattern: str) -> re.Pattern:
    translated = translate_js_regex(pattern)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(translated, re.ASCII)
    except re.error as error:
        raise JsRegexError(f"{error} (in pushgrade's translation {translated!r})") from None
    except (RecursionError, OverflowError):
        raise JsRegexError("it is too complex") from None


def js_regex_search(pattern: str, text: str) -> bool:
    return compile_js_regex(pattern).search(text) is not None


def autograding_json_matches(comparison: str | None, expected: str, stdout: str) -> bool:
    """education/autograding's runCommand comparison (the test has an input or an output)."""
    actual = normalize_line_endings(stdout)
    if comparison == "exact":
        return actual == normalize_line_endings(expected)
    if comparison == "regex":
        return js_regex_search(expected, actual)  # the pattern as given, not trimmed
    return normalize_line_endings(expected) in actual  # included, and any other value


def io_matches(method: str, expected: str, stdout: str) -> bool:
    """The io grader's compareOutput; expected was trimmed by getInput, stdout is trimmed here."""
    actual = js_trim(stdout)
    if method == "exact":
        return actual == expected
    if method == "regex":
        return js_regex_search(expected, actual)
    return expected in actual


def js_number(value: float) -> str:
    """A number as JavaScript prints it, for the common cases (5, not 5.0)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


# ---------------------------------------------------------------------------------------------
# Running one step: a shell command, in its own session, within a limit


OPEN_STDIN = "open"  # a pipe never written nor closed (autograding.json with no input)


@dataclass
class Step:
    """What one process did."""

    exit_code: int | None = None  # None: it did not end by itself, or by a signal
    signal: int | None = None
    timed_out: bool = False
    overflow: bool = False  # a stream passed max_buffer and the step was stopped
    stdout: bytes = b""  # its first keep_stdout bytes
    stdout_tail: bytes = b""  # its last KEEP_BYTES
    stdout_bytes: int = 0
    stderr: bytes = b""  # its last KEEP_BYTES
    stderr_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None  # it could not be started
    marker: str | None = None  # the marker file's content, once it appeared

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.overflow

    def text(self) -> str:
        return decode(self.stdout)


def decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def run_step(
    argv: list[str],
    *,
    cwd: str,
    env: dict,
    stdin: bytes | str | None,
    limit: float | None,
    keep_stdout: int = KEEP_BYTES,
    max_buffer: int | None = None,
    wait_for_pipes: bool = False,
    marker: str | None = None,
    marker_limit: float | None = None,
) -> Step:
    """Run argv; stdin is bytes (written, then closed), OPEN_STDIN, or None (empty).

    limit counts from the start. Once the file `marker` appears, the limit becomes marker_limit
    from then (math.inf: none), or stays as it was if marker_limit is None. wait_for_pipes waits
    for the output pipes to close after the process ended (up to the limit), as execSync does;
    otherwise a second. Then the step's whole process group is killed."""
    step = Step()
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        step.error = f"could not start {argv[0]}: {error.strerror or error}"
        return step
    feeder = None
    if isinstance(stdin, bytes):
        feeder = threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True)
        feeder.start()
    out, tail, err = bytearray(), bytearray(), bytearray()
    deadline = start + limit if limit is not None else None
    ended_at = None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, "out")
        selector.register(process.stderr, selectors.EVENT_READ, "err")
        while True:
            now = time.monotonic()
            if marker is not None and step.marker is None:
                step.marker = _read_marker(marker)
                if step.marker is not None and marker_limit is not None:
                    deadline = now + marker_limit if math.isfinite(marker_limit) else None
            if ended_at is None and process.poll() is not None:
                ended_at = now
            # After the shell ended: execSync waits for its pipes, up to the limit; else a grace.
            holding = ended_at is None or (wait_for_pipes and deadline is not None)
            if ended_at is not None:
                if not selector.get_map():
                    break
                if not holding and now - ended_at >= DRAIN_SECONDS:
                    break
            if holding and deadline is not None and now >= deadline:
                step.timed_out = True
                break
            wait = 0.05
            if holding and deadline is not None:
                wait = max(0.0, min(wait, deadline - now))
            if not selector.get_map():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(wait)
                continue
            for key, _ in selector.select(wait):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.data == "out":
                    step.stdout_bytes += len(chunk)
                    if len(out) < keep_stdout:
                        out += chunk[: keep_stdout - len(out)]
                    _keep_tail(tail, chunk)
                else:
                    step.stderr_bytes += len(chunk)
                    _keep_tail(err, chunk)
            if max_buffer is not None and max(step.stdout_bytes, step.stderr_bytes) > max_buffer:
                step.overflow = True
                break
        _stop(process)
        _drain(selector, tail, err)
    for pipe in (process.stdout, process.stderr):
        with contextlib.suppress(OSError):
            pipe.close()
    if feeder is not None:
        feeder.join(1.0)
    elif process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    step.seconds = (ended_at if ended_at is not None else time.monotonic()) - start
    if ended_at is not None and not step.timed_out and not step.overflow:
        code = process.returncode
        step.exit_code, step.signal = (code, None) if code >= 0 else (None, -code)
    step.stdout, step.stdout_tail, step.stderr = bytes(out), bytes(tail), bytes(err)
    if marker is not None and step.marker is None:
        step.marker = _read_marker(marker)
    return step


def _feed(pipe, data: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):  # it may end without reading it all
        pipe.write(data)
    with contextlib.suppress(OSError, ValueError):
        pipe.close()


def _keep_tail(buffer: bytearray, chunk: bytes) -> None:
    buffer += chunk
    if len(buffer) > KEEP_BYTES:
        del buffer[: len(buffer) - KEEP_BYTES]


def _stop(process: subprocess.Popen) -> None:
    """Kill the step's process group (the shell and whatever it started), and reap the shell."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        print(f"pushgrade: process {process.pid} survived SIGKILL", file=sys.stderr)


def _drain(selector: selectors.BaseSelector, tail: bytearray, err: bytearray) -> None:
    """Read what the killed processes left in the pipes; a process that left the group may
    still hold them, so only briefly."""
    until = time.monotonic() + 0.2
    while selector.get_map() and time.monotonic() < until:
        for key, _ in selector.select(0.05):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
            else:
                _keep_tail(tail if key.data == "out" else err, chunk)


def _read_marker(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# The kinds


@dataclass
class Verdict:
    passed: bool
    score: float = 0.0  # of counted_points
    lines: list[str] = field(default_factory=list)
    reason: str = ""  # one line, for the log


@dataclass
class Context:
    workspace: str
    home: str
    scratch: str  # for the python driver's files
    index: int = 0

    def node_env(self) -> dict:
        """The environment Classroom's node runners gave every command."""
        return {"PATH": os.environ.get("PATH") or DEFAULT_PATH, "HOME": self.home, **NODE_ENV}

    def shell(self, command: str, **options) -> Step:
        options.setdefault("env", self.node_env())
        return run_step([SHELL, "-c", command], cwd=self.workspace, **options)


def grade(test: ClassroomTest, context: Context) -> Verdict:
    runner = {
        "autograding-json": grade_autograding_json,
        "io": grade_io,
        "command": grade_command,
        "python": grade_python,
    }[test.kind]
    verdict = runner(test, context)
    points = counted_points(test)
    if test.kind != "python":
        verdict.score = points if (verdict.passed and points) else 0
    return verdict


def grade_autograding_json(test: ClassroomTest, context: Context) -> Verdict:
    lines: list[str] = []
    budget = run_limit(test)
    shared = test.setup_timeout_s is None
    left = budget
    if test.setup:
        step = context.shell(test.setup, stdin=OPEN_STDIN, limit=setup_limit(test))
        lines += describe_step("Setup", test.setup, step, setup_limit(test), shared)
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        if not step.ok:
            return Verdict(False, lines=lines, reason=failure_reason("setup", step))
        if shared and budget is not None:
            left = budget - math.floor(step.seconds * 1000) / 1000
    if left is not None and left <= 0:
        lines.append(f"$ {test.run}")
        lines.append(f"Timed out: setup used the whole limit of {js_number(budget)} s.")
        return Verdict(False, lines=lines, reason="timed out")
    stdin = test.input.encode("utf-8") if test.input else OPEN_STDIN
    step = context.shell(test.run, stdin=stdin, limit=left, keep_stdout=COMPARE_BYTES)
    lines += describe_step("Run", test.run, step, budget, shared and bool(test.setup), test.input)
    if not step.ok:
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        return Verdict(False, lines=lines, reason=failure_reason("command", step))
    if not test.expected and not test.input:
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        return Verdict(True, lines=lines, reason="exit status 0")
    if step.stdout_bytes > COMPARE_BYTES:
        lines.append(f"It printed {step.stdout_bytes} bytes: pushgrade compares at most 4 MiB.")
        return Verdict(False, lines=lines, reason="too much output")
    comparison = COMPARISONS.get(test.comparison or "", "included")
    try:
        matched = autograding_json_matches(comparison, test.expected, step.text())
    except JsRegexError as error:
        lines.append(regex_problem(test.expected, error))
        return Verdict(False, lines=lines, reason="invalid regular expression")
    shown = test.expected if comparison == "regex" else normalize_line_endings(test.expected)
    actual = normalize_line_endings(step.text())
    note = (
        "both trimmed, CRLF read as LF" if comparison != "regex" else "stdout trimmed, CRLF as LF"
    )
    lines += comparison_lines(matched, comparison, shown, actual, note)
    lines += stream_lines("Stderr", step, stderr=True)
    return Verdict(matched, lines=lines, reason="" if matched else "the output did not match")


def grade_io(test: ClassroomTest, context: Context) -> Verdict:
    command, expected = js_trim(test.run), js_trim(test.expected)
    given = js_trim(test.input)
    method = COMPARISONS.get(js_trim(test.comparison or ""))
    refused = None
    if not command:
        refused = "Input required and not supplied: command"
    elif not expected:
        refused = "Input required and not supplied: expected-output (it cannot be empty)"
    elif not js_trim(test.comparison or ""):
        refused = "Input required and not supplied: comparison-method"
    elif method is None:
        refused = f"Invalid comparison method: {test.comparison} (exact, contains or regex)"
    if refused:
        return Verdict(False, lines=[refused], reason=refused)
    lines, ok = run_action_setup(test, context)
    if not ok:
        return Verdict(False, lines=lines, reason="the setup command failed")
    step = context.shell(
        command,
        stdin=given.encode("utf-8"),
        limit=run_limit(test),
        keep_stdout=NODE_MAX_BUFFER,
        max_buffer=NODE_MAX_BUFFER,
        wait_for_pipes=True,
    )
    lines += describe_step("Run", command, step, run_limit(test), False, given)
    if step.overflow:
        lines.append("It printed more than 1 MiB (the io grader's limit) and was stopped.")
        return Verdict(False, lines=lines, reason="too much output")
    if not step.ok:
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        return Verdict(False, lines=lines, reason=failure_reason("command", step))
    try:
        matched = io_matches(method, expected, step.text())
    except JsRegexError as error:
        lines.append(regex_problem(expected, error))
        return Verdict(False, lines=lines, reason="invalid regular expression")
    lines += comparison_lines(matched, method, expected, js_trim(step.text()), "stdout trimmed")
    lines += stream_lines("Stderr", step, stderr=True)
    return Verdict(matched, lines=lines, reason="" if matched else "the output did not match")


def grade_command(test: ClassroomTest, context: Context) -> Verdict:
    command = js_trim(test.run)
    if not command:
        refused = "Input required and not supplied: command"
        return Verdict(False, lines=[refused], reason=refused)
    lines, ok = run_action_setup(test, context)
    if not ok:
        return Verdict(False, lines=lines, reason="the setup command failed")
    step = context.shell(command, stdin=None, limit=run_limit(test))
    lines += describe_step("Run", command, step, run_limit(test), False)
    lines += stream_lines("Output", step)
    if not step.ok:
        lines += stream_lines("Stderr", step, stderr=True)
        return Verdict(False, lines=lines, reason=failure_reason("command", step))
    lines += stream_lines("Stderr", step, stderr=True)
    return Verdict(True, lines=lines, reason="exit status 0")


def run_action_setup(test: ClassroomTest, context: Context) -> tuple[list[str], bool]:
    """The io and command graders' setup: execSync, stdin empty, the whole timeout."""
    setup = js_trim(test.setup)
    if not setup:
        return [], True
    limit = setup_limit(test)
    step = context.shell(setup, stdin=None, limit=limit)
    lines = describe_step("Setup", setup, step, limit, False)
    lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
    return lines, step.ok


# The python grader's bin/run.sh, in short: setup eval'ed, then pytest in the same shell. The
# marker file says when pytest starts (and setup's exit status), so its own limit can start.
PYTHON_SCRIPT = """\
__pushgrade_setup=$1 __pushgrade_marker=$2 __pushgrade_driver=$3 __pushgrade_result=$4
shift 4
__pushgrade_status=none
if [ -n "$__pushgrade_setup" ]; then
  echo "Running setup command: $__pushgrade_setup"
  eval "$__pushgrade_setup"
  __pushgrade_status=$?
fi
echo "$__pushgrade_status" > "$__pushgrade_marker"
exec python3 "$__pushgrade_driver" "$__pushgrade_result"
"""

# Run by the image's python3 with pytest installed, as the python grader's bin/run.py ran its
# runner: ResultsReporter's rules, without its crashes.
PYTEST_DRIVER = r'''
"""pushgrade's Classroom runner: pytest as autograding-python-grader ran it."""
import ast
import json
import os
import re
import shutil
import sys
from pathlib import Path


class Reporter:
    def __init__(self):
        self.tests = {}
        self.sources = {}

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "task(taskno): this marks the exercise task number.")

    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            name = ".".join(item.nodeid.split("::")[1:])
            for mark in item.iter_markers(name="task"):
                self.tests[name] = {"status": "pass", "message": None,
                                    "task": mark.kwargs.get("taskno", 0)}
        items.sort(key=self.line_of)

    def line_of(self, item):
        parts = item.nodeid.split("::")
        path = str(getattr(item, "fspath", parts[0]))
        if path not in self.sources:
            self.sources[path] = definitions(path)
        key = tuple(re.sub(r"\[.*$", "", part) for part in parts[1:])
        line = self.sources[path].get(key)
        if line is None:
            line = (item.location[1] or 0) + 1
        return line

    def pytest_runtest_logreport(self, report):
        name = report.head_line or ".".join(report.nodeid.split("::")[1:])
        state = self.tests.setdefault(name, {"status": "pass", "message": None, "task": 0})
        if report.passed and report.when != "call":
            return
        if state["status"] != "pass":
            return
        if report.failed:
            state["status"] = "fail" if report.when == "call" else "error"
            state["message"] = message_of(report)

    def results(self):
        tests = sorted(self.tests.items(), key=lambda entry: entry[1]["task"] or 0)
        shown = re.compile(r"^(.+)(Test\.test_)")
        return [
            {"name": shown.sub(r"\1 > ", name).replace("_", " "), "status": state["status"],
             "message": state["message"]}
            for name, state in tests
        ]


def definitions(path):
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), path)
    except (OSError, SyntaxError, ValueError):
        return {}
    found = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, prefix + (child.name,))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(prefix + (child.name,), child.lineno)

    visit(tree, ())
    return found


def message_of(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)[:2000]
    return str(report.longrepr or "")[-2000:] or None


def write(path, document):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file)


def main():
    result = sys.argv[1]
    try:
        import pytest
    except ImportError as error:
        write(result, {"error": "pytest cannot be imported (%s): the image needs it" % error})
        return 1
    files = []
    for root, _dirs, names in os.walk("./"):
        files += [str(Path(root) / name) for name in names if name.endswith("_test.py")]
    reporter = Reporter()
    status = pytest.main(["-s", "--tb=no"] + sorted(files), plugins=[reporter])
    write(result, {"exit_status": int(status), "tests": reporter.results()})
    for cache in (".pytest_cache", "__pycache__"):
        if os.path.isdir(cache):
            shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

PYTEST_EXIT = {
    1: "some tests failed",
    2: "pytest was interrupted (a test file could not be collected?)",
    3: "pytest hit an internal error",
    4: "pytest was used wrongly",
    5: "pytest found no tests",
}


def grade_python(test: ClassroomTest, context: Context) -> Verdict:
    driver_dir = os.path.join(context.scratch, "pytest")
    os.makedirs(driver_dir, exist_ok=True)
    driver = os.path.join(driver_dir, "pushgrade_classroom_pytest.py")
    with open(driver, "w", encoding="utf-8") as file:  # afresh: earlier tests ran student code
        file.write(PYTEST_DRIVER)
    result = os.path.join(driver_dir, f"result-{context.index}.json")
    marker = os.path.join(driver_dir, f"started-{context.index}")
    for stale in (result, marker):
        with contextlib.suppress(FileNotFoundError):
            os.remove(stale)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGRADE_")}
    env.update(HOME=context.home, CI="true", GITHUB_ACTIONS="true")
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(test.env)
    env["PYTHONPATH"] = f"{driver_dir}:{env.get('PYTHONPATH', '')}"
    limit = run_limit(test)
    shared = test.setup_timeout_s is None
    step = run_step(
        [SHELL, "-c", PYTHON_SCRIPT, "sh", test.setup, marker, driver, result],
        cwd=context.workspace,
        env=env,
        stdin=None,
        limit=limit if shared else setup_limit(test),
        marker=marker,
        marker_limit=None if shared else (limit if limit is not None else math.inf),
    )
    lines = [f"Setup: $ {test.setup}"] if test.setup else []
    lines.append("Run: $ pytest -s --tb=no <every *_test.py>")
    points = counted_points(test) or 0
    if step.error:
        lines.append(step.error)
        return Verdict(False, lines=lines, reason=step.error)
    if test.setup and step.marker not in (None, "none", "0", ""):
        lines.append(f"The setup command exited with status {step.marker} (Classroom went on).")
    if step.timed_out:
        started = step.marker is not None
        what = "pytest" if started else "the setup command"
        seconds = limit if started or shared else setup_limit(test)
        share = " (setup and pytest share it)" if shared and test.setup else ""
        lines.append(f"Timed out: {what} was stopped after {js_number(seconds or 0)} s{share}.")
        lines += stream_lines("Output", step)
        return Verdict(False, lines=lines, reason="timed out")
    if step.marker is None:
        lines.append(f"The setup command ended the shell ({exit_text(step)}) before pytest ran.")
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        return Verdict(False, lines=lines, reason="setup ended the run")
    report = _read_json(result)
    if (
        not isinstance(report, dict)
        or "error" in report
        or not isinstance(report.get("tests"), list)
    ):
        problem = report.get("error") if isinstance(report, dict) else None
        lines.append(problem or f"pytest ended without reporting its tests ({exit_text(step)}).")
        lines += stream_lines("Output", step) + stream_lines("Stderr", step, stderr=True)
        return Verdict(False, lines=lines, reason=problem or "pytest did not report")
    tests = [t for t in report["tests"] if isinstance(t, dict)]
    share = points / len(tests) if tests else 0
    score, passed = 0.0, 0
    for entry in tests:
        good = entry.get("status") == "pass"
        passed += good
        score += share if good else 0
        message = f": {_one_line(entry['message'])}" if entry.get("message") and not good else ""
        lines.append(f"{'✅' if good else '❌'} {entry.get('name')}{message}")
    status = report.get("exit_status")
    if status in PYTEST_EXIT and (status != 1 or not tests):
        lines.append(f"pytest exit status {status}: {PYTEST_EXIT[status]}.")
    lines.append(f"{passed} of {len(tests)} tests passed.")
    lines += stream_lines("Output", step)
    all_passed = bool(tests) and passed == len(tests)
    reason = f"{passed}/{len(tests)} pytest tests passed"
    return Verdict(all_passed, score=score if points else 0, lines=lines, reason=reason)


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError, RecursionError):
        return None


# ---------------------------------------------------------------------------------------------
# What a test's output says


def exit_text(step: Step) -> str:
    if step.signal is not None:
        name = _signal_name(step.signal)
        return f"killed by signal {step.signal}{f' ({name})' if name else ''}"
    return f"exit status {step.exit_code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return ""


def failure_reason(what: str, step: Step) -> str:
    if step.error:
        return step.error
    if step.timed_out:
        return f"the {what} timed out"
    return f"the {what} failed ({exit_text(step)})"


def describe_step(
    label: str,
    command: str,
    step: Step,
    limit: float | None,
    shared: bool,
    given: str = "",
) -> list[str]:
    lines = [f"{label}: $ {command}"]
    if given:
        lines.append("Input:\n" + clip(given))
    if step.error:
        lines.append(step.error)
    elif step.timed_out:
        share = " (setup and command share it)" if shared else ""
        lines.append(f"Timed out after {js_number(limit or 0)} s{share}: it was stopped.")
    elif not step.overflow:
        said = exit_text(step)
        lines.append(said[0].upper() + said[1:] + ".")
    return lines


HOW = {
    "exact": "equal the expected output",
    "regex": "match the regular expression",
    "included": "contain the expected output",
}


def comparison_lines(
    matched: bool, comparison: str, expected: str, actual: str, note: str
) -> list[str]:
    verdict = "The output matched" if matched else "The output did not match"
    how = HOW[comparison]
    return [
        f"{verdict}: it must {how} ({note}).",
        "Expected:\n" + clip(expected),
        "Actual:\n" + clip(actual),
    ]


def stream_lines(label: str, step: Step, *, stderr: bool = False) -> list[str]:
    data, total = (
        (step.stderr, step.stderr_bytes) if stderr else (step.stdout_tail, step.stdout_bytes)
    )
    text = decode(data).rstrip()
    if not text:
        return []
    if total > len(data) or len(text) > SHOWN_CHARS:
        return [f"{label} (its end):\n…" + text[-SHOWN_CHARS:]]
    return [f"{label}:\n{text}"]


def regex_problem(pattern: str, error: JsRegexError) -> str:
    return (
        f"The expected output {clip(pattern, 200)!r} is not a regular expression pushgrade can "
        f"check: {error}. (The teacher must fix it.)"
    )


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more characters)"


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return clip(line, 300)


# ---------------------------------------------------------------------------------------------
# The work tree


def prepare_work_tree(submission: str, files: str, work: str) -> tuple[str, str, list[str]]:
    """Copy the submission to WORK/workspace, lay files/ over it; (workspace, home, notes)."""
    workspace, home = os.path.join(work, "workspace"), os.path.join(work, "home")
    os.makedirs(work, exist_ok=True)
    for old in (workspace, home, os.path.join(work, "pytest")):
        if os.path.lexists(old):
            remove_tree(old)
    os.makedirs(home)
    notes: list[str] = []
    os.mkdir(workspace)
    copy_tree(submission, workspace, overlay=False, notes=notes)
    if os.path.isdir(files):
        copy_tree(files, workspace, overlay=True, notes=notes)
    drop_escaping_links(workspace, notes)
    return workspace, home, notes


def copy_tree(source: str, target: str, *, overlay: bool, notes: list[str]) -> None:
    """Copy source's entries into the folder target, without following any symlink.

    With overlay, an entry replaces what is at its path, except that folders merge."""
    with os.scandir(source) as entries:
        listing = sorted(entries, key=lambda entry: entry.name)
    for entry in listing:
        there = os.path.join(target, entry.name)
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            if overlay and os.path.lexists(there) and not _is_real_dir(there):
                remove_tree(there)
            if not os.path.lexists(there):
                os.mkdir(there, 0o700)
            copy_tree(entry.path, there, overlay=overlay, notes=notes)
            os.chmod(there, stat.S_IMODE(info.st_mode) & 0o777 | 0o700)
            os.utime(there, ns=(info.st_atime_ns, info.st_mtime_ns))
            continue
        if overlay and os.path.lexists(there):
            remove_tree(there)
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(entry.path), there)
        elif stat.S_ISREG(info.st_mode):
            shutil.copyfile(entry.path, there, follow_symlinks=False)
            os.chmod(there, stat.S_IMODE(info.st_mode) & 0o777 | 0o600)
            os.utime(there, ns=(info.st_atime_ns, info.st_mtime_ns))
        else:
            notes.append(f"{_relative(entry.path, source)}: not a file, folder or link; left out")


def _is_real_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _relative(path: str, root: str) -> str:
    return os.path.relpath(path, root)


def drop_escaping_links(workspace: str, notes: list[str]) -> None:
    """Remove every symlink that does not resolve inside the work tree."""
    root = os.path.realpath(workspace)
    for folder, subfolders, names in os.walk(workspace):
        for name in subfolders + names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                continue
            resolved = os.path.realpath(path)
            if resolved != root and not resolved.startswith(root + os.sep):
                os.unlink(path)
                link = _relative(path, workspace)
                notes.append(f"{link}: a symlink leading out of the repository; left out")


def remove_tree(path: str) -> None:
    """Remove a file, link or tree, whatever modes its folders have."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    os.chmod(path, 0o700)
    for folder, subfolders, _ in os.walk(path):
        for name in subfolders:
            inner = os.path.join(folder, name)
            if not os.path.islink(inner):
                os.chmod(inner, 0o700)
    shutil.rmtree(path)


# ---------------------------------------------------------------------------------------------
# Results


def results_document(
    tests: list[ClassroomTest], verdicts: list[Verdict], notes: list[str] = ()
) -> dict:
    entries = []
    total, total_max, counted = 0, 0, False
    for test, verdict in zip(tests, verdicts):  # noqa: B905 -- as long (zip(strict) is 3.10+)
        entry = {
            "name": test.name,
            "status": "passed" if verdict.passed else "failed",
            "output": clip("\n".join(verdict.lines), OUTPUT_CHARS),
        }
        points = counted_points(test)
        if points is not None:
            counted = True
            entry["score"] = verdict.score
            entry["max_score"] = points
            total += verdict.score  # in order, as the reporter added them up
            total_max += points
        entries.append(entry)
    document: dict = {"tests": entries}
    if counted:
        document["score"] = total
        document["max_score"] = total_max
        document["output"] = f"Points {js_number(total)}/{js_number(total_max)}"
    else:
        failed = sum(not verdict.passed for verdict in verdicts)
        document["output"] = (
            "All tests passed" if not failed else f"{failed} of {len(verdicts)} tests failed"
        )
    if notes:
        document["output"] += "\n" + "\n".join(notes)
    return document


def not_run(reason: str) -> Verdict:
    return Verdict(False, lines=[f"Not run: {reason}."], reason="not run")


def write_results(results: str, document: dict) -> None:
    """Replace results.json, leaving nothing else in the folder (a student's program could have
    put a results file of its own there)."""
    stop_leftovers()
    partial = os.path.join(results, f".results-{os.getpid()}.partial")
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
    for name in os.listdir(results):
        if name != os.path.basename(partial):
            with contextlib.suppress(OSError):
                remove_tree(os.path.join(results, name))
    os.replace(partial, os.path.join(results, "results.json"))


def config_failure(results: str, message: str, code: int) -> int:
    print(f"pushgrade: {message}", file=sys.stderr)
    document = {
        "output": message,
        "tests": [{"name": CONFIG_TEST, "status": "failed", "output": message}],
    }
    try:
        write_results(results, document)
    except OSError as error:
        print(f"pushgrade: cannot write {results}/results.json: {error}", file=sys.stderr)
    return code


def harden() -> None:
    """Out of reach of the student's processes, which run as the same user: not traceable, and
    as PID 1 deaf to SIGINT. Best effort: the base image may have an unusual libc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if PID_1:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_leftovers() -> None:
    """As PID 1, kill every other process (kill -1 spares this one) and reap them."""
    if not PID_1:
        return
    for _ in range(500):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.01)
        _reap()
    _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------------------------------------


def main() -> int:
    try:
        return run()
    except Exception:  # a bug of ours: say so, never end quietly
        traceback.print_exc()
        print("pushgrade: the Classroom runner failed (see above)", file=sys.stderr)
        return 3


def run() -> int:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(encoding="utf-8", errors="replace")
    harden()
    submission = os.environ.get("PUSHGRADE_CLASSROOM_SUBMISSION") or "/submission"
    grader = os.environ.get("PUSHGRADE_CLASSROOM_GRADER") or "/grader"
    results = os.environ.get("PUSHGRADE_CLASSROOM_RESULTS") or "/results"
    work = os.environ.get("PUSHGRADE_CLASSROOM_WORK") or "/tmp/pushgrade-classroom"  # noqa: S108 -- the container's own tmpfs
    submission, grader, results, work = map(os.path.abspath, (submission, grader, results, work))
    if not os.path.isdir(results):
        print(f"pushgrade: the results folder {results} does not exist", file=sys.stderr)
        return 2
    try:
        tests = load_suite(os.path.join(grader, "tests.json"))
    except SuiteError as error:
        return config_failure(results, f"The grader is misconfigured: {error}", 2)
    if not os.path.isdir(submission):
        return config_failure(results, f"There is no submission at {submission}", 2)
    verdicts = [not_run("the grader stopped before this test") for _ in tests]
    try:
        workspace, home, notes = prepare_work_tree(submission, os.path.join(grader, "files"), work)
    except (OSError, RecursionError) as error:
        path = f" ({error.filename})" if getattr(error, "filename", None) else ""
        why = getattr(error, "strerror", None) or error
        reason = f"the submission could not be copied to {work}{path}: {why}"
        print(f"pushgrade: {reason}", file=sys.stderr)
        verdicts = [not_run(reason) for _ in tests]
        with contextlib.suppress(OSError):
            write_results(results, results_document(tests, verdicts))
        return 3
    notes = [f"Note: {note}" for note in notes]
    for note in notes:
        print(f"pushgrade: {note}")
    context = Context(workspace=workspace, home=home, scratch=work)
    write_results(results, results_document(tests, verdicts, notes))
    for index, test in enumerate(tests):
        context.index = index
        print(f"📝 {test.name}", flush=True)
        try:
            verdict = grade(test, context)
        except Exception as error:  # one test's trouble must not lose the others
            traceback.print_exc()
            verdict = Verdict(
                False,
                lines=[f"pushgrade's runner failed on this test: {type(error).__name__}: {error}"],
                reason="runner error",
            )
        stop_leftovers()
        verdicts[index] = verdict
        points = counted_points(test)
        earned = f" ({js_number(verdict.score)}/{js_number(points)})" if points else ""
        mark = "✅" if verdict.passed else "❌"
        reason = f": {verdict.reason}" if verdict.reason and not verdict.passed else ""
        print(f"{mark} {test.name}{earned}{reason}", flush=True)
        write_results(results, results_document(tests, verdicts, notes))
    print(results_document(tests, verdicts)["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
