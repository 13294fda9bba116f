"""`pushgrade try` end to end: the example grader, real containers, the documented exit codes."""

from __future__ import annotations

import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from pushgrade.cli import main
from tests.conftest import BUSYBOX

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "python-pytest"
CONFIG = EXAMPLE / "pushgrade.yml"
PASSING = EXAMPLE / "submission-pass"
FAILING = EXAMPLE / "submission-fail"
EXAMPLE_IMAGE = "pushgrade-example/python-pytest:1"
CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "pushgrade"

# The keys README promises for `--json`; scripts build on them.
STABLE_KEYS = {
    "status",
    "score",
    "max_score",
    "tests",
    "duration_s",
    "exit_code",
    "log",
    "log_truncated",
    "reason",
}
STABLE_TEST_KEYS = {"name", "status", "score", "max_score", "output", "visibility"}


@pytest.fixture(scope="module")
def example_image(docker_client) -> str:
    import docker

    try:
        docker_client.images.get(EXAMPLE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"the example grader image {EXAMPLE_IMAGE} is missing: run scripts/test-images.sh"
        )
    return EXAMPLE_IMAGE


@pytest.fixture
def pushgrade_try(sandbox, example_image, capsys):
    """Runs `pushgrade try ARGS` in-process; returns (exit code, stdout, stderr).

    Asking for `sandbox` makes the shared check that no container or volume is left behind apply.
    """

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main(["try", *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def as_json(out: str) -> dict:
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def summary(outcome: dict) -> tuple:
    tests = sorted((t["name"], t["status"], t["score"], t["max_score"]) for t in outcome["tests"])
    return outcome["status"], outcome["score"], outcome["max_score"], tests


def github_tarball(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname="student-calc-4f2a9c1")
    return dest


def github_zipball(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as archive:
        archive.writestr("student-calc-4f2a9c1/", "")
        for file in sorted(folder.rglob("*")):
            archive.write(file, f"student-calc-4f2a9c1/{file.relative_to(folder)}")
    return dest


def busybox_image(build_image, script: str) -> str:
    return build_image(
        f'FROM {BUSYBOX}\nCOPY run.sh /run.sh\nCMD ["/bin/sh", "/run.sh"]\n', {"run.sh": script}
    )


# --- --json --------------------------------------------------------------------------------------


def test_the_passing_example_exits_0_with_every_stable_json_key(pushgrade_try):
    code, out, err = pushgrade_try(PASSING, "--config", CONFIG, "--json")
    assert code == 0, err
    outcome = as_json(out)
    assert set(outcome) >= STABLE_KEYS
    assert outcome["status"] == "passed", outcome["log"]
    assert (outcome["score"], outcome["max_score"]) == (5, 5)
    assert len(outcome["tests"]) == 5
    for test in outcome["tests"]:
        assert set(test) >= STABLE_TEST_KEYS
        assert test["status"] == "passed"
        assert (test["score"], test["max_score"]) == (1, 1)
        assert test["visibility"] == "visible"
        assert isinstance(test["name"], str)
        assert isinstance(test["output"], str)
    assert isinstance(outcome["duration_s"], float) and outcome["duration_s"] > 0
    assert outcome["exit_code"] == 0
    assert isinstance(outcome["log"], str)
    assert outcome["log_truncated"] is False
    assert outcome["reason"] is None
    assert outcome["error"] is None


def test_a_failing_submission_still_exits_0_and_reports_failed(pushgrade_try):
    code, out, err = pushgrade_try(FAILING, "--config", CONFIG, "--json")
    assert code == 0, err
    outcome = as_json(out)
    assert outcome["status"] == "failed"
    assert (outcome["score"], outcome["max_score"]) == (3, 5)
    failed = {t["name"].rsplit(".", 1)[-1] for t in outcome["tests"] if t["status"] == "failed"}
    assert failed == {"test_median_odd", "test_median_even"}
    assert outcome["exit_code"] == 1
    assert outcome["error"] is None


@pytest.mark.parametrize("pack", [github_tarball, github_zipball], ids=["tar.gz", "zip"])
def test_an_archive_with_githubs_top_folder_grades_the_same_as_the_folder(
    pushgrade_try, tmp_path, pack
):
    suffix = ".tar.gz" if pack is github_tarball else ".zip"
    archive = pack(FAILING, tmp_path / f"submission{suffix}")
    code, out, err = pushgrade_try(archive, "--config", CONFIG, "--json")
    assert code == 0, err
    from_archive = as_json(out)
    code, out, _ = pushgrade_try(FAILING, "--config", CONFIG, "--json")
    assert code == 0
    assert summary(from_archive) == summary(as_json(out))
    assert from_archive["status"] == "failed"
    assert from_archive["score"] == 3


def test_image_flag_overrides_the_config_files_image(pushgrade_try, build_image):
    image = busybox_image(build_image, 'echo "1..1"\necho "ok 1 - graded by the --image image"\n')
    code, out, err = pushgrade_try(PASSING, "--config", CONFIG, "--image", image, "--json")
    assert code == 0, err
    outcome = as_json(out)
    assert [t["name"] for t in outcome["tests"]] == ["graded by the --image image"]
    assert outcome["status"] == "passed"


def test_timeout_flag_overrides_the_config_files_timeout(pushgrade_try, build_image):
    image = busybox_image(build_image, "echo started\nsleep 60\n")
    code, out, err = pushgrade_try(
        PASSING, "--config", CONFIG, "--image", image, "--timeout", "1", "--json"
    )
    assert code == 0, err
    outcome = as_json(out)
    assert outcome["status"] == "timed_out"
    assert "(1 s)" in outcome["reason"]
    assert outcome["duration_s"] < 30  # not the config file's 60 s


def test_image_flag_alone_needs_no_config_file(pushgrade_try, example_image):
    code, out, err = pushgrade_try(PASSING, "--image", example_image, "--json")
    assert code == 0, err
    assert as_json(out)["status"] == "passed"


# --- usage and config errors: exit 2, nothing graded ----------------------------------------------


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "3601"])
def test_a_timeout_that_is_not_a_usable_number_of_seconds_exits_2(pushgrade_try, seconds):
    code, out, err = pushgrade_try(PASSING, "--config", CONFIG, f"--timeout={seconds}", "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("pushgrade: ")
    assert "timeout" in err


def test_a_missing_path_exits_2_naming_it(pushgrade_try, tmp_path):
    missing = tmp_path / "no-such-submission"
    code, out, err = pushgrade_try(missing, "--config", CONFIG, "--json")
    assert code == 2
    assert out == ""
    assert f"{missing} does not exist" in err


def test_a_bad_config_file_exits_2_with_the_file_and_line_on_stderr(pushgrade_try, tmp_path):
    config = tmp_path / "pushgrade.yml"
    config.write_text(f"image: {EXAMPLE_IMAGE}\ntimeout: soon\n")
    code, out, err = pushgrade_try(PASSING, "--config", config, "--json")
    assert code == 2
    assert out == ""
    assert str(config) in err
    assert "line 2" in err
    assert "timeout" in err


def test_a_config_with_a_yaml_error_exits_2_with_its_line(pushgrade_try, tmp_path):
    config = tmp_path / "pushgrade.yml"
    config.write_text(f"image: {EXAMPLE_IMAGE}\nlimits: {{memory: 1g\n")
    code, _, err = pushgrade_try(PASSING, "--config", config)
    assert code == 2
    assert "line 3" in err
    assert "not valid YAML" in err


def test_an_unreadable_config_file_exits_2(pushgrade_try, tmp_path):
    code, _, err = pushgrade_try(PASSING, "--config", tmp_path / "absent.yml")
    assert code == 2
    assert "cannot read" in err


def test_no_image_from_flag_or_config_exits_2(pushgrade_try):
    code, _, err = pushgrade_try(PASSING, "--json")
    assert code == 2
    assert "no grader image" in err


def test_an_image_name_with_a_space_exits_2(pushgrade_try):
    code, out, _ = pushgrade_try(PASSING, "--image", "two words", "--json")
    assert code == 2
    assert out == ""


@pytest.mark.parametrize(
    "argv", [["try"], ["try", "x", "--timeout", "soon"], ["try", "x", "--bogus"], []]
)
def test_argparse_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- could not run: exit 3 ------------------------------------------------------------------------


def test_a_missing_image_exits_3_with_an_errored_image_not_found_outcome(pushgrade_try):
    code, out, err = pushgrade_try(
        PASSING, "--image", "pushgrade-test/never-built:missing", "--json"
    )
    assert code == 3, err
    outcome = as_json(out)
    assert outcome["status"] == "errored"
    assert outcome["error"] == "image_not_found"
    assert "pushgrade-test/never-built:missing" in outcome["reason"]
    assert outcome["tests"] == []


def test_a_bad_archive_exits_3_with_bad_archive(pushgrade_try, tmp_path):
    broken = tmp_path / "submission.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    code, out, _ = pushgrade_try(broken, "--config", CONFIG, "--json")
    assert code == 3
    assert as_json(out)["error"] == "bad_archive"


# --- the human report -----------------------------------------------------------------------------


def test_the_human_report_shows_the_score_line_and_marks_failing_tests(pushgrade_try):
    code, out, err = pushgrade_try(FAILING, "--config", CONFIG)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{FAILING} graded with {EXAMPLE_IMAGE} in ")
    assert lines[1] == "FAILED  3 / 5"
    failing = [line for line in lines if line.lstrip().startswith("✘")]
    assert len(failing) == 2
    assert any("test_median_odd" in line and line.endswith("0/1") for line in failing)
    assert sum(line.lstrip().startswith("✔") for line in lines) == 3
    assert "assert" in out  # the failing tests' output is shown under them
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_the_human_report_of_a_pass_shows_every_test_ticked(pushgrade_try):
    code, out, _ = pushgrade_try(PASSING, "--config", CONFIG)
    assert code == 0
    assert out.splitlines()[1] == "PASSED  5 / 5"
    assert "✘" not in out
    assert out.count("✔") == 5


def test_the_human_report_of_a_missing_image_says_why_and_exits_3(pushgrade_try):
    code, out, _ = pushgrade_try(PASSING, "--image", "pushgrade-test/never-built:missing")
    assert code == 3
    assert out.splitlines()[0] == f"{PASSING} was not graded: the grader could not run"
    assert out.splitlines()[1] == "ERRORED"
    assert "pushgrade-test/never-built:missing was not found" in out
    assert "Build it first (docker build -t pushgrade-test/never-built:missing " in out


def test_a_missing_image_is_said_once_not_also_as_a_log_line(sandbox):
    result = subprocess.run(
        [CONSOLE_SCRIPT, "try", str(PASSING), "--image", "pushgrade-test/never-built:missing"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3
    assert "was not found" in result.stdout
    assert result.stderr == ""  # before: a timestamped WARNING from the registry said it again


# --- the console script ---------------------------------------------------------------------------


def test_pushgrade_help_exits_0_and_lists_the_try_command():
    result = subprocess.run([CONSOLE_SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    assert help_text.startswith("usage: pushgrade")
    assert "try grade a folder or archive locally" in help_text
    assert "--verbose" in help_text


def test_pushgrade_try_help_exits_0_and_describes_every_option():
    result = subprocess.run(
        [CONSOLE_SCRIPT, "try", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    assert help_text.startswith("usage: pushgrade try")
    for option in ("PATH", "--image", "--timeout SECONDS", "--config FILE", "--json"):
        assert option in help_text
    assert ".zip or .tar.gz" in help_text
    assert "Exit code 0 when grading ran" in help_text
    assert "overrides the config file's image" in help_text


# --- --as-student and --at: the check run a student reads ----------------------------------------

TAP_GRADER = "echo 1..2; echo ok 1 - adds; echo 'not ok 2 - hidden_divides'\n"


def student_config(tmp_path: Path, image: str, extra: str = "") -> Path:
    config = tmp_path / "pushgrade.yml"
    config.write_text(
        f"image: {image}\nvisibility: score\nafter_due: tests\n"
        f"due: '2026-12-01T23:59:00+01:00'\n{extra}"
    )
    return config


def test_as_student_shows_what_the_student_reads_before_and_after_the_deadline(
    pushgrade_try, build_image, tmp_path
):
    image = busybox_image(build_image, TAP_GRADER)
    config = student_config(tmp_path, image)
    code, out, err = pushgrade_try(
        PASSING, "--config", config, "--as-student", "--at", "2026-12-01T23:58"
    )
    assert code == 0, err
    assert out.startswith("conclusion: failure\ntitle: ")
    assert "🕑 Received 2026-12-01 23:58 +01:00: on time (due 2026-12-01 23:59 +01:00)." in out
    assert "divides" not in out  # `score`: the total only, before the deadline
    code, out, err = pushgrade_try(
        PASSING, "--config", config, "--as-student", "--at", "2026-12-02T00:30+01:00"
    )
    assert code == 0, err
    assert "⏰ **Late**: received 2026-12-02 00:30 +01:00, 31 minutes after the deadline" in out
    assert "2 hidden\\_divides | 0 / 1" in out  # `tests` after it (Markdown, as GitHub gets it)


def test_as_student_a_push_after_the_cutoff_is_not_graded(pushgrade_try, build_image, tmp_path):
    image = busybox_image(build_image, TAP_GRADER)
    config = student_config(
        tmp_path, image, "late: {policy: grade, cutoff: '2026-12-02T23:59:00+01:00'}\n"
    )
    code, out, _ = pushgrade_try(
        PASSING, "--config", config, "--as-student", "--at", "2026-12-03T08:00"
    )
    assert code == 0
    assert out.startswith("conclusion: neutral\ntitle: Not graded: after the deadline\n")


def test_as_student_hides_everything_under_hidden(pushgrade_try, build_image, tmp_path):
    image = busybox_image(build_image, TAP_GRADER)
    config = tmp_path / "pushgrade.yml"
    config.write_text(f"image: {image}\nvisibility: hidden\n")
    code, out, _ = pushgrade_try(PASSING, "--config", config, "--as-student")
    assert code == 0
    assert out.startswith("conclusion: neutral\ntitle: Submission received and graded\n")
    assert "adds" not in out and "1/2" not in out


def test_at_needs_as_student_and_a_moment(pushgrade_try, tmp_path):
    code, _, err = pushgrade_try(PASSING, "--image", "x:1", "--at", "2026-12-01T23:58")
    assert code == 2 and "--at shows a check run as of a moment" in err
    code, _, err = pushgrade_try(PASSING, "--image", "x:1", "--as-student", "--at", "Friday")
    assert code == 2 and "--at 'Friday' is not a moment" in err
