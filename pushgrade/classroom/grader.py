"""The grader repository's text files, from a conversion: the Dockerfile, tests.json, the
org-file assignment and IMPORT-NOTES.md (which the command also prints)."""

from __future__ import annotations

import json
import shlex
from collections import defaultdict
from dataclasses import dataclass

import yaml

from pushgrade.classroom.convert import CEILING_S, SLACK_S, Grader
from pushgrade.classroom.files import BUILD_REASON
from pushgrade.classroom.model import BuildStep, Kind, NoteKind
from pushgrade.classroom.shell import one_line

_APT_PYTHON = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
    "{} && rm -rf /var/lib/apt/lists/*"
)


@dataclass(frozen=True)
class Names:
    assignment: str
    grader_repo: str
    template_repo: str
    source: str  # what the teacher gave: a folder or ORG/REPO (and the commit read)
    base: str


def dockerfile(grader: Grader, names: Names) -> str:
    steps: dict[str, tuple[BuildStep, list[str]]] = {}
    for step, where in grader.conversion.steps:
        steps.setdefault(step.run, (step, []))[1].append(where)
    lines = [
        f"# The grader of {one_line(names.assignment)}, imported from GitHub Classroom",
        "# by `pushgrade import classroom`: each Classroom test (tests.json) runs as",
        "# Classroom's runner ran it, and /results/results.json gets the same names and",
        "# points. IMPORT-NOTES.md says what changed on the way.",
        f"FROM {names.base}",
        "# The runner, run_tests.py, is a Python 3 script (standard library only).",
        "RUN command -v python3 >/dev/null || (" + _APT_PYTHON.format("python3") + ")",
    ]
    if any(t.kind is Kind.PYTHON for t in grader.conversion.tests):
        lines += [
            "# Classroom's python grader ran pytest on every *_test.py.",
            "RUN python3 -m pytest --version >/dev/null 2>&1 || PIP_BREAK_SYSTEM_PACKAGES=1 "
            "python3 -m pip install --no-cache-dir pytest || ("
            + _APT_PYTHON.format("python3-pytest")
            + ")",
        ]
    if grader.selection.build:
        lines.append("COPY build/ /grader/build/")
    for stage in (0, 1):
        lines += _runs(steps.values(), stage)
    lines.append(
        "COPY files/ /grader/files/" if grader.selection.taken else "RUN mkdir -p /grader/files"
    )
    lines += _runs(steps.values(), 2)
    lines += ["COPY run_tests.py tests.json /grader/", 'CMD ["python3", "/grader/run_tests.py"]']
    return "\n".join(lines) + "\n"


def _runs(steps, stage: int) -> list[str]:
    out = []
    for step, wheres in steps:
        if step.stage != stage:
            continue
        origin = wheres[0] if len(wheres) == 1 else f"{wheres[0]} and {len(wheres) - 1} more"
        out += [f"# Moved from {one_line(origin, 90)}", f"RUN {step.run}"]
    return out


