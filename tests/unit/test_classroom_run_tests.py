"""The Classroom runner (pushgrade/classroom/run_tests.py) grades as GitHub Classroom did.

The rules are checked on the script's own functions (loaded by path: it is a standalone script,
copied into grader images) and end to end, running it as a subprocess on real shell commands.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.results.gradescope import parse_gradescope

SCRIPT = Path(__file__).resolve().parents[2] / "pushgrade" / "classroom" / "run_tests.py"
BIN = str(Path(sys.executable).parent)  # this interpreter's, with pytest, first on PATH
# The script must run on Python 3.8+: PUSHGRADE_TEST_RUNNER_PYTHON=python3.8 checks it there.
RUNNER_PYTHON = os.environ.get("PUSHGRADE_TEST_RUNNER_PYTHON") or sys.executable


def _load_script():
    spec = importlib.util.spec_from_file_location("classroom_run_tests", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rt = _load_script()


def case(name: str, kind: str = "autograding-json", **fields) -> dict:
    test = {
        "name": name,
        "kind": kind,
        "setup": "",
        "run": "true",
        "input": "",
        "expected": "",
        "comparison": None,
        "timeout_s": 10.0,
        "setup_timeout_s": None if kind == "autograding-json" else 10.0,
        "points": None,
    }
    test.update(fields)
    return test


class Graded:
    """One run of the script: its exit status, streams, results.json and work folder."""

    def __init__(self, process: subprocess.CompletedProcess, root: Path):
        self.code = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.root = root
        path = root / "results" / "results.json"
        self.results = json.loads(path.read_text()) if path.exists() else None
        if self.results is not None:
            parse_gradescope(path.read_bytes())  # pushgrade can read it

    @property
    def workspace(self) -> Path:
        return self.root / "work" / "workspace"

    def test(self, name: str) -> dict:
        (found,) = [t for t in self.results["tests"] if t["name"] == name]
        return found

    def status(self, name: str) -> str:
        return self.test(name)["status"]


def grade(
    root: Path,
    tests: list[dict] | None = None,
    *,
    submission: dict | None = None,
    files: dict | None = None,
    tests_json: str | None = None,
    env: dict | None = None,
) -> Graded:
    write_tree(root / "submission", submission or {"README.md": "hello\n"})
    (root / "grader").mkdir(exist_ok=True)
    write_tree(root / "grader" / "files", files or {})
    (root / "results").mkdir(exist_ok=True)
    if tests_json is None and tests is not None:
        tests_json = json.dumps({"version": 1, "tests": tests})
    if tests_json is not None:
        (root / "grader" / "tests.json").write_text(tests_json)
    return run_script(root, **(env or {}))


def run_script(root: Path, **env: str) -> Graded:
    process = subprocess.run(
        [RUNNER_PYTHON, str(SCRIPT)],
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "PUSHGRADE_CLASSROOM_SUBMISSION": str(root / "submission"),
            "PUSHGRADE_CLASSROOM_GRADER": str(root / "grader"),
            "PUSHGRADE_CLASSROOM_RESULTS": str(root / "results"),
            "PUSHGRADE_CLASSROOM_WORK": str(root / "work"),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # this venv's plugins only slow pytest down
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Graded(process, root)


def running(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for a parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def write_tree(root: Path, entries: dict) -> None:
    """{"path": text | bytes | (text, mode) | ("->", target)}; a path ending in / is a folder."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in entries.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        elif isinstance(content, tuple) and content[0] == "->":
            path.symlink_to(content[1])
        elif isinstance(content, tuple):
            path.write_text(content[0])
            path.chmod(content[1])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


# --- The comparisons, as JavaScript made them ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        ("  x  ", "x"),
        ("\ufeffx\u00a0", "x"),  # String.prototype.trim removes the BOM and no-break spaces
        ("\u2028x\u3000\t\n", "x"),
        ("\x1cx\x85", "\x1cx\x85"),  # which str.strip() would remove, and JavaScript keeps
        ("\u200bx", "\u200bx"),  # a zero-width space is not white space
        ("", ""),
    ],
)
def test_trimming_removes_what_javascript_trims_and_nothing_else(text, trimmed):
    assert rt.js_trim(text) == trimmed


