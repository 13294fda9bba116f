"""A Classroom workflow (`.github/workflows/classroom.yml`): its `classroom-resources/autograding-*`
steps as tests, its other steps as build steps, per-run setup or notes.

The rules are the actions' own (their src/main.js and bin/run.sh): every input is trimmed (as
`core.getInput` does); `timeout` is in minutes, 10 when absent, for the setup command and the
command each; `max-score` is read by `parseInt`, so 2.5 counts 2, and 0 or none counts nothing.
The io grader compares stdout (trimmed) with `exact`, `contains` or `regex`, and errors on any
other method, or on an empty `expected-output`: such a test counted for nothing. The python
grader runs pytest on every `*_test.py` and splits its max-score among their tests. The reporter
counts only the steps its `runners` lists, each through `<ID>_RESULTS` in its env.
"""

from __future__ import annotations

import re
import shlex

import yaml

from ghapp.core.located_yaml import ConfigError, parse_yaml
from pushgrade.classroom.autograding import clean_name
from pushgrade.classroom.model import Conversion, Kind, NoteKind, TemplateError, Test

OFFICIAL = frozenset(("classroom-resources", "education", "github-education-resources"))
_GRADERS = {
    "autograding-io-grader": Kind.IO,
    "autograding-command-grader": Kind.COMMAND,
    "autograding-python-grader": Kind.PYTHON,
}
_RESULT = re.compile(r"^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.result\s*\}\}$")
_FLOAT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")
_INT = re.compile(r"^\s*([+-]?\d+)")
_IO_METHODS = {"exact": "exact", "contains": "included", "regex": "regex"}
_SUGGEST = {
    "python": "python:{}-slim",
    "java": "eclipse-temurin:{}",
    "node": "node:{}-slim",
    "go": "golang:{}",
    "ruby": "ruby:{}-slim",
    "dotnet": "mcr.microsoft.com/dotnet/sdk:{}",
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def action(uses: str) -> tuple[str, str]:
    """(owner, name) of a `uses:` reference, lowercased; ("", "") for a local or docker one."""
    if not uses or uses.startswith(("./", "docker://")):
        return "", ""
    path = uses.split("@", 1)[0].lower()
    parts = path.split("/")
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", "")


def is_classroom(owner: str, name: str) -> bool:
    return (
        name in _GRADERS
        or name == "autograding-grading-reporter"
        or (owner == "education" and name == "autograding")
    )


def _classroom_step(node) -> bool:
    return is_classroom(*action(_scalar(_map(node).get("uses")) or ""))


def parse(data: bytes, file: str, conversion: Conversion) -> tuple[list[Test], bool] | None:
    """The workflow's tests, and whether it runs education/autograding (autograding.json); None
    when it has no Classroom step at all. TemplateError for YAML that cannot be read (in a
    workflow that names Classroom's actions: another workflow's errors are not ours)."""
    if b"autograding" not in data:
        return None
    try:
        root, _ = parse_yaml(data, file)
    except ConfigError as err:
        if "expected a mapping" in str(err):
            return None
        raise TemplateError(str(err)) from None
    jobs = _map(_map(root).get("jobs"))
    found = [
        (job_id, job)
        for job_id, job in jobs.items()
        if any(_classroom_step(s) for s in _seq(_map(job).get("steps")))
    ]
    if not found:
        return None
    conversion.configs.append(file)
    if len(found) > 1:
        conversion.note(
            NoteKind.CHECK, file, f"{len(found)} jobs run Classroom steps: each is converted"
        )
    tests: list[Test] = []
    runs_json = False
    for job_id, job in found:
        job_tests, job_json = _job(file, job_id, _map(job), conversion)
        tests += job_tests
        runs_json = runs_json or job_json
    return tests, runs_json


def _job(file: str, job_id: str, job: dict, conversion: Conversion) -> tuple[list[Test], bool]:
    where = f"{file} job {job_id}"
    container = job.get("container")
    image = _scalar(container) or _scalar(_map(container).get("image"))
    if image:
        conversion.wanted_base.append(image)
        conversion.note(
            NoteKind.CHANGED, where, f"the job ran in the container {image}: a base for --base"
        )
    for key, text in (("services", "its service containers"), ("strategy", "its matrix")):
        if key in job:
            conversion.note(NoteKind.DROPPED, where, f"{text} ({key}:) are not carried over")
    graders: list[tuple[str, Test]] = []
    reporter: dict | None = None
    runs_json = False
    pending: list[tuple[str, str]] = []  # run: steps waiting for the next test
    for number, node in enumerate(_seq(job.get("steps")), start=1):
        step = _map(node)
        sid, label = _scalar(step.get("id")), _scalar(step.get("name"))
        here = f"{file} line {node.start_mark.line + 1} (step {sid or label or number})"
        uses, run = _scalar(step.get("uses")) or "", _scalar(step.get("run"))
        owner, name = action(uses)
        for key in ("if", "continue-on-error", "timeout-minutes"):
            if key in step and (name in _GRADERS or run):
                conversion.note(NoteKind.DROPPED, here, f"its `{key}:` is not carried over")
        if name in _GRADERS:
            if owner not in OFFICIAL:
                conversion.note(
                    NoteKind.CHECK, here, f"{uses}: a fork, read as classroom-resources' {name}"
                )
            test = _grader(_GRADERS[name], step, sid, label, here, conversion)
            _take_pending(pending, test, conversion)
            graders.append((sid, test))
        elif name == "autograding-grading-reporter":
            reporter = {"with": _inputs(step, here, conversion), "env": _env(step), "where": here}
        elif owner == "education" and name == "autograding":
            runs_json = True
            conversion.prelude += [(None, text, at) for text, at in pending]
            pending.clear()
        elif run is not None:
            pending.append((_run_step(step, run, here, conversion), here))
        elif name == "checkout":
            _checkout(step, here, conversion)
        elif name.startswith("setup-") or name == "setup":
            _setup_action(owner, name, step, here, conversion)
        elif uses:
            conversion.note(NoteKind.DROPPED, here, f"the action {uses} is not carried over")
    for text, here in pending:
        if text.strip():
            conversion.note(NoteKind.DROPPED, here, "runs after the last test: left out")
    return _count(graders, reporter, where, conversion), runs_json


def _take_pending(pending: list[tuple[str, str]], test: Test, conversion: Conversion) -> None:
    """Workflow steps run once, before this test: they go first in its setup (planned later)."""
    conversion.prelude += [(test.where, text, here) for text, here in pending]
    pending.clear()


def _run_step(step: dict, run: str, here: str, conversion: Conversion) -> str:
    shell = _scalar(step.get("shell"))
    if shell and shell.split()[0] not in ("bash", "sh"):
        conversion.note(NoteKind.DROPPED, here, f"a `shell: {shell}` step is not carried over")
        return ""
    if "GITHUB_ENV" in run or "GITHUB_PATH" in run or "GITHUB_OUTPUT" in run:
        conversion.note(
            NoteKind.CHECK, here, "it writes $GITHUB_ENV, $GITHUB_PATH or $GITHUB_OUTPUT: lost"
        )
    folder = _scalar(step.get("working-directory"))
    env = _env(step)
    exports = "".join(f"export {k}={_sh(v)}\n" for k, v in env.items() if _NAME.match(k))
    prefix = exports + (f"cd {_sh(folder)}\n" if folder else "")
    return prefix + run if prefix else run


def _sh(text: str) -> str:
    return shlex.quote(text)


def _checkout(step: dict, here: str, conversion: Conversion) -> None:
    inputs = _inputs(step, here, conversion)
    if inputs.get("repository"):
        conversion.note(
            NoteKind.DROPPED,
            here,
            f"it checks out another repository ({inputs['repository']}): its files are not in "
            "the grader; put the ones the tests need in files/",
        )
    if inputs.get("fetch-depth", "1") == "0":
        conversion.note(
            NoteKind.CHECK,
            here,
            "it fetches the whole git history (fetch-depth: 0): pushgrade grades the pushed "
            "commit's files, without .git",
        )


def _setup_action(owner: str, name: str, step: dict, here: str, conversion: Conversion) -> None:
    tool = name.removeprefix("setup-") if name != "setup" else owner
    inputs = _inputs(step, here, conversion)
    version = next((v for k, v in inputs.items() if k.endswith("-version") and v), "")
    wanted = f"{tool} {version}".strip()
    conversion.wanted_base.append(wanted)
    hint = _SUGGEST.get(tool, "")
    suggestion = f" (say --base {hint.format(version)})" if hint and version else ""
    conversion.note(
        NoteKind.DROPPED,
        here,
        f"{owner}/{name} is not carried over: the base image must have {wanted}{suggestion}",
    )


def _grader(kind: Kind, step, sid: str, label: str, here: str, conversion: Conversion) -> Test:
    inputs = _inputs(step, here, conversion)
    fallback = label or sid or "Python tests"
    if kind is Kind.PYTHON:
        name = clean_name(label or sid, "Python tests", here, conversion)
    elif not inputs.get("test-name"):
        conversion.note(
            NoteKind.CHECK,
            here,
            "no test-name: the action failed before reporting, and Classroom recorded no points",
        )
        name = clean_name(fallback, "Test", here, conversion)
    else:
        name = clean_name(inputs["test-name"], fallback, here, conversion)
    here = f"{here} {name!r}"
    minutes = _minutes(inputs.get("timeout", ""), here, conversion)
    points = _max_score(inputs.get("max-score", ""), here, conversion)
    command = inputs.get("command", "")
    if kind is not Kind.PYTHON and not command:
        conversion.note(
            NoteKind.CHECK,
            here,
            "no command: the grader refused the test on every run (Input required and not "
            "supplied), and counted nothing; so does this one",
        )
        points = None
    comparison, expected, given = None, inputs.get("expected-output", ""), inputs.get("input", "")
    if kind is Kind.IO:
        method = inputs.get("comparison-method", "")
        comparison = _IO_METHODS.get(method)
        if comparison is None or not expected:
            why = "an empty expected-output" if comparison else f"comparison-method {method!r}"
            conversion.note(
                NoteKind.CHECK,
                here,
                f"{why}: the io grader knows exact, contains and regex and needs an expected "
                "output; it refused the test on every run, which counted for nothing. So does "
                'this one: to count it, set its "comparison" and "points" in tests.json',
            )
            points = None
    elif given or expected:
        conversion.note(NoteKind.DROPPED, here, "input, expected-output: this grader ignored them")
        given = expected = ""
    return Test(
        name=name,
        kind=kind,
        setup=inputs.get("setup-command", ""),
        run="" if kind is Kind.PYTHON else command,
        input=given,
        expected=expected,
        comparison=comparison,
        timeout_s=minutes * 60.0,
        setup_timeout_s=minutes * 60.0,
        points=points,
        where=here,
        env={k: v for k, v in _env(step).items() if _NAME.match(k)} if kind is Kind.PYTHON else {},
    )


def _minutes(raw: str, here: str, conversion: Conversion) -> float:
    """`parseFloat(timeout || 10)`, in minutes."""
    found = _FLOAT.match(raw or "10")
    if found is None:
        conversion.note(NoteKind.CHANGED, here, f"timeout {raw!r} is not a number: 10 minutes")
        return 10.0
    minutes = float(found[1])
    if minutes <= 0:
        conversion.note(
            NoteKind.CHANGED, here, f"timeout {raw!r}: no limit in Classroom; the run's own here"
        )
        return 10.0
    if not (minutes * 60000).is_integer():
        conversion.note(
            NoteKind.CHECK,
            here,
            f"timeout {raw!r} minutes is not a whole number of milliseconds, which Node refused: "
            "the test errored on every run in Classroom",
        )
    return min(minutes, 360.0)


def _max_score(raw: str, here: str, conversion: Conversion) -> int | None:
    """`parseInt(max-score || 0)`: the whole part, and nothing for 0 or no number."""
    found = _INT.match(raw or "0")
    points = int(found[1]) if found else 0
    if raw and (not found or found[0].strip() != raw.strip()):
        conversion.note(
            NoteKind.CHANGED, here, f"max-score {raw!r} counts {points}, as Classroom read it"
        )
    return points or None


def _count(graders, reporter: dict | None, where: str, conversion: Conversion) -> list[Test]:
    """Keep the points of the steps the reporter counts; the others run for nothing."""
    tests = [test for _, test in graders]
    if not graders:
        return tests
    if reporter is None:
        conversion.note(
            NoteKind.CHECK,
            where,
            "no autograding-grading-reporter step: Classroom recorded no points; here each test "
            "counts its max-score",
        )
        return tests
    runners = [r.strip() for r in reporter["with"].get("runners", "").split(",") if r.strip()]
    if not runners:
        conversion.note(
            NoteKind.CHECK,
            reporter["where"],
            "the reporter lists no runners: Classroom recorded no points; here each test counts "
            "its max-score",
        )
        return tests
    ids = {sid.lower(): test for sid, test in graders if sid}
    counted: set[int] = set()
    for runner in runners:
        key = f"{runner.upper()}_RESULTS"
        found = _RESULT.match(reporter["env"].get(key) or "")
        test = ids.get((found[1] if found else runner).lower())
        if test is None:
            conversion.note(
                NoteKind.CHECK,
                reporter["where"],
                f"runner {runner!r} names no test step: Classroom's reporter failed on it and "
                "recorded no points at all",
            )
            continue
        if found is None:
            conversion.note(
                NoteKind.CHECK,
                reporter["where"],
                f"runner {runner!r} has no `{key}: ${{{{ steps.{runner}.outputs.result }}}}` in "
                "the reporter's env: Classroom's reporter failed and recorded no points at all; "
                f"counted here as the step {runner!r}",
            )
        if id(test) in counted:
            conversion.note(
                NoteKind.CHANGED,
                reporter["where"],
                f"runner {runner!r} is listed twice: Classroom counted its points twice, "
                "pushgrade once",
            )
        counted.add(id(test))
    for _, test in graders:
        if id(test) not in counted and test.points is not None:
            conversion.note(
                NoteKind.CHANGED,
                test.where,
                "not among the reporter's runners: it runs and counts for nothing, as in "
                "Classroom (give it points in tests.json to count it)",
            )
            test.points = None
    return tests


def _inputs(step: dict, here: str, conversion: Conversion) -> dict[str, str]:
    """The step's `with:` as `core.getInput` reads it: text, trimmed."""
    out = {}
    for key, node in _map(step.get("with")).items():
        value = _scalar(node)
        if value is None:
            conversion.note(NoteKind.DROPPED, here, f"`{key}` is not text: left out")
            continue
        if "${{" in value:
            conversion.note(
                NoteKind.CHECK, here, f"`{key}` holds a GitHub Actions expression, kept as text"
            )
        out[key] = value.strip()
    return out


def _env(step: dict) -> dict[str, str]:
    return {k: v for k, n in _map(step.get("env")).items() if (v := _scalar(n)) is not None}


def _map(node) -> dict:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _seq(node) -> list:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _scalar(node) -> str | None:
    """A scalar's text as written (YAML 1.2 reads `yes` and `010` as text, as Actions does)."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.style is None and node.value in _NULLS:
        return ""
    return node.value
