"""`pushgrade import classroom`, end to end on real Docker: a Classroom template converted, its
grader image built on a local base, and a reference and a broken solution graded the way the App
grades (runner.grade, with the assignment the command wrote), scoring exactly what Classroom's
runner gave the same repository.

Each expected number below is derived from the source Classroom ran: education/autograding's
src/runner.ts for autograding.json, and classroom-resources' autograding-io-grader,
-command-grader, -python-grader (src/main.js, bin/run.sh, runner/) and -grading-reporter
(src/notify-classroom.js: the total is the sum of the counted steps' scores over the sum of
their max-score). The comments say, test by test, why. Each image is built once per session,
tagged by the content of the grader folder (a rerun builds nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ghapp.core.config import load_file
from pushgrade.cli import main
from runner.grade import grade
from runner.outcome import Outcome, Status

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
BASE = "python:3.11-slim"  # the offline Python base, which scripts/test-images.sh also tags so

P, F = "passed", "failed"


@dataclass(frozen=True)
class Built:
    folder: Path  # the grader the command wrote
    image: str
    assignment: str

    def grade(self, sandbox, submission: Path) -> Outcome:
        org = load_file(
            (self.folder / "pushgrade-assignment.yml").read_bytes(), org=True, standalone=True
        )
        config = org.assignments[self.assignment]
        return grade(
            submission, config.sandbox_spec(pull_missing=False, image=self.image), sandbox=sandbox
        )


def convert(template: Path, out: Path, name: str, *extra: str) -> Path:
    args = ["import", "classroom", str(template), "--base", BASE, "--out", str(out)]
    assert main([*args, "--assignment", name, *extra]) == 0
    return out


def build(docker_client, folder: Path, name: str) -> str:
    import docker

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name not in ("IMPORT-NOTES.md", "pushgrade-assignment.yml"):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    tag = f"pushgrade-test/classroom-{name}:{digest.hexdigest()[:16]}"
    try:
        docker_client.images.get(tag)
    except docker.errors.ImageNotFound:
        docker_client.images.build(path=str(folder), tag=tag, rm=True, forcerm=True)
    return tag


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def results(outcome: Outcome) -> list[tuple]:
    return [(t.name, t.status.value, t.score, t.max_score) for t in outcome.tests]


# -- representative real-world configs, in the shapes Classroom's users wrote -------------------

# autograding.json as many templates wrote it: no comparison, no input, a shell pipeline that
# prints OK or ERRO, and a test with no output at all (its exit status decides, and `… || echo
# ERRO` always exits 0: it passes whatever, in Classroom too).
PIPELINES = {
    ".github/classroom/autograding.json": json.dumps(
        {
            "tests": [
                {
                    "name": "1. Soma de 1 a 10",
                    "run": "echo '10' | python3 soma.py | grep -q '55' && echo 'OK' || echo 'ERRO'",
                    "output": "OK",
                    "timeout": 5,
                    "points": 10,
                },
                {
                    "name": "2. Soma com N=0",
                    "run": "echo '0' | python3 soma.py | grep -qx '0' && echo 'OK' || echo 'ERRO'",
                    "output": "OK",
                    "timeout": 5,
                    "points": 5,
                },
                {
                    "name": "3. Sempre passa",
                    "run": "python3 soma.py < /dev/null | grep -q 'x' && echo 'OK' || echo 'ERRO'",
                    "timeout": 5,
                    "points": 15,
                },
            ]
        }
    ),
    "soma.py": "# escreva aqui\n",
}
SOMA_PASS = "n = int(input())\nprint(sum(range(1, n + 1)))\n"
SOMA_FAIL = "n = int(input())\nprint(sum(range(1, n)))\n"  # stops one short: 45 for 10

# A command-grader workflow as the Classroom UI generated it for a Python lab: one step per
# question, `python3 tests.py NN` (the teacher's harness) on the student's homework.py, a
# package installed by each setup, 1 point each; the reporter's runners leave one step out.
HARNESS = """import sys
import homework

