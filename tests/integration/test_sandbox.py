"""The sandbox against a real Docker engine: real graders, hostile submissions, every limit."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from runner.grade import grade, grade_async
from runner.outcome import ErrorKind, ResultsSource, Status, TestStatus
from runner.spec import MiB, SandboxLimits, SandboxSpec
from tests.conftest import BUSYBOX, PYTHON

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).parents[2] / "examples" / "python-pytest"


def spec(image: str, **limits) -> SandboxSpec:
    return SandboxSpec(image=image, limits=SandboxLimits(**limits), pull_missing=False)


def shell_image(build_image, script: str, base: str = BUSYBOX) -> str:
    """An image whose command is `script`, run by sh."""
    return build_image(
        f'FROM {base}\nCOPY run.sh /run.sh\nCMD ["/bin/sh", "/run.sh"]\n', {"run.sh": script}
    )


def submission(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "submission"
    root.mkdir(exist_ok=True)
    for name, text in (files or {"main.txt": "hello\n"}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


GRADESCOPE_RUN = """#!/bin/bash
# Gradescope's usual shape: copy the submission into the source folder, grade, write results.
cp -r /autograder/submission/* /autograder/source/
cd /autograder/source && python3 grade.py > /autograder/results/results.json
"""

GRADESCOPE_GRADE = """
import json, importlib
tests = []
try:
    calc = importlib.import_module("calc")
except Exception as err:
    calc = None
cases = [("add", lambda: calc.add(2, 3) == 5, 2, "visible"),
         ("median", lambda: calc.median([3, 1, 2]) == 2, 3, "visible"),
         ("secret edge case", lambda: calc.median([4, 1, 3, 2]) == 2.5, 5, "hidden")]
for name, check, points, visibility in cases:
    try:
        ok = bool(check())
        out = "" if ok else "wrong answer"
    except Exception as err:
        ok, out = False, f"{type(err).__name__}: {err}"
    tests.append({"name": name, "score": points if ok else 0, "max_score": points,
                  "status": "passed" if ok else "failed", "output": out,
                  "visibility": visibility})
print(json.dumps({"tests": tests, "output": "Graded by the calc autograder."}))
"""


@pytest.fixture(scope="module")
def gradescope_grader(build_image) -> str:
    dockerfile = (
        f"FROM {PYTHON}\n"
        "COPY run_autograder /autograder/run_autograder\n"
        "COPY grade.py /autograder/source/grade.py\n"
        "RUN mkdir -p /autograder/results\n"
    )
    return build_image(dockerfile, {"run_autograder": GRADESCOPE_RUN, "grade.py": GRADESCOPE_GRADE})


# -- real graders -------------------------------------------------------------------------------


def test_passing_python_submission_graded_by_pytest_junit(sandbox, example_grader):
    outcome = grade(EXAMPLE / "submission-pass", spec(example_grader), sandbox=sandbox)
    assert outcome.status is Status.PASSED, outcome.log
    assert outcome.source is ResultsSource.JUNIT
    assert (outcome.score, outcome.max_score) == (5, 5)
    assert {t.name.rsplit(".", 1)[-1] for t in outcome.tests} >= {"test_add", "test_median_even"}
    assert outcome.exit_code == 0
    assert outcome.image_id and outcome.image_id.startswith("sha256:")


def test_failing_python_submission_names_the_failing_tests_with_file_and_line(
    sandbox, example_grader
):
    outcome = grade(EXAMPLE / "submission-fail", spec(example_grader), sandbox=sandbox)
    assert outcome.status is Status.FAILED
    assert (outcome.score, outcome.max_score) == (3, 5)
    failed = {t.name.rsplit(".", 1)[-1]: t for t in outcome.tests if t.status is TestStatus.FAILED}
    assert set(failed) == {"test_median_odd", "test_median_even"}
    assert "assert" in failed["test_median_odd"].output
    assert failed["test_median_odd"].file == "tests/test_calc.py"
    assert failed["test_median_odd"].line is not None
    assert outcome.exit_code == 1


def test_gradescope_autograder_runs_as_root_and_scores_from_results_json(
    sandbox, gradescope_grader, tmp_path
):
    outcome = grade(EXAMPLE / "submission-fail", spec(gradescope_grader), sandbox=sandbox)
    assert outcome.source is ResultsSource.RESULTS_JSON, outcome.log
    assert outcome.status is Status.FAILED
    assert (outcome.score, outcome.max_score) == (2, 10)
    by_name = {t.name: t for t in outcome.tests}
    assert by_name["secret edge case"].visibility == "hidden"
    assert outcome.output == "Graded by the calc autograder."

    outcome = grade(EXAMPLE / "submission-pass", spec(gradescope_grader), sandbox=sandbox)
    assert outcome.status is Status.PASSED
    assert (outcome.score, outcome.max_score) == (10, 10)


# A root grader that runs the student's code as nobody, with the tests and /results locked: the
# student's code (here: main.sh) can neither read the tests nor write a results file.
SEPARATED = """
set -u
chmod 700 /results
student() { su -s /bin/sh nobody -c "sh /submission/main.sh"; }
if student > /tmp/answer 2>&1; then ran=ok; else ran="not ok"; fi
cat /tmp/answer
if grep -q forty-two /tmp/answer; then verdict=ok; else verdict="not ok"; fi
echo 1..2
echo "$ran 1 - the program ran"
echo "$verdict 2 - it printed the answer"
"""


def test_a_root_grader_can_run_the_students_code_as_another_user(sandbox, build_image, tmp_path):
    image = build_image(
        f"FROM {BUSYBOX}\nCOPY grade.sh /grader/grade.sh\n"
        "RUN echo forty-two > /grader/answer && chmod 700 /grader\n"
        'CMD ["sh", "/grader/grade.sh"]\n',
        {"grade.sh": SEPARATED},
    )
    attack = (
        "id -u; cat /grader/answer || echo cannot read the tests;"
        " echo '{\"score\": 100}' > /results/results.json || echo cannot write results\n"
    )
    root = SandboxSpec(image=image, limits=SandboxLimits(), pull_missing=False, as_root=True)
    outcome = grade(submission(tmp_path, {"main.sh": attack}), root, sandbox=sandbox)
    assert "65534" in outcome.log, outcome.log
    assert "cannot read the tests" in outcome.log and "cannot write results" in outcome.log
    assert outcome.source is ResultsSource.TAP  # no forged results.json
    assert [t.status for t in outcome.tests] == [TestStatus.PASSED, TestStatus.FAILED]
    honest = grade(submission(tmp_path, {"main.sh": "echo forty-two\n"}), root, sandbox=sandbox)
    assert honest.status is Status.PASSED, honest.log
    # Not for a grader that is not root: it has no capability at all.
    plain = grade(
        submission(tmp_path, {"main.sh": "echo forty-two\n"}), spec(image), sandbox=sandbox
    )
    assert plain.status is not Status.PASSED


def test_tap_on_stdout_is_read_when_there_is_no_results_file(sandbox, build_image, tmp_path):
    image = shell_image(
        build_image,
        "echo 'TAP version 13'; echo 1..3; echo 'ok 1 - compiles'; echo 'not ok 2 - sorts';"
        " echo 'ok 3 - empty input # SKIP not yet'\n",
    )
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert outcome.source is ResultsSource.TAP
    assert outcome.status is Status.FAILED
    assert [t.status for t in outcome.tests] == [
        TestStatus.PASSED,
        TestStatus.FAILED,
        TestStatus.SKIPPED,
    ]


def test_exit_code_decides_when_nothing_else_was_reported(sandbox, build_image, tmp_path):
    ok = grade(submission(tmp_path), spec(shell_image(build_image, "exit 0\n")), sandbox=sandbox)
    assert (ok.status, ok.source, ok.exit_code) == (Status.PASSED, ResultsSource.EXIT_CODE, 0)
    bad = grade(submission(tmp_path), spec(shell_image(build_image, "exit 3\n")), sandbox=sandbox)
    assert (bad.status, bad.exit_code) == (Status.FAILED, 3)
    assert "exited with code 3" in bad.reason


# -- the locked-down container --------------------------------------------------------------------


def test_container_is_locked_down_by_default(sandbox, build_image, tmp_path):
    script = (
        "id -u; id -g\n"
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status\n"
        "touch /rootfs-write 2>/dev/null && echo ROOT-WRITABLE || echo root-read-only\n"
        "ls /sys/class/net\n"
        "cat /submission/main.txt; echo new > /submission/made.txt && echo submission-writable\n"
        "echo x > /tmp/x && echo tmp-writable\n"
        "ulimit -n; ulimit -f\n"
        "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null\n"
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null\n"
    )
    outcome = grade(
        submission(tmp_path),
        spec(shell_image(build_image, script), pids=77, memory_bytes=96 * MiB),
        sandbox=sandbox,
    )
    lines = outcome.log.split()
    assert lines[:2] == ["65534", "65534"], outcome.log
    assert "0000000000000000" in outcome.log  # CapEff: no capabilities
    assert "NoNewPrivs:\t1" in outcome.log
    assert "root-read-only" in lines and "ROOT-WRITABLE" not in lines
    assert "eth0" not in lines and "lo" in lines  # no network interface but loopback
    assert {"hello", "submission-writable", "tmp-writable"} <= set(lines)
    assert "1024" in lines  # nofile
    assert "77" in lines
    assert str(96 * MiB) in lines


def test_network_attempts_fail_without_the_network_setting(sandbox, build_image, tmp_path):
    script = (
        "import socket\n"
        "for host in [('1.1.1.1', 53), ('10.255.255.53', 53), ('172.17.0.1', 2375)]:\n"
        "    try:\n"
        "        socket.create_connection(host, timeout=3); print('REACHED', host)\n"
        "    except OSError as err: print('blocked', host, err)\n"
    )
    image = build_image(
        f'FROM {PYTHON}\nCOPY net.py /net.py\nCMD ["python3", "/net.py"]\n', {"net.py": script}
    )
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert "REACHED" not in outcome.log
    assert outcome.log.count("blocked") == 3, outcome.log


def test_runs_under_gvisor_when_asked(sandbox, docker_client, build_image, tmp_path):
    assert "runsc" in docker_client.info().get("Runtimes", {}), "runsc is not configured"
    image = shell_image(build_image, "dmesg 2>/dev/null | head -n 1; uname -r; echo done\n")
    outcome = grade(
        submission(tmp_path),
        SandboxSpec(image=image, runtime="runsc", pull_missing=False),
        sandbox=sandbox,
    )
    assert outcome.status is Status.PASSED, outcome.reason
    assert "gVisor" in outcome.log or "Starting gVisor" in outcome.log, outcome.log


# -- hostile submissions ----------------------------------------------------------------------


def test_endless_loop_times_out_and_is_removed(sandbox, build_image, tmp_path):
    started = time.monotonic()
    outcome = grade(
        submission(tmp_path),
        spec(shell_image(build_image, "while :; do :; done\n"), timeout_s=2),
        sandbox=sandbox,
    )
    assert outcome.status is Status.TIMED_OUT
    assert "time limit (2 s)" in outcome.reason
    assert 2 <= outcome.duration_s < 10
    assert time.monotonic() - started < 30


def test_memory_hog_is_stopped_as_out_of_memory(sandbox, build_image, tmp_path):
    image = build_image(f'FROM {PYTHON}\nCMD ["python3", "-c", "x = b\\"x\\" * (1 << 30)"]\n')
    outcome = grade(submission(tmp_path), spec(image, memory_bytes=64 * MiB), sandbox=sandbox)
    assert outcome.status is Status.ERRORED
    assert outcome.error is ErrorKind.OUT_OF_MEMORY
    assert "ran out of memory (limit 64 MiB)" in outcome.reason


def test_fork_bomb_is_contained_and_the_next_run_is_unaffected(sandbox, build_image, tmp_path):
    bomb = shell_image(build_image, "bomb() { bomb | bomb & }; bomb; sleep 3; echo survived\n")
    outcome = grade(submission(tmp_path), spec(bomb, pids=64, timeout_s=8), sandbox=sandbox)
    assert outcome.status in (Status.PASSED, Status.FAILED, Status.TIMED_OUT)
    assert "fork" in outcome.log.lower() or "resource" in outcome.log.lower(), outcome.log[:500]
    after = grade(
        submission(tmp_path), spec(shell_image(build_image, "echo fine\n")), sandbox=sandbox
    )
    assert after.status is Status.PASSED and "fine" in after.log


def test_gigabytes_of_output_stop_early_keeping_head_and_tail(sandbox, build_image, tmp_path):
    script = "echo FIRST-LINE; yes 'spam spam spam spam spam spam spam spam' | head -c 4000000000\n"
    started = time.monotonic()
    outcome = grade(
        submission(tmp_path),
        spec(shell_image(build_image, script), output_flood_bytes=8 * MiB, timeout_s=60),
        sandbox=sandbox,
    )
    assert outcome.status is Status.ERRORED and outcome.error is ErrorKind.OUTPUT_FLOOD
    assert "more than 8 MiB" in outcome.reason
    assert outcome.log_truncated and outcome.log.startswith("FIRST-LINE")
    assert "bytes of output omitted" in outcome.log
    assert len(outcome.log) < 100_000
    assert time.monotonic() - started < 30


def test_results_file_that_is_not_json_is_reported_with_its_line(sandbox, build_image, tmp_path):
    image = shell_image(
        build_image, "printf '{\\n  \"score\": 3,\\n  oops\\n}' > /results/results.json\n"
    )
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "results.json" in outcome.reason and "line 3" in outcome.reason


def test_results_file_that_lies_about_its_schema_names_the_field(sandbox, build_image, tmp_path):
    results = {
        "tests": [
            {"name": "a", "score": 1, "max_score": 1},
            {"name": "b", "score": "lots", "max_score": 1},
        ]
    }
    image = shell_image(build_image, f"echo '{json.dumps(results)}' > /results/results.json\n")
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "tests[1].score" in outcome.reason


def test_results_file_linking_elsewhere_is_not_followed(sandbox, build_image, tmp_path):
    image = shell_image(build_image, "ln -s /etc/passwd /results/results.json; exit 0\n")
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert outcome.source is ResultsSource.EXIT_CODE
    assert "root:x:0" not in outcome.model_dump_json()


def test_a_flooded_results_folder_is_refused(sandbox, build_image, tmp_path):
    image = shell_image(build_image, "head -c 3000000 /dev/zero > /results/junk.xml\n")
    outcome = grade(submission(tmp_path), spec(image, results_bytes=1 * MiB), sandbox=sandbox)
    assert outcome.error is ErrorKind.BAD_RESULTS
    assert "more than 1 MiB" in outcome.reason


def test_missing_image_is_reported_as_such(sandbox, tmp_path):
    outcome = grade(
        submission(tmp_path), SandboxSpec(image="127.0.0.1:9/no/such-grader:1"), sandbox=sandbox
    )
    assert outcome.error is ErrorKind.IMAGE_NOT_FOUND
    assert "127.0.0.1:9/no/such-grader:1" in outcome.reason
    assert outcome.could_not_run


def test_image_without_a_command_is_reported_as_such(sandbox, build_image, tmp_path):
    image = build_image("FROM scratch\nCOPY note.txt /note.txt\n", {"note.txt": "no command"})
    outcome = grade(submission(tmp_path), spec(image), sandbox=sandbox)
    assert outcome.error is ErrorKind.IMAGE_NO_COMMAND
    assert "no command" in outcome.reason


def test_unsafe_archive_never_reaches_a_container(sandbox, tmp_path):
    import io
    import tarfile

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("octo-hw1-abc1234/../../escape.txt")
        data = b"pwned"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    outcome = grade(archive, spec(BUSYBOX), sandbox=sandbox)
    assert outcome.error is ErrorKind.BAD_ARCHIVE
    assert "escape.txt" in outcome.reason
    assert not (tmp_path.parent / "escape.txt").exists()


async def test_cancelling_a_run_kills_and_removes_the_container(sandbox, build_image, tmp_path):
    image = shell_image(build_image, "sleep 600\n")
    task = asyncio.create_task(
        grade_async(submission(tmp_path), spec(image, timeout_s=600), sandbox=sandbox)
    )
    await asyncio.sleep(3)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 20
    assert sandbox.leftovers() == []


async def test_a_run_cancelled_twice_is_still_removed_before_the_cancel_returns(
    sandbox, build_image, tmp_path
):
    # A worker stopping with no grace is cancelled, then its loops are cancelled again.
    image = shell_image(build_image, "sleep 600\n")
    task = asyncio.create_task(
        grade_async(submission(tmp_path), spec(image, timeout_s=600), sandbox=sandbox)
    )
    await asyncio.sleep(3)
    task.cancel()
    await asyncio.sleep(0.05)  # the first cancel reached the run; its clean-up is under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sandbox.leftovers() == []