@pytest.mark.parametrize(
    ("comparison", "expected", "stdout", "matches"),
    [
        ("exact", "Hello Jeff", "Hello Jeff\n", True),
        ("exact", "Hello", "Hello Jeff\n", False),
        ("exact", "a\nb", "a\r\nb\r\n", True),  # CRLF read as LF
        ("exact", "  a\r\nb  ", "a\nb", True),  # the expected output is trimmed too
        ("exact", "", "  \n", True),
        ("exact", "", "x", False),
        ("included", "Jeff", "What is your name?\nHello Jeff\n", True),
        ("included", "Mike", "Hello Jeff", False),
        ("included", " Jeff ", "HelloJeffrey", True),  # trimmed before it is looked for
        ("included", "", "anything", True),
        (None, "Jeff", "Hello Jeff", True),  # the default comparison is "included"
        ("whatever", "Jeff", "Hello Jeff", True),
        ("regex", r"^\d+$", "  42  \n", True),  # stdout trimmed ...
        ("regex", " 42", "42", False),  # ... the pattern not
        ("regex", "Hello (?<name>\\w+)", "Hello Jeff", True),
        ("regex", "a\nb", "a\r\nb", True),
        ("regex", "", "", True),
    ],
)
def test_autograding_json_compares_as_education_autograding_did(
    comparison, expected, stdout, matches
):
    assert rt.autograding_json_matches(comparison, expected, stdout) is matches


@pytest.mark.parametrize(
    ("method", "expected", "stdout", "matches"),
    [
        ("exact", "HELLO", "HELLO\n", True),
        ("exact", "a\nb", "a\r\nb\r\n", False),  # no CRLF normalization inside
        ("exact", "ab", "ab\r\n", True),  # but the trim takes a final CRLF
        ("included", "ELL", "HELLO", True),
        ("included", "hello", "HELLO", False),
        ("regex", r"^H.*O$", "HELLO\n", True),
        ("regex", r"\d", "HELLO", False),
    ],
)
def test_the_io_grader_compares_trimmed_stdout(method, expected, stdout, matches):
    assert rt.io_matches(method, expected, stdout) is matches


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"\d+", "42", True),
        (r"\d", "\u0663", False),  # JavaScript's \d is ASCII: not ARABIC-INDIC DIGIT THREE
        (r"\w", "é", False),
        (r"\bfoo\b", "éfooé", True),
        (r"\s", "\u00a0", True),  # but \s is Unicode's white space, and the BOM
        (r"\s", "\ufeff", True),
        (r"\s", "\x1c", False),
        (r"^a$", "a\n", False),  # $ is the very end, not before a last newline
        (r"a.c", "a\rc", False),  # . stops at every line terminator
        (r"a.c", "a\u2028c", False),
        (r"a.c", "a-c", True),
        (r"(?<year>\d{4})-\k<year>", "2020-2020", True),
        (r"(?<year>\d{4})-\k<year>", "2020-2021", False),
        (r"(a)\1", "aa", True),
        (r"\1(a)", "a", True),  # a reference to a group not matched yet matches nothing
        (r"(a)|\1b", "b", True),
        (r"\8", "8", True),
        (r"\101", "A", True),  # a legacy octal escape
        (r"[^]", "\n", True),
        (r"[]", "", False),
        (r"a{,2}", "a{,2}", True),  # not a quantifier in JavaScript
        (r"a{,2}", "aa", False),
        (r"x{2}", "xx", True),
        (r"\e\A\Z", "eAZ", True),  # escaped letters with no meaning are the letters
        (r"\/path", "/path", True),
        (r"[\d-z]", "-", True),
        (r"\cJ", "\n", True),
        (r"\x41\u0042", "AB", True),
        (r"\uD83D\uDE00", "😀", True),
        (r"[\S]", "a", True),
        (r"[\S]", "\u00a0", False),
        (r"[^\s]", "\u00a0", False),
        (r"[^a\S]", " ", True),
        (r"[^a\S]", "a", False),
        (r"[a-z&&[^b]]", "&]", True),  # no set operations: & and [ are plain characters
        (r"\B", "", True),
        (r"Hello,? World!?", "Hello World", True),
    ],
)
def test_a_javascript_regular_expression_matches_as_it_did_in_javascript(pattern, text, matches):
    assert rt.js_regex_search(pattern, text) is matches


