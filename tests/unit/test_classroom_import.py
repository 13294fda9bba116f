"""`pushgrade import classroom`, without Docker: GitHub Classroom's two formats read as Classroom's
runners read them (every odd case real configs have), what moves into the image build, which
files the grader carries, what the teacher is warned about, and the folder it writes."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from ghapp.core.config import load_file
from pushgrade.classroom import autograding, workflow
from pushgrade.classroom.convert import convert
from pushgrade.classroom.model import Conversion, Kind, TemplateError
from pushgrade.classroom.template import Template
from pushgrade.cli import main

JSON = ".github/classroom/autograding.json"
WORKFLOW = ".github/workflows/classroom.yml"


def template(tmp_path: Path, files: dict[str, str]) -> Template:
    root = tmp_path / "template"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return Template.scan(root)


def from_json(tmp_path: Path, *tests: dict, files: dict[str, str] | None = None, **options):
    data = {JSON: json.dumps({"tests": list(tests)}), **(files or {})}
    return convert(template(tmp_path, data), **options)


def step(uses: str, sid: str, **inputs) -> str:
    lines = [f"    - name: {sid}", f"      id: {sid}", f"      uses: {uses}"]
    if inputs:
        lines.append("      with:")
        lines += [f"        {key.replace('_', '-')}: {json.dumps(v)}" for key, v in inputs.items()]
    return "\n".join(lines)


def reporter(*runners: str, env: dict[str, str] | None = None) -> str:
    if env is None:
        env = {f"{r.upper()}_RESULTS": f"${{{{steps.{r}.outputs.result}}}}" for r in runners}
    lines = ["    - name: Autograding Reporter"]
    lines.append("      uses: classroom-resources/autograding-grading-reporter@v1")
    if env:
        lines.append("      env:")
        lines += [f"        {k}: {json.dumps(v)}" for k, v in env.items()]
    lines += ["      with:", f"        runners: {','.join(runners)}"]
    return "\n".join(lines)


def workflow_text(*steps: str) -> str:
    head = "name: Autograding Tests\n'on': [push]\njobs:\n  run-autograding-tests:\n"
    head += "    runs-on: ubuntu-latest\n    steps:\n    - uses: actions/checkout@v4\n"
    return head + "\n".join(steps) + "\n"


def from_workflow(tmp_path: Path, *steps: str, files: dict[str, str] | None = None):
    return convert(template(tmp_path, {WORKFLOW: workflow_text(*steps), **(files or {})}))


def io(sid: str = "t", **inputs) -> str:
    defaults = {"test_name": sid, "command": "python3 main.py", "input": "x"}
    defaults |= {"expected_output": "y", "comparison_method": "exact"}
    return step("classroom-resources/autograding-io-grader@v1", sid, **(defaults | inputs))


def command(sid: str = "t", **inputs) -> str:
    defaults = {"test_name": sid, "command": "python3 -m pytest"}
    return step("classroom-resources/autograding-command-grader@v1", sid, **(defaults | inputs))


def notes(grader) -> str:
    return "\n".join(str(note) for note in grader.conversion.notes)


def read_json(*tests: dict):
    """autograding.json's tests as parsed (before the assignment's time budget), and the notes."""
    conversion = Conversion()
    found = autograding.parse(json.dumps({"tests": list(tests)}).encode(), conversion)
    return found, "\n".join(map(str, conversion.notes))


def read_workflow(*steps: str):
    conversion = Conversion()
    found, _ = workflow.parse(workflow_text(*steps).encode(), WORKFLOW, conversion)
    return found, "\n".join(map(str, conversion.notes))


def runs(grader) -> list[str]:
    return [step.run for step, _ in grader.conversion.steps]


# -- autograding.json, as education/autograding read it -------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected", "said"),
    [
        ({}, {"points": None, "timeout_s": 60.0, "comparison": "included"}, None),
        ({"points": None}, {"points": None}, None),
        ({"points": 0}, {"points": None}, None),
        ({"points": 2.5}, {"points": 2.5}, None),
        ({"points": 10.0}, {"points": 10}, None),
        ({"points": "10"}, {"points": 10}, "joined as text"),
        ({"points": True}, {"points": 1}, "counted as 1"),
        ({"points": -2}, {"points": None}, "negative"),
        ({"timeout": 0}, {"timeout_s": 60.0}, None),
        ({"timeout": 10}, {"timeout_s": 600.0}, None),
        ({"timeout": 0.5}, {"timeout_s": 30.0}, None),
        ({"timeout": "5"}, {"timeout_s": 300.0}, None),
        ({"timeout": "soon"}, {"timeout_s": 30.0}, "not a number: 30 s"),
        ({"comparison": "exact"}, {"comparison": "exact"}, None),
        ({"comparison": "regex"}, {"comparison": "regex"}, None),
        ({"comparison": "contains"}, {"comparison": "included"}, "'included'"),
        ({"name": "A &amp; B &lt;3&gt; "}, {"name": "A & B <3>"}, "entities"),
        ({"name": "  spaced  "}, {"name": "spaced"}, None),
        ({"name": ""}, {"name": "Test 1"}, "no name"),
        ({"run": "make\n./prog --check"}, {"run": "make\n./prog --check"}, None),
        ({"run": None}, {"run": "exit 1"}, "failed this test every time"),
        ({"input": 5}, {"input": "5"}, "read as text"),
        ({"setup": None, "input": None, "output": None}, {"setup": "", "input": ""}, None),
        ({"description": "why"}, {}, "did not read: description"),
    ],
)
def test_an_autograding_json_test_reads_as_classrooms_runner_read_it(fields, expected, said):
    (test,), said_all = read_json({"name": "T", "run": "python3 main.py"} | fields)
    assert test.kind is Kind.AUTOGRADING_JSON and test.setup_timeout_s is None
    shown = test.as_json()
    assert {key: shown[key] for key in expected} == expected
    if said is not None:
        assert said in said_all


def test_an_empty_input_and_output_leave_the_exit_status_to_judge(tmp_path):
    grader = from_json(tmp_path, {"name": "T", "run": "make test", "input": "", "output": ""})
    (test,) = grader.conversion.tests
    assert (test.input, test.expected, test.comparison) == ("", "", "included")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"tests": [\n  {"name": "a",}\n]}', "line 2, column 16: not valid JSON"),
        ('{"tests": {}}', 'expected {"tests": [...]}'),
        ("[]", 'expected {"tests": [...]}'),
        ('{"tests": [{"points": NaN}]}', "NaN is not JSON"),
        ("\xff", "not UTF-8"),
    ],
)
def test_a_broken_autograding_json_is_named_with_its_line(tmp_path, text, problem):
    root = template(tmp_path, {})
    (root.root / JSON).parent.mkdir(parents=True)
    (root.root / JSON).write_bytes(text.encode("latin-1") if text == "\xff" else text.encode())
    with pytest.raises(TemplateError, match=JSON) as caught:
        convert(Template.scan(root.root))
    assert problem in str(caught.value)


def test_a_template_without_classroom_tests_is_refused(tmp_path):
    other = "on: push\njobs:\n  ci:\n    steps:\n    - run: make\n"
    with pytest.raises(TemplateError, match="no GitHub Classroom tests"):
        convert(template(tmp_path, {".github/workflows/ci.yml": other, "main.py": ""}))
    with pytest.raises(TemplateError, match="no GitHub Classroom tests"):
        from_json(tmp_path / "empty")


# -- the classroom-resources actions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "expected", "said"),
    [
        ({"comparison_method": "exact"}, {"comparison": "exact", "points": None}, None),
        ({"comparison_method": "contains"}, {"comparison": "included"}, None),
        (
            {"comparison_method": "regex", "max_score": 3},
            {"comparison": "regex", "points": 3},
            None,
        ),
        (
            {"comparison_method": "included", "max_score": 3},
            {"comparison": None, "points": None},
            "refused the test on every run",
        ),
        ({"expected_output": "", "max_score": 3}, {"points": None}, "empty expected-output"),
        ({"max_score": 2.5}, {"points": 2}, "counts 2"),
        ({"max_score": "0"}, {"points": None}, None),
        ({"max_score": "ten"}, {"points": None}, "counts 0"),
        ({}, {"timeout_s": 600.0, "setup_timeout_s": 600.0}, None),
        ({"timeout": 1}, {"timeout_s": 60.0, "setup_timeout_s": 60.0}, None),
        ({"timeout": "0.1"}, {"timeout_s": 6.0}, None),
        ({"timeout": 0}, {"timeout_s": 600.0}, "no limit in Classroom"),
        (
            {"input": "  Ada \n", "expected_output": " Hi \n"},
            {"input": "Ada", "expected": "Hi"},
            None,
        ),
        ({"test_name": "Shout &amp; count  "}, {"name": "Shout & count"}, "entities"),
        ({"command": ""}, {"points": None}, "no command"),
    ],
)
def test_an_io_grader_step_reads_as_the_action_read_it(inputs, expected, said):
    (test,), said_all = read_workflow(io(**inputs), reporter("t"))
    assert test.kind is Kind.IO
    shown = test.as_json()
    assert {key: shown[key] for key in expected} == expected
    if said is not None:
        assert said in said_all


def test_yaml_words_stay_the_text_actions_read(tmp_path):
    text = workflow_text(
        "    - id: t\n      uses: classroom-resources/autograding-io-grader@v1\n      with:\n"
        "        test-name: t\n        command: ./answer\n        input: 010\n"
        "        expected-output: yes\n        comparison-method: exact\n"
    )
    (test,) = convert(template(tmp_path, {WORKFLOW: text})).conversion.tests
    assert (test.input, test.expected) == ("010", "yes")


def test_command_and_python_graders():
    python = "    - name: Python tests\n      id: py\n"
    python += "      uses: classroom-resources/autograding-python-grader@v1\n"
    python += (
        "      env:\n        SEED: '3'\n      with:\n        max-score: 10\n        timeout: 2\n"
    )
    (unit, py), _ = read_workflow(
        command("unit", max_score=4, setup_command="make"), python, reporter("unit", "py")
    )
    assert (unit.kind, unit.run, unit.setup, unit.points) == (
        Kind.COMMAND,
        "python3 -m pytest",
        "make",
        4,
    )
    assert unit.comparison is None
    assert (py.kind, py.name, py.run, py.points, py.timeout_s) == (
        Kind.PYTHON,
        "Python tests",
        "",
        10,
        120.0,
    )
    assert py.as_json()["env"] == {"SEED": "3"}


def test_a_fork_of_an_action_is_read_as_the_original(tmp_path):
    grader = from_workflow(
        tmp_path, step("someone/autograding-command-grader@v1", "t", test_name="t", command="ls")
    )
    assert [t.kind for t in grader.conversion.tests] == [Kind.COMMAND]
    assert "a fork" in notes(grader)


# -- the reporter: which steps count --------------------------------------------------------------


def test_a_step_the_reporters_runners_omit_runs_and_counts_for_nothing(tmp_path):
    grader = from_workflow(
        tmp_path, command("a", max_score=2), command("b", max_score=5), reporter("a")
    )
    assert [(t.name, t.points) for t in grader.conversion.tests] == [("a", 2), ("b", None)]
    assert "not among the reporter's runners" in notes(grader)


def test_runners_with_hyphens_reach_their_env_as_classroom_spells_it(tmp_path):
    grader = from_workflow(
        tmp_path,
        command("map-sound", max_score=2),
        reporter("map-sound", env={"MAP-SOUND_RESULTS": "${{ steps.map-sound.outputs.result }}"}),
    )
    assert [t.points for t in grader.conversion.tests] == [2]
    assert "CHECK" not in [n.kind.name for n in grader.conversion.notes]


@pytest.mark.parametrize(
    ("runners", "env", "points", "said"),
    [
        (("a",), {}, [2], "failed and recorded no points at all"),
        (("github-classroom",), {"GITHUB-CLASSROOM_RESULTS": "x"}, [None], "names no test step"),
        (("a", "a"), None, [2], "listed twice"),
        ((), {}, [2], "lists no runners"),
    ],
)
def test_a_broken_reporter_is_said(tmp_path, runners, env, points, said):
    grader = from_workflow(tmp_path, command("a", max_score=2), reporter(*runners, env=env))
    assert [t.points for t in grader.conversion.tests] == points
    assert said in notes(grader)


def test_without_a_reporter_each_test_counts_its_max_score(tmp_path):
    grader = from_workflow(tmp_path, command("a", max_score=2))
    assert [t.points for t in grader.conversion.tests] == [2]
    assert "no autograding-grading-reporter" in notes(grader)


def test_a_broken_workflow_is_named_with_its_line(tmp_path):
    bad = "jobs:\n  t:\n    steps:\n    - uses: classroom-resources/autograding-io-grader@v1\n"
    bad += "      with: {test-name: [unclosed\n"
    with pytest.raises(TemplateError, match=r"classroom\.yml: line \d+, column \d+"):
        convert(template(tmp_path, {WORKFLOW: bad}))


# -- what moves into the image build ---------------------------------------------------------------

APT = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
    "{} && rm -rf /var/lib/apt/lists/*"
)
PIP = "PIP_BREAK_SYSTEM_PACKAGES=1 {} install --no-cache-dir {}"


@pytest.mark.parametrize(
    ("setup", "kept", "moved"),
    [
        ("sudo apt-get update && sudo apt-get install -y valgrind", "", [APT.format("valgrind")]),
        ("sudo -H pip3 install pytest", "", [PIP.format("pip3", "pytest")]),
        (
            "python -m pip install --user 'numpy>=1.2' pandas",
            "",
            [PIP.format("python3 -m pip", "'numpy>=1.2' pandas")],
        ),
        (
            "pip install -r requirements.txt",
            "",
            [PIP.format("pip", "-r /grader/build/requirements.txt")],
        ),
        ("pip install -r missing.txt", "pip install -r missing.txt", []),
        ("pip install -e .", "pip install -e .", []),
        ("npm install", "", ["cd /grader/files && npm install"]),
        ("npm ci && npm run build", "npm run build", ["cd /grader/files && npm ci"]),
        ("npm install -g typescript", "", ["npm install -g typescript"]),
        ("gem install rspec", "", ["gem install --no-document rspec"]),
        ("make && ./build.sh", "make && ./build.sh", []),
        ("cd app && pip install flask", "cd app && pip install flask", []),
        ("pip install pytest | tee log", "pip install pytest | tee log", []),
        ("sudo apt-get install -y gcc\nmake\n", "make", [APT.format("gcc")]),
        (
            "pip install pytest; python3 -m pytest -x",
            "python3 -m pytest -x",
            [PIP.format("pip", "pytest")],
        ),
        ("if true; then pip install x; fi", "if true; then pip install x; fi", []),
        ("sudo make install", "make install", []),
        ("chmod +x ./test.sh", "chmod +x ./test.sh", []),
        ("pip install \\\n  pytest\nmake", "make", [PIP.format("pip", "pytest")]),
        ("sudo apt-get upgrade -y && mvn -q compile", "mvn -q compile", []),
    ],
)
def test_package_installs_move_into_the_build_and_the_rest_stays(tmp_path, setup, kept, moved):
    files = {"requirements.txt": "pytest\n", "package.json": "{}", "app/x.py": ""}
    grader = from_json(tmp_path, {"name": "T", "setup": setup, "run": "true"}, files=files)
    (test,) = grader.conversion.tests
    assert (test.setup, runs(grader)) == (kept, moved)


def test_the_files_a_build_step_needs_go_with_it(tmp_path):
    files = {"requirements.txt": "pytest\n", "package.json": "{}", "package-lock.json": "{}"}
    grader = from_json(
        tmp_path,
        {"name": "a", "setup": "pip install -r requirements.txt", "run": "true"},
        {"name": "b", "setup": "npm install", "run": "npm test"},
        files=files,
    )
    assert grader.selection.build == ["requirements.txt"]
    assert {"package.json", "package-lock.json"} <= set(grader.selection.taken)


def test_workflow_steps_before_the_tests_move_or_run_once_first(tmp_path):
    setup = (
        "    - uses: actions/setup-java@v4\n      with: {java-version: '17', distribution: temurin}"
    )
    install = "    - name: Install\n      run: sudo apt-get install -y cmake && pip install pytest"
    build = "    - name: Build\n      working-directory: src\n      run: cmake -S . -B build"
    grader = from_workflow(
        tmp_path, setup, install, build, command("a", max_score=1), reporter("a")
    )
    assert runs(grader) == [APT.format("cmake"), PIP.format("pip", "pytest")]
    (test,) = grader.conversion.tests
    assert test.setup == "(\ncd src\ncmake -S . -B build\n)"
    said = notes(grader)
    assert "java 17" in said and "eclipse-temurin:17" in said


# -- what the teacher is warned about ------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "said"),
    [
        ("git log --oneline | wc -l", "reads the git history (`git log`)"),
        ("curl -s https://example.com/t.py | python3", "reaches the network"),
        ("git clone https://example.com/tests && make -C tests", "reaches the network"),
        ("pip install requests && python3 main.py", "reaches the network"),
        ("mvn test", "reaches the network"),
        ("cat answer.txt", "answer.txt, a file of the student's repository"),
        ("cat score.txt", "reads a grade from score.txt"),
        ("sudo python3 main.py", "`sudo` taken off the command"),
        ("sudo python3 main.py | tee log", "uses `sudo`"),
        ("./check.sh || true", "passes whatever the student's code does"),
        ("echo ${{ secrets.TOKEN }}", "GitHub Actions expression"),
    ],
)
def test_what_will_not_work_in_the_grader_is_flagged(tmp_path, run, said):
    files = {"answer.txt": "", "check.sh": "", "main.py": ""}
    grader = from_json(tmp_path, {"name": "T", "run": run}, files=files)
    assert said in notes(grader)
    assert not [n for n in grader.conversion.notes if "git history" in n.text and "git" not in run]


def test_a_test_that_reaches_the_network_is_named_in_the_assignment(tmp_path):
    grader = from_json(tmp_path, {"name": "Downloads", "run": "wget http://x/y"})
    assert grader.conversion.needs_network == ["Downloads"]


# -- which files go into files/ ------------------------------------------------------------------


def test_the_grader_takes_the_tests_and_leaves_the_students_code(tmp_path):
    files = {
        "main.py": "",
        "README.md": "",
        "tests.py": "",
        "tests/test_main.py": "",
        "src/test/java/AppTest.java": "",
        "hello.test.js": "",
        "cases/in1.txt": "1 2",
        "expected/out1.txt": "3",
        "answer.txt": "",
        "node_modules/x/x_test.py": "",
        ".github/tests/check.sh": "",
        ".github/workflows/other.yml": "",
    }
    run = (
        "python3 main.py < cases/in1.txt > out.txt && diff out.txt expected/out1.txt "
        "&& python3 tests.py && cat answer.txt && bash .github/tests/check.sh"
    )
    grader = from_json(tmp_path, {"name": "T", "run": run}, files=files)
    taken, left = grader.selection.taken, grader.selection.left
    assert set(taken) == {
        "tests.py",
        "tests/test_main.py",
        "src/test/java/AppTest.java",
        "hello.test.js",
        "cases/in1.txt",
        "expected/out1.txt",
        ".github/tests/check.sh",
    }
    assert set(left) == {"main.py", "answer.txt"}


def test_paths_can_be_added_and_dropped(tmp_path):
    files = {"main.py": "", "helper.py": "", "tests/test_a.py": "", "tests/fixtures/big.bin": ""}
    grader = from_json(
        tmp_path,
        {"name": "T", "run": "python3 main.py"},
        files=files,
        extra=["helper.py"],
        drop=["tests/fixtures"],
    )
    assert set(grader.selection.taken) == {"helper.py", "tests/test_a.py"}
    assert grader.selection.dropped == ["tests/fixtures/big.bin"]
    with pytest.raises(TemplateError, match=r"--tests-path 'nothing\.py': no such file"):
        from_json(tmp_path / "again", {"name": "T", "run": "x"}, extra=["nothing.py"])
    with pytest.raises(TemplateError, match="inside the template"):
        from_json(tmp_path / "out", {"name": "T", "run": "x"}, extra=["../etc/passwd"])


# -- the assignment's time and the folder written -------------------------------------------------


def test_time_limits_that_add_up_past_the_ceiling_are_cut_alike(tmp_path):
    tests = [{"name": f"T{i}", "run": "true", "timeout": 10, "points": 1} for i in range(3)]
    grader = from_json(tmp_path, *tests)
    assert grader.timeout_s == 600
    assert [t.timeout_s for t in grader.conversion.tests] == [190.0, 190.0, 190.0]
    assert "each is cut to 32% of Classroom's" in notes(grader)
    few = from_json(tmp_path / "few", {"name": "T", "run": "true", "timeout": 2})
    assert few.timeout_s == 150 and few.conversion.tests[0].timeout_s == 120.0


def write_example(tmp_path: Path) -> Path:
    files = {
        JSON: json.dumps(
            {
                "tests": [
                    {
                        "name": "prints\nRUN rm -rf /",
                        "setup": "sudo apt-get install -y bc",
                        "run": "python3 main.py",
                        "input": "1",
                        "output": "1",
                        "points": 2,
                    },
                    {"name": "unit", "run": "python3 -m pytest tests", "points": 3},
                ]
            }
        ),
        "main.py": "print(input())\n",
        "tests/test_main.py": "def test_nothing():\n    pass\n",
    }
    root = tmp_path / "hw1-template"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_the_grader_folder_holds_the_image_the_runner_and_a_valid_assignment(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["import", "classroom", str(write_example(tmp_path)), "--base", "python:3.12-slim",
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "# hw1: imported from GitHub Classroom" in printed.out
    assert sorted(p.name for p in out.iterdir()) == [
        "Dockerfile", "IMPORT-NOTES.md", "files", "pushgrade-assignment.yml", "run_tests.py",
        "tests.json",
    ]  # fmt: skip
    dockerfile = (out / "Dockerfile").read_text().splitlines()
    instructions = [line.split()[0] for line in dockerfile if not line.startswith("#")]
    assert instructions == ["FROM", "RUN", "RUN", "COPY", "COPY", "CMD"]
    assert dockerfile[dockerfile.index("FROM python:3.12-slim") + 2].startswith(
        "RUN command -v python3 >/dev/null ||"
    )
    assert "RUN " + APT.format("bc") in dockerfile
    assert dockerfile[-1] == 'CMD ["python3", "/grader/run_tests.py"]'
    runner = resources.files("pushgrade.classroom").joinpath("run_tests.py").read_bytes()
    assert (out / "run_tests.py").read_bytes() == runner
    assert [p.relative_to(out).as_posix() for p in (out / "files").rglob("*")] == [
        "files/tests",
        "files/tests/test_main.py",
    ]
    document = json.loads((out / "tests.json").read_text())
    assert document["version"] == 1
    assert [t["name"] for t in document["tests"]] == ["prints\nRUN rm -rf /", "unit"]
    assert document["tests"][0]["setup"] == ""
    config = load_file((out / "pushgrade-assignment.yml").read_bytes(), org=True, standalone=True)
    hw1 = config.assignments["hw1"]
    assert (hw1.repos, hw1.grader.repo, hw1.template) == (("hw1-*",), "hw1-grader", "hw1-template")
    assert (hw1.results.value, hw1.timeout, hw1.network) == ("gradescope", 150, False)
    assert main(["check-config", "--org-file", str(out / "pushgrade-assignment.yml")]) == 0
    notes_md = (out / "IMPORT-NOTES.md").read_text()
    assert "git rm -r .github/classroom/autograding.json tests/test_main.py" in notes_md


def test_a_folder_that_is_not_empty_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "files").mkdir(parents=True)
    (out / "files" / "stale.py").write_text("")
    (out / "keep.txt").write_text("mine")
    args = ["import", "classroom", str(write_example(tmp_path)), "--base", "python:3.12-slim",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pushgrade: {out} is not empty: give --force") and err.count("\n") == 1
    assert main([*args, "--force"]) == 0
    assert not (out / "files" / "stale.py").exists() and (out / "keep.txt").read_text() == "mine"
    assert (out / "files" / "tests" / "test_main.py").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/thing/here"], "is neither a folder nor ORG/REPO"),
        (["TEMPLATE", "--base", "python 3"], "--base 'python 3' is not an image reference"),
        (["TEMPLATE", "--assignment=-hw"], "--assignment '-hw'"),
        (["TEMPLATE", "--grader-repo", "a/b/c"], "--grader-repo 'a/b/c'"),
        (["EMPTY"], "no GitHub Classroom tests"),
        (["FILE"], "is a file"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    root = write_example(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("")
    swap = {"TEMPLATE": str(root), "EMPTY": str(tmp_path / "empty"), "FILE": str(tmp_path / "file")}
    argv = [swap.get(a, a) for a in args]
    if "--base" not in argv:
        argv += ["--base", "python:3.12-slim"]
    assert main(["import", "classroom", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pushgrade: ") and message in err and err.count("\n") == 1, err


def test_org_repo_without_the_apps_settings_says_what_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("PUSHGRADE_APP_ID", "PUSHGRADE_PRIVATE_KEY", "PUSHGRADE_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PUSHGRADE_ENV_FILE", raising=False)
    assert main(["import", "classroom", "school/hw1-template", "--base", "python:3.12"]) == 2
    err = capsys.readouterr().err
    assert "reading school/hw1-template through the App needs its settings" in err
    assert "PUSHGRADE_APP_ID" in err and err.count("\n") == 1


def test_a_link_out_of_the_template_is_refused(tmp_path, capsys):
    root = write_example(tmp_path)
    (root / "tests" / "test_secret.py").symlink_to("/etc/passwd")
    assert main(["import", "classroom", str(root), "--base", "python:3.12-slim"]) == 2
    err = capsys.readouterr().err
    assert "tests/test_secret.py" in err and err.count("\n") == 1


def test_an_oversized_autograding_json_is_refused(tmp_path):
    padding = " " * (1024 * 1024)
    with pytest.raises(TemplateError, match="larger than 1024 KiB"):
        convert(template(tmp_path, {JSON: '{"tests": []}' + padding}))