expected = {"01": 3, "02": [1, 2, 3], "03": "ABC", "04": 0}
question = sys.argv[1]
got = getattr(homework, f"pregunta_{question}")()
sys.exit(0 if got == expected[question] else 1)
"""


def lab_workflow() -> str:
    steps = []
    for number in ("01", "02", "03", "04"):
        steps.append(
            f"    - name: Pregunta {number}\n      id: pregunta-{number}\n"
            "      uses: classroom-resources/autograding-command-grader@v1\n      with:\n"
            f"        test-name: Pregunta {number}\n"
            f"        setup-command: {'pip3 install pytest' if number < '03' else chr(39) * 2}\n"
            f"        command: python3 tests.py {number}\n        timeout: 1\n        max-score: 1"
        )
    env = "".join(
        f'        PREGUNTA-{n}_RESULTS: "${{{{steps.pregunta-{n}.outputs.result}}}}"\n'
        for n in ("01", "02", "03")
    )
    return (
        "name: Autograding Tests\n'on':\n- push\n- repository_dispatch\njobs:\n"
        "  run-autograding-tests:\n    runs-on: ubuntu-latest\n"
        "    if: github.actor != 'github-classroom[bot]'\n    steps:\n"
        "    - name: Checkout code\n      uses: actions/checkout@v4\n"
        + "\n".join(steps)
        + "\n    - name: Autograding Reporter\n"
        "      uses: classroom-resources/autograding-grading-reporter@v1\n      env:\n"
        + env
        + "      with:\n        runners: pregunta-01,pregunta-02,pregunta-03\n"
    )


LAB = {
    ".github/workflows/classroom.yml": lab_workflow(),
    "tests.py": HARNESS,
    "homework.py": "def pregunta_01():\n    pass\n",
}
HOMEWORK_PASS = """def pregunta_01():
    return 3

def pregunta_02():
    return [1, 2, 3]

def pregunta_03():
    return "ABC"

def pregunta_04():
    return 0