@pytest.mark.parametrize(
    "pattern",
    [
        "(?i)abc",  # no inline flags in JavaScript
        "a*+",  # nor possessive quantifiers
        "(?P<n>a)",
        "(?#comment)",
        "(a",
        "a)",
        "[a",
        "\\",
        "x{2,1}",
        "(?<=a+)b",  # valid JavaScript, but Python's re has no variable-length lookbehind
    ],
)
def test_a_regular_expression_javascript_or_python_refuses_is_an_error(pattern):
    with pytest.raises(rt.JsRegexError):
        rt.compile_js_regex(pattern)


@pytest.mark.parametrize(
    ("kind", "points", "counted"),
    [
        ("autograding-json", 2.5, 2.5),  # education/autograding adds points as they are
        ("autograding-json", 10, 10),
        ("autograding-json", 0, None),
        ("autograding-json", None, None),
        ("io", 2.5, 2),  # the actions parseInt their max-score
        ("command", 0.9, None),
        ("python", 7.99, 7),
        ("io", None, None),
    ],
)
def test_points_count_as_classroom_counted_them(kind, points, counted):
    test = rt.ClassroomTest(name="t", kind=kind, points=points)
    assert rt.counted_points(test) == counted


@pytest.mark.parametrize(
    ("kind", "timeout_s", "setup_timeout_s", "run_limit", "setup_limit"),
    [
        ("autograding-json", 90.0, None, 90.0, 90.0),  # shared: setup may use all of it
        ("autograding-json", None, None, 60.0, 60.0),  # (timeout || 1) minutes
        ("autograding-json", 0, None, 60.0, 60.0),
        ("io", 30.0, 5.0, 30.0, 5.0),
        ("command", None, None, 600.0, 600.0),  # the actions' 10 minutes
        ("command", 0, 0, None, None),  # execSync's timeout 0: no limit
    ],
)
def test_time_limits(kind, timeout_s, setup_timeout_s, run_limit, setup_limit):
    test = rt.ClassroomTest(
        name="t", kind=kind, timeout_s=timeout_s, setup_timeout_s=setup_timeout_s
    )
    assert (rt.run_limit(test), rt.setup_limit(test)) == (run_limit, setup_limit)


# --- Each kind, run for real ----------------------------------------------------------------

# name, test fields, passes
RULES = [
    ("json exact with input", {"run": "cat", "input": "Jeff", "expected": "Jeff"}, True),
    (
        "json input kept as given",
        {"run": "cat; echo END", "input": "  hi  ", "expected": "hi  END", "comparison": "exact"},
        True,
    ),
    ("json CRLF", {"run": r"printf 'a\r\nb\r\n'", "expected": "a\nb", "comparison": "exact"}, True),
    ("json no input no output: exit 0", {"run": "echo anything", "comparison": "exact"}, True),
    ("json no input no output: exit 2", {"run": "exit 2", "comparison": "exact"}, False),
    ("json output right, exit 1", {"run": "echo hi; exit 1", "expected": "hi"}, False),
    (
        "json input, empty expected, exact",
        {"run": "echo x", "input": "y", "comparison": "exact"},
        False,
    ),
    (
        "json input, empty expected, included",
        {"run": "echo x", "input": "y", "comparison": "included"},
        True,
    ),
    ("json regex", {"run": "echo '  42  '", "expected": r"^\d+$", "comparison": "regex"}, True),
    ("json invalid regex", {"run": "echo a", "expected": "(a", "comparison": "regex"}, False),
    ("json binary output", {"run": r"printf '\377\376abc'", "expected": "abc"}, True),
    ("json setup fails", {"setup": "exit 4", "run": "true"}, False),
    (
        "io exact, expected trimmed",
        {"kind": "io", "run": "printf HELLO", "expected": "  HELLO \n", "comparison": "exact"},
        True,
    ),
    (
        "io input trimmed",
        {
            "kind": "io",
            "run": "cat; echo END",
            "input": "  hi  ",
            "expected": "hiEND",
            "comparison": "exact",
        },
        True,
    ),
    (
        "io CRLF kept",
        {"kind": "io", "run": r"printf 'a\r\nb'", "expected": "a\nb", "comparison": "exact"},
        False,
    ),
    (
        "io contains",
        {"kind": "io", "run": "echo HELLO", "expected": "ELL", "comparison": "contains"},
        True,
    ),
    (
        "io no input: end of file",
        {"kind": "io", "run": "cat; echo done", "expected": "done", "comparison": "exact"},
        True,
    ),
    (
        "io empty expected",
        {"kind": "io", "run": "true", "expected": "  ", "comparison": "exact"},
        False,
    ),
    (
        "io unknown comparison",
        {"kind": "io", "run": "echo a", "expected": "a", "comparison": "includes"},
        False,
    ),
    (
        "io exit 1",
        {"kind": "io", "run": "echo a; exit 1", "expected": "a", "comparison": "exact"},
        False,
    ),
    (
        "io setup fails",
        {"kind": "io", "setup": "false", "run": "echo a", "expected": "a", "comparison": "exact"},
        False,
    ),
    ("command exit 0", {"kind": "command", "run": "test 1 -eq 1"}, True),
    ("command exit 1", {"kind": "command", "run": "test 1 -eq 2"}, False),
    ("command stdin empty", {"kind": "command", "run": "cat"}, True),
    ("command killed", {"kind": "command", "run": "kill -9 $$"}, False),
    ("command empty", {"kind": "command", "run": "  "}, False),
]