def tests_json(grader: Grader) -> str:
    document = {"version": 1, "tests": [t.as_json() for t in grader.conversion.tests]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def assignment_yaml(grader: Grader, names: Names) -> str:
    settings = {
        "repos": f"{names.assignment}-*",
        "grader": names.grader_repo,
        "template": names.template_repo,
        "results": "gradescope",
        "timeout": grader.timeout_s,
        "network": False,
    }
    body = yaml.safe_dump(
        {"assignments": {names.assignment: settings}}, sort_keys=False, default_flow_style=False
    )
    head = [
        f"# {names.assignment}, imported from GitHub Classroom ({one_line(names.source)}).",
        "# Paste the assignment under `assignments:` in the org's .github/pushgrade.yml (in the",
        "# org's .github repository); check it with",
        "# `pushgrade check-config --org-file .github/pushgrade.yml`.",
        f"# timeout: every test's limit, and {SLACK_S} s for the runner; at most {CEILING_S} s,",
        "# the default ceiling an operator sets.",
    ]
    if grader.conversion.needs_network:
        head.append(
            "# network: false, and these tests reach the network (IMPORT-NOTES.md): "
            + one_line(", ".join(grader.conversion.needs_network), 200)
        )
    return "\n".join(head) + "\n" + body


_SECTIONS = (
    (NoteKind.MOVED, "Moved into the image build (done once, not before each run)"),
    (NoteKind.KEPT, "Kept at each run"),
    (NoteKind.CHANGED, "Carried over with a difference"),
    (NoteKind.DROPPED, "Not carried over"),
    (NoteKind.CHECK, "Check these: they may not work, or not mean, what they did in Classroom"),
)


def notes_markdown(grader: Grader, names: Names, out: str) -> str:
    conversion, chosen = grader.conversion, grader.selection
    tests = conversion.tests
    total = sum(t.points for t in tests if t.points)
    lines = [
        f"# {names.assignment}: imported from GitHub Classroom",
        "",
        f"From {names.source}, read from {', '.join(conversion.configs)}. {len(tests)} "
        f"test{'' if len(tests) == 1 else 's'}, "
        f"{total:g} points; the assignment's timeout is {grader.timeout_s} s.",
        "",
        "| # | test | runner | points | time limit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number, test in enumerate(tests, start=1):
        points = "none" if test.points is None else f"{test.points:g}"
        limit = f"{test.timeout_s:g} s"
        if test.setup_timeout_s is not None and test.setup.strip():
            limit += f" (setup {test.setup_timeout_s:g} s)"
        name = one_line(test.name, 80).replace("|", "\\|")
        lines.append(f"| {number} | {name} | {test.kind.value} | {points} | {limit} |")
    grouped = defaultdict(list)
    for note in conversion.notes:
        grouped[note.kind].append(note)
    for kind, title in _SECTIONS:
        if grouped[kind]:
            lines += ["", f"## {title}", ""]
            lines += [f"- {one_line(str(note), 400)}" for note in grouped[kind]]
    lines += ["", "## The tests' files (files/, laid over the student's files at each run)", ""]
    lines += [f"- {path}: {why}" for path, why in sorted(chosen.taken.items())] or ["- none"]
    if chosen.build:
        lines += ["", "Build only (build/): " + ", ".join(chosen.build)]
    if chosen.left:
        lines += ["", "Named by a test but left to the student (add one with --tests-path):", ""]
        lines += [f"- {path}: {why}" for path, why in sorted(chosen.left.items())]
    if chosen.dropped:
        lines += ["", "Left out by --drop-path: " + ", ".join(chosen.dropped)]
    lines += ["", "## Next", "", *_next_steps(grader, names, out)]
    return "\n".join(lines) + "\n"


def _next_steps(grader: Grader, names: Names, out: str) -> list[str]:
    taken = sorted(p for p, why in grader.selection.taken.items() if why != BUILD_REASON)
    remove = " ".join(_quote_path(p) for p in [*grader.conversion.configs, *taken])
    return [
        f"1. Try it: `docker build -t {names.assignment}-grader:try {out}`, then `pushgrade try "
        f"SOLUTION --config {out}/pushgrade-assignment.yml --image {names.assignment}-grader:try` "
        "on a solution of yours (`--as-student` shows the check run a student reads).",
        f"2. Push {out} to a private repository `{names.grader_repo}` of the org the students "
        "cannot read, and install the App on it.",
        "3. Paste pushgrade-assignment.yml's assignment into the org's .github/pushgrade.yml. "
        "It keeps pushgrade's default limits (512 MiB of memory, 1 CPU, 256 processes; "
        "Classroom's runners were 2-CPU machines with 7 GB): add `limits:` if the tests need "
        "more.",
        "4. Take the tests out of the template, so that students no longer see them: in a clone "
        f"of {names.template_repo}, `git rm -r {remove}`, commit, push. Repositories handed "
        "out before keep their copies; the grader's win at each run.",
    ]


def _quote_path(path: str) -> str:
    return shlex.quote(path)