"""
HOMEWORK_FAIL = HOMEWORK_PASS.replace("[1, 2, 3]", "[1, 2]").replace("return 0", "return 1")

# An io-grader workflow with no max-score, whose reporter names a runner no step has (both seen
# in real templates): Classroom's reporter then failed and recorded no points at all; pushgrade
# runs the test and shows no score either.
NO_POINTS = {
    ".github/workflows/classroom.yml": (
        "name: Autograding Tests\n'on': [push]\njobs:\n  run-autograding-tests:\n"
        "    runs-on: ubuntu-latest\n    steps:\n    - uses: actions/checkout@v4\n"
        "    - name: test\n      id: test\n"
        "      uses: classroom-resources/autograding-io-grader@v1\n      with:\n"
        "        test-name: test\n        setup-command: ''\n        command: python tester.py\n"
        "        input: ''\n        expected-output: |-\n          c = 5.0\n"
        "          area = 314.1592653589793\n        comparison-method: contains\n"
        "        timeout: 10\n"
        "    - name: Autograding Reporter\n"
        "      uses: classroom-resources/autograding-grading-reporter@v1\n      env:\n"
        '        TEST_RESULTS: "${{ steps.test.outputs.result }}"\n'
        '      with:\n        runners: "github-classroom"\n'
    ),
    "tester.py": "import circle\nprint('c =', circle.C)\nprint('area =', circle.area(10))\n",
}
CIRCLE_PASS = "import math\nC = 5.0\n\ndef area(r):\n    return math.pi * r * r\n"
CIRCLE_FAIL = "C = 5.0\n\ndef area(r):\n    return 3.14 * r * r\n"


@pytest.fixture(scope="module")
def graders(docker_client, tmp_path_factory) -> dict[str, Built]:
    """Every case converted by the command and built, once."""
    work = tmp_path_factory.mktemp("classroom")
    templates = {
        "autograding": EXAMPLES / "classroom-autograding" / "template",
        "workflow": EXAMPLES / "classroom-workflow" / "template",
        "pipelines": write(work / "pipelines-template", PIPELINES),
        "lab": write(work / "lab-template", LAB),
        "nopoints": write(work / "nopoints-template", NO_POINTS),
    }
    built = {}
    for name, template in templates.items():
        folder = convert(template, work / f"{name}-grader", name)
        built[name] = Built(folder, build(docker_client, folder, name), name)
    return built


def submission(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    return write(tmp_path / name, files)


# -- the bundled examples -----------------------------------------------------------------------


def test_the_autograding_json_example_scores_as_classroom(sandbox, graders):
    example = EXAMPLES / "classroom-autograding"
    passing = graders["autograding"].grade(sandbox, example / "submission-pass")
    assert (passing.status, passing.score, passing.max_score) == (Status.PASSED, 17, 17)
    # education/autograding adds `points` of the tests that pass; "Prints its usage" has no
    # points (runs, counts nothing). The broken stats.py:
    failing = graders["autograding"].grade(sandbox, example / "submission-fail")
    assert results(failing) == [
        ("Counts the numbers", P, 2, 2),  # included: "count: 3" is in its output
        ("Exact report", F, 0, 3),  # exact: it prints "mean: 5.0", not "mean: 5.00"
        ("Mean & two decimals", F, 0, 2),  # regex mean: [0-9]+\.[0-9]{2}$ against "mean: 1.5"
        ("Reads a file of numbers", P, 1, 1),  # data/sample.txt comes from the grader's files/
        ("Functions work", P, 3, 3),  # no input nor output: exit status 0 passes
        ("pytest suite", F, 0, 4),  # its median is wrong for an even count: pytest exits 1
        ("Negative numbers", F, 0, 2),  # loops forever on "-1": killed at 0.1 minute (6 s)
        ("Prints its usage", F, None, None),  # exits 2 on --help: fails, counts nothing
    ]
    assert (failing.status, failing.score, failing.max_score) == (Status.FAILED, 6, 17)
    assert all(t.status.value == P for t in passing.tests)


def test_the_workflow_example_scores_as_classroom(sandbox, graders):
    example = EXAMPLES / "classroom-workflow"
    passing = graders["workflow"].grade(sandbox, example / "submission-pass")
    # The reporter counts greet (2), shout (3), count (max-score 2.5: parseInt, 2), unit (4),
    # speed (2), pytests (6) and lint (no max-score: 0, left out of the total); "Extra credit"
    # is not among its runners: it runs and counts nothing. 2+3+2+4+2+6 = 19.
    assert (passing.status, passing.score, passing.max_score) == (Status.PASSED, 19, 19)
    failing = graders["workflow"].grade(sandbox, example / "submission-fail")
    assert results(failing) == [
        ("Greets by name", F, 0, 2),  # exact: "Hello, ada!" is not "Hello, Ada!"
        ("Shout & contain", P, 3, 3),  # contains: "HELLO, ADA!" holds "HELLO, ADA"
        ("Counts words", P, 2, 2),  # regex ^3 words?$ on the trimmed "3 words"
        ("Unit tests", F, 0, 4),  # a failing pytest: the command exits 1
        ("Finishes in time", F, 0, 2),  # never passes a line break: killed at 0.1 min (6 s)
        ("Python tests", F, 4, 6),  # 2 of greet_test.py's 3 pass: 6 * 2/3, and the step failed
        ("Compiles", P, None, None),
        ("Extra credit", P, None, None),
    ]
    assert (failing.score, failing.max_score) == (9, 19)


# -- real-world shapes ----------------------------------------------------------------------------


def test_shell_pipelines_without_comparison_score_as_classroom(sandbox, graders, tmp_path):
    grader = graders["pipelines"]
    passing = grader.grade(sandbox, submission(tmp_path, "pass", {"soma.py": SOMA_PASS}))
    assert (passing.score, passing.max_score) == (30, 30)
    failing = grader.grade(sandbox, submission(tmp_path, "fail", {"soma.py": SOMA_FAIL}))
    assert results(failing) == [
        ("1. Soma de 1 a 10", F, 0, 10),  # it prints ERRO, which does not include OK
        ("2. Soma com N=0", P, 5, 5),
        ("3. Sempre passa", P, 15, 15),  # no output: `… || echo 'ERRO'` exits 0, as it did
    ]
    assert (failing.status, failing.score, failing.max_score) == (Status.FAILED, 20, 30)


def test_a_lab_of_command_steps_with_a_step_left_out_of_the_runners(sandbox, graders, tmp_path):
    grader = graders["lab"]
    dockerfile = (grader.folder / "Dockerfile").read_text()
    assert dockerfile.count("pip3 install --no-cache-dir pytest") == 1  # once, for two tests
    assert (grader.folder / "files" / "tests.py").is_file()
    assert not (grader.folder / "files" / "homework.py").exists()
    passing = grader.grade(sandbox, submission(tmp_path, "pass", {"homework.py": HOMEWORK_PASS}))
    assert results(passing) == [
        ("Pregunta 01", P, 1, 1),
        ("Pregunta 02", P, 1, 1),
        ("Pregunta 03", P, 1, 1),
        ("Pregunta 04", P, None, None),  # not among the runners: counted nowhere
    ]
    assert (passing.status, passing.score, passing.max_score) == (Status.PASSED, 3, 3)
    failing = grader.grade(sandbox, submission(tmp_path, "fail", {"homework.py": HOMEWORK_FAIL}))
    assert [(n, s) for n, s, *_ in results(failing)] == [
        ("Pregunta 01", P),
        ("Pregunta 02", F),
        ("Pregunta 03", P),
        ("Pregunta 04", F),
    ]
    assert (failing.score, failing.max_score) == (2, 3)


def test_a_workflow_that_counted_no_points_shows_no_score(sandbox, graders, tmp_path):
    grader = graders["nopoints"]
    notes = (grader.folder / "IMPORT-NOTES.md").read_text()
    assert "runner 'github-classroom' names no test step" in notes
    for name, code, status in (("pass", CIRCLE_PASS, P), ("fail", CIRCLE_FAIL, F)):
        outcome = grader.grade(sandbox, submission(tmp_path, name, {"circle.py": code}))
        assert results(outcome) == [("test", status, None, None)]
        assert (outcome.score, outcome.max_score) == (None, None)


# -- ORG/REPO, read through the App (the GitHub simulator on loopback) -------------------------


async def test_a_template_read_through_the_app_converts_as_its_folder_does(
    sandbox, docker_client, graders, tmp_path, monkeypatch, capsys
):
    from ghsim import GitHubSimulator

    template = EXAMPLES / "classroom-workflow" / "template"
    files = {
        p.relative_to(template).as_posix(): p.read_bytes()
        for p in template.rglob("*")
        if p.is_file()
    }
    out = tmp_path / "from-github"
    async with GitHubSimulator() as sim:
        sim.install("school", permissions={"contents": "read", "metadata": "read"})
        sim.create_repo(
            "school",
            "workflow-template",
            files={k: v for k, v in files.items() if v},
            template=True,
        )
        key = tmp_path / "app.pem"
        key.write_bytes(sim.private_key_pem)
        monkeypatch.chdir(tmp_path)
        for name in ("PUSHGRADE_ENV_FILE", "PUSHGRADE_PRIVATE_KEY", "PUSHGRADE_POLICY_FILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PUSHGRADE_APP_ID", str(sim.app_id))
        monkeypatch.setenv("PUSHGRADE_PRIVATE_KEY_FILE", str(key))
        monkeypatch.setenv("PUSHGRADE_GITHUB_API_URL", sim.url)
        args = ["import", "classroom", "school/workflow-template", "--base", BASE]
        args += ["--out", str(out), "--assignment", "workflow"]
        assert await asyncio.to_thread(main, args) == 0
        capsys.readouterr()
        missing = ["import", "classroom", "school/nothing", "--base", BASE]
        assert await asyncio.to_thread(main, missing) == 2
        assert "the App is not installed on school/nothing" in capsys.readouterr().err
    folder = graders["workflow"].folder
    for name in ("Dockerfile", "tests.json", "run_tests.py"):
        assert (out / name).read_bytes() == (folder / name).read_bytes(), name
    assert sorted(p.relative_to(out).as_posix() for p in (out / "files").rglob("*")) == sorted(
        p.relative_to(folder).as_posix() for p in (folder / "files").rglob("*")
    )
    assert "template: workflow-template" in (out / "pushgrade-assignment.yml").read_text()
    assert "school/workflow-template@" in (out / "IMPORT-NOTES.md").read_text()
    # The same grader: the same image (built from the same content, so not built again).
    built = Built(out, build(docker_client, out, "workflow"), "workflow")
    assert built.image == graders["workflow"].image
    failing = built.grade(sandbox, EXAMPLES / "classroom-workflow" / "submission-fail")
    assert (failing.score, failing.max_score) == (9, 19)