def test_each_kind_passes_and_fails_as_classroom_did(tmp_path):
    tests = [case(name, **fields) for name, fields, _ in RULES]
    graded = grade(tmp_path, tests)
    assert graded.code == 0, graded.stderr
    outcome = {name: graded.status(name) for name, _, _ in RULES}
    assert outcome == {name: "passed" if passes else "failed" for name, _, passes in RULES}
    assert "Expected:\nJeff\nActual:\nJeff" in graded.test("json exact with input")["output"]
    assert "\ufffd" in graded.test("json binary output")["output"]
    assert "not a regular expression" in graded.test("json invalid regex")["output"]
    assert "Killed by signal 9 (SIGKILL)" in graded.test("command killed")["output"]
    assert "expected-output" in graded.test("io empty expected")["output"]


def test_reading_stdin_without_input_waits_out_the_limit_only_under_autograding_json(tmp_path):
    # education/autograding leaves stdin open when there is no input; the actions close it.
    tests = [
        case("json", run="cat", expected="x", timeout_s=0.3),
        case("io", kind="io", run="cat; echo x", expected="x", comparison="exact"),
    ]
    start = time.monotonic()
    graded = grade(tmp_path, tests)
    assert time.monotonic() - start < 5
    assert graded.status("json") == "failed"
    assert "Timed out after 0.3 s" in graded.test("json")["output"]
    assert graded.status("io") == "passed"


def test_setup_and_run_share_one_limit_in_autograding_json_but_not_in_the_actions(tmp_path):
    tests = [
        case("shared", setup="sleep 0.4", run="sleep 0.4", timeout_s=0.6),
        case("separate", setup="sleep 0.4", run="sleep 0.4", timeout_s=0.6, setup_timeout_s=0.6),
        case("setup too slow", kind="command", setup="sleep 5", timeout_s=5, setup_timeout_s=0.2),
    ]
    graded = grade(tmp_path, tests)
    assert graded.status("shared") == "failed"
    assert "setup and command share it" in graded.test("shared")["output"]
    assert graded.status("separate") == "passed"
    assert graded.status("setup too slow") == "failed"
    assert "Timed out after 0.2 s" in graded.test("setup too slow")["output"]


def test_a_timed_out_test_is_killed_with_what_it_started_and_the_next_test_runs(tmp_path):
    tests = [
        case("slow", run="sleep 30 & echo $! > background.pid; sleep 30", timeout_s=0.3),
        case("next", run="echo ok", expected="ok"),
    ]
    graded = grade(tmp_path, tests)
    assert [graded.status("slow"), graded.status("next")] == ["failed", "passed"]
    assert not running(int((graded.workspace / "background.pid").read_text()))


def test_a_background_process_keeping_stdout_open_stops_only_execsync(tmp_path):
    # node's spawn (autograding.json) ends with the shell; execSync (io) waits for the pipes.
    tests = [
        case("json", run="sleep 30 & echo hi", expected="hi"),
        case(
            "io",
            kind="io",
            run="sleep 30 & echo hi",
            expected="hi",
            comparison="exact",
            timeout_s=0.5,
        ),
    ]
    start = time.monotonic()
    graded = grade(tmp_path, tests)
    assert time.monotonic() - start < 6
    assert graded.status("json") == "passed"
    assert graded.status("io") == "failed"
    assert "Timed out" in graded.test("io")["output"]


def test_the_io_grader_stops_a_command_printing_more_than_a_mebibyte(tmp_path):
    tests = [
        case(
            "big",
            kind="io",
            run="head -c 2000000 /dev/zero | tr '\\0' x",
            expected="x",
            comparison="contains",
        ),
        case("big json", run="head -c 300000 /dev/zero | tr '\\0' x; echo", expected="xxx"),
    ]
    graded = grade(tmp_path, tests)
    assert graded.status("big") == "failed"
    assert "more than 1 MiB" in graded.test("big")["output"]
    assert graded.status("big json") == "passed"
    assert len(graded.test("big json")["output"].encode()) < 64 * 1024


def test_the_environment_is_what_classroom_gave_each_kind(tmp_path):
    tests = [
        case("json", run="env > json.env"),
        case("io", kind="io", run="env > io.env; echo x", expected="x", comparison="exact"),
        case("home", kind="command", run='touch "$HOME/written" && test -d "$HOME"'),
    ]
    graded = grade(tmp_path, tests, env={"SECRET": "s3cret"})
    assert {t["status"] for t in graded.results["tests"]} == {"passed"}
    for name in ("json.env", "io.env"):
        lines = (graded.workspace / name).read_text().splitlines()
        env = dict(line.split("=", 1) for line in lines)
        assert set(env) - {"PWD", "SHLVL", "_", "OLDPWD"} == {
            "PATH",
            "HOME",
            "FORCE_COLOR",
            "DOTNET_CLI_HOME",
            "DOTNET_NOLOGO",
        }
        assert env["FORCE_COLOR"] == "true"
        assert env["DOTNET_CLI_HOME"] == "/tmp"
        assert env["HOME"] == str(tmp_path / "work" / "home")


# --- The work tree --------------------------------------------------------------------------


def test_the_work_tree_is_the_submission_with_the_teachers_files_laid_over_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not for the tests")
    submission = {
        "main.sh": ("echo student main\n", 0o755),
        "tests/check.sh": "echo the student test\n",
        "lib/": None,
        "link-inside": ("->", "main.sh"),
        "link-out-absolute": ("->", str(outside / "secret")),
        "link-out-relative": ("->", "../../outside/secret"),
        "sneaky": ("->", str(outside)),  # a folder the teacher's files also have
    }
    files = {
        "tests/check.sh": "echo the teacher test\n",
        "sneaky/planted.txt": "teacher\n",
    }
    tests = [
        case("modes kept", kind="command", run="test -x main.sh && ./main.sh"),
        case(
            "teacher wins",
            run="sh tests/check.sh",
            expected="the teacher test",
            comparison="exact",
        ),
        case("build", setup="echo built > build.out", run="true"),
        case("later tests see it", run="cat build.out", expected="built", comparison="exact"),
    ]
    graded = grade(tmp_path, tests, submission=submission, files=files)
    assert {t["status"] for t in graded.results["tests"]} == {"passed"}, graded.results
    work = graded.workspace
    assert os.readlink(work / "link-inside") == "main.sh"
    assert not os.path.lexists(work / "link-out-absolute")
    assert not os.path.lexists(work / "link-out-relative")
    assert not (work / "sneaky").is_symlink()
    assert (work / "sneaky" / "planted.txt").read_text() == "teacher\n"
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]  # nothing written through
    assert (
        (tmp_path / "submission" / "tests" / "check.sh").read_text().startswith("echo the student")
    )
    assert not (tmp_path / "submission" / "build.out").exists()
    assert "link-out-absolute: a symlink leading out" in graded.results["output"]


# --- Points and results.json ----------------------------------------------------------------


def test_scores_and_totals_are_the_ones_classroom_showed(tmp_path):
    tests = [
        case("half", run="true", points=2.5),
        case("io truncated", kind="io", run="echo a", expected="a", comparison="exact", points=2.9),
        case("failing", kind="command", run="false", points=4),
        case("worth nothing", kind="command", run="true", points=0.5),
        case("no points", run="false"),
    ]
    graded = grade(tmp_path, tests)
    results = graded.results
    assert (results["score"], results["max_score"]) == (4.5, 8.5)
    assert results["output"] == "Points 4.5/8.5"
    assert (graded.test("io truncated")["score"], graded.test("io truncated")["max_score"]) == (
        2,
        2,
    )
    assert (graded.test("failing")["score"], graded.test("failing")["max_score"]) == (0, 4)
    for name in ("worth nothing", "no points"):
        assert "score" not in graded.test(name)
        assert "max_score" not in graded.test(name)
    assert graded.status("no points") == "failed"


def test_when_no_test_has_points_there_is_no_score(tmp_path):
    graded = grade(tmp_path, [case("a", run="true"), case("b", kind="command", run="false")])
    assert "score" not in graded.results
    assert "max_score" not in graded.results
    assert [t["status"] for t in graded.results["tests"]] == ["passed", "failed"]
    assert all("score" not in t for t in graded.results["tests"])


def test_a_grader_stopped_midway_still_reports_the_tests_that_ran(tmp_path):
    tests = [
        case("first", run="true", points=1),
        case("stops the grader", kind="command", run="kill -9 $PPID", points=1),
        case("never reached", run="true", points=1),
    ]
    graded = grade(tmp_path, tests)
    assert graded.code == -signal.SIGKILL
    assert [t["status"] for t in graded.results["tests"]] == ["passed", "failed", "failed"]
    assert "Not run" in graded.test("never reached")["output"]
    assert (graded.results["score"], graded.results["max_score"]) == (1, 3)


def test_a_test_that_crashes_the_runner_loses_no_other_test(tmp_path, monkeypatch, capsys):
    def crash(test, context):
        raise RuntimeError("boom")

    write_tree(tmp_path / "submission", {"a.txt": "a"})
    write_tree(tmp_path / "results", {})
    tests = [case("before", run="true"), case("crashes", kind="command"), case("after")]
    write_tree(tmp_path / "grader", {"tests.json": json.dumps({"version": 1, "tests": tests})})
    for name, path in (
        ("SUBMISSION", "submission"),
        ("GRADER", "grader"),
        ("RESULTS", "results"),
        ("WORK", "work"),
    ):
        monkeypatch.setenv(f"PUSHGRADE_CLASSROOM_{name}", str(tmp_path / path))
    monkeypatch.setattr(rt, "grade_command", crash)
    monkeypatch.setattr(rt, "harden", lambda: None)  # this is the test process, not a grader
    assert rt.main() == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert [t["status"] for t in results["tests"]] == ["passed", "failed", "passed"]
    assert "RuntimeError: boom" in results["tests"][1]["output"]
    assert "boom" in capsys.readouterr().err


def test_results_from_an_earlier_writer_are_cleared(tmp_path):
    write_tree(tmp_path / "results", {"forged.xml": "<testsuite/>", "results.json": "{}"})
    graded = grade(tmp_path, [case("a", run="true")])
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["results.json"]
    assert graded.status("a") == "passed"


# --- The python grader ----------------------------------------------------------------------

CALC_TESTS = """\
import pytest
import calc


def test_add():
    assert calc.add(1, 2) == 3


def test_sub():
    assert calc.add(1, -1) == 1


@pytest.mark.skip
def test_skipped():
    raise AssertionError


class TestPlain:
    def test_method(self):
        assert True


@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert x == 1
"""


def test_the_python_grader_scores_by_the_share_of_pytest_tests_passed(tmp_path):
    submission = {
        "calc.py": "def add(a, b):\n    return a + b\n",
        "tests/calc_test.py": CALC_TESTS,
        # The same name as a failing test in calc_test.py: Classroom kept one "test sub".
        "more_test.py": "def test_sub():\n    assert True\n",
        "test_ignored.py": "def test_not_run():\n    raise AssertionError\n",
    }
    graded = grade(
        tmp_path, [case("pytest", kind="python", points=10, timeout_s=60)], submission=submission
    )
    test = graded.test("pytest")
    # test add, test sub, test skipped, TestPlain.test method, test param[1], test param[2]:
    # 4 of 6 pass (a skipped test passes; two files' test_sub are one test, failing).
    assert test["status"] == "failed"
    assert test["score"] == pytest.approx(10 * 4 / 6)
    assert test["max_score"] == 10
    assert "❌ test sub" in test["output"]
    assert "✅ test skipped" in test["output"]
    assert "not run" not in test["output"]
    assert not (graded.workspace / ".pytest_cache").exists()


def test_the_python_graders_setup_shares_its_shell_and_its_failure_is_ignored(tmp_path):
    submission = {
        "sub/flag_test.py": (
            "import os\n\ndef test_flag():\n    assert os.environ['FLAG'] == 'on'\n"
            "\ndef test_ci():\n    assert os.environ['CI'] == 'true'\n"
            "\ndef test_step_env():\n    assert os.environ['FROM_STEP'] == 'yes'\n"
            "\ndef test_passed_through():\n    assert os.environ['SECRET'] == 's3cret'\n"
        ),
        "other_test.py": "def test_elsewhere():\n    raise AssertionError\n",
    }
    tests = [
        case(
            "setup",
            kind="python",
            setup="export FLAG=on; cd sub; false",
            points=3,
            env={"FROM_STEP": "yes"},
        ),
    ]
    graded = grade(tmp_path, tests, submission=submission, env={"SECRET": "s3cret"})
    test = graded.test("setup")
    assert (test["status"], test["score"]) == ("passed", 3), test["output"]
    assert "exited with status 1 (Classroom went on)" in test["output"]


def test_the_python_grader_fails_on_no_tests_and_on_its_timeout(tmp_path):
    submission = {"slow_test.py": "import time\n\ndef test_slow():\n    time.sleep(30)\n"}
    tests = [case("slow", kind="python", points=2, timeout_s=0.5)]
    graded = grade(tmp_path / "slow", tests, submission=submission)
    assert (graded.status("slow"), graded.test("slow")["score"]) == ("failed", 0)
    assert "Timed out: pytest was stopped after 0.5 s" in graded.test("slow")["output"]

    graded = grade(tmp_path / "none", [case("none", kind="python", points=2)])
    assert (graded.status("none"), graded.test("none")["score"]) == ("failed", 0)
    assert "pytest found no tests" in graded.test("none")["output"]


# --- A grader that cannot run ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tests_json", "says"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"version": 2, "tests": []}', "version is 2, not 1"),
        ('{"version": 1, "tests": []}', "tests must be a non-empty list"),
        (json.dumps({"version": 1, "tests": [case("a", kind="bash")]}), "tests[0].kind"),
        (json.dumps({"version": 1, "tests": [case("a", points=-1)]}), "tests[0].points"),
        (json.dumps({"version": 1, "tests": [case("")]}), "tests[0].name"),
        (json.dumps({"version": 1, "tests": [case("a", timeout_s="10")]}), "tests[0].timeout_s"),
    ],
)
def test_a_bad_tests_json_is_reported_to_the_teacher(tmp_path, tests_json, says):
    graded = grade(tmp_path, tests_json=tests_json)
    assert graded.code == 2
    assert says in graded.stderr
    (only,) = graded.results["tests"]
    assert (only["name"], only["status"]) == ("Grader configuration", "failed")
    assert says in only["output"]
    assert "misconfigured" in only["output"]


def test_a_missing_submission_is_reported(tmp_path):
    write_tree(
        tmp_path / "grader", {"tests.json": json.dumps({"version": 1, "tests": [case("a")]})}
    )
    (tmp_path / "results").mkdir()
    graded = run_script(tmp_path, PUSHGRADE_CLASSROOM_SUBMISSION=str(tmp_path / "nowhere"))
    assert graded.code == 2
    assert "There is no submission" in graded.stderr
    assert graded.results["tests"][0]["name"] == "Grader configuration"


def test_a_missing_results_folder_is_reported(tmp_path):
    graded = run_script(tmp_path)
    assert graded.code == 2
    assert "results folder" in graded.stderr
