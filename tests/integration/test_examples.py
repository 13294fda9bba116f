"""Every example under examples/ graded through the real runner, in its own image, with its own
config: the passing submission gets full marks, every other `submission-*` fails, naming the
tests it fails. Examples are discovered, so a new one is tested as soon as it exists; its image is
built by scripts/test-images.sh from the `# tag:` line of its grader/Dockerfile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ghapp.core.config import load_config
from ghapp.core.report import render_report
from pushgrade.cli import main
from runner.grade import grade
from runner.outcome import Outcome, Status, TestStatus

ROOT = Path(__file__).parents[2]
# The classroom-* examples are GitHub Classroom templates, not graders: `pushgrade import
# classroom` makes their grader, and tests/integration/test_classroom_e2e.py grades them.
EXAMPLES = sorted(
    path
    for path in (ROOT / "examples").iterdir()
    if path.is_dir() and not path.name.startswith("classroom-")
)
SUBMISSIONS = [
    (example, submission)
    for example in EXAMPLES
    for submission in sorted(example.glob("submission-*"))
    if submission.is_dir()
]
BUNDLED = {"python-pytest", "c-tap", "gradescope"}

# What the bundled failing submissions fail, exactly (the teacher's view: hidden tests too).
# An example not listed here is held to the general rule: at least one failing test.
FAILING = {
    ("python-pytest", "submission-fail"): {
        "tests.test_calc.test_median_odd",
        "tests.test_calc.test_median_even",
    },
    ("c-tap", "submission-fail"): {
        "count_words handles empty strings, tabs, newlines and runs of spaces",
        "repeat builds a new string, empty for 0 and NULL below 0",
    },
    ("c-tap", "submission-compile-error"): {
        "compiles",
        "count_words counts words separated by single spaces",
        "count_words handles empty strings, tabs, newlines and runs of spaces",
        "reverse_string reverses in place",
        "repeat builds a new string, empty for 0 and NULL below 0",
    },
    ("gradescope", "submission-fail"): {
        "word_count: case, punctuation and spacing",
        "is_palindrome: ignores case, spaces and punctuation",
        "caesar: wraps around and keeps other characters",
    },
    ("gradescope", "submission-forge"): {
        "is_palindrome: plain words",
        "word_count: one sentence",
        "caesar: shift by 3",
        "word_count: case, punctuation and spacing",
        "is_palindrome: ignores case, spaces and punctuation",
        "caesar: wraps around and keeps other characters",
    },
}


def image_tag(example: Path) -> str | None:
    dockerfile = example / "grader" / "Dockerfile"
    if not dockerfile.is_file():
        return None
    match = re.search(r"^# tag: *(\S+)", dockerfile.read_text(), re.MULTILINE)
    return match[1] if match else None


def grade_example(sandbox, docker_client, example: Path, submission: Path) -> Outcome:
    import docker

    config = load_config((example / "pushgrade.yml").read_bytes(), file="pushgrade.yml")
    try:
        docker_client.images.get(config.image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the example image {config.image} is missing: run scripts/test-images.sh")
    return grade(submission, config.sandbox_spec(pull_missing=False), sandbox=sandbox)


def failing(outcome: Outcome) -> set[str]:
    return {t.name for t in outcome.tests if t.status in (TestStatus.FAILED, TestStatus.ERRORED)}


def test_the_bundled_examples_are_found():
    assert {example.name for example in EXAMPLES} >= BUNDLED


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_an_example_is_complete_and_its_config_valid(example, capsys):
    for part in ("pushgrade.yml", "grader/Dockerfile", "submission-pass", "submission-fail"):
        assert (example / part).exists(), f"{example.name} has no {part}"
    config = load_config((example / "pushgrade.yml").read_bytes(), file="pushgrade.yml")
    tag = image_tag(example)
    assert tag, f"{example.name}/grader/Dockerfile has no '# tag:' line"
    assert config.image == tag, "the config's image is the one its Dockerfile builds"
    assert main(["check-config", str(example / "pushgrade.yml")]) == 0
    out = capsys.readouterr().out
    assert re.search(rf'^ +image +"{re.escape(tag)}" +\(repo\)$', out, re.MULTILINE), out


@pytest.mark.docker
@pytest.mark.parametrize(
    ("example", "submission"),
    SUBMISSIONS,
    ids=[f"{example.name}/{submission.name}" for example, submission in SUBMISSIONS],
)
def test_a_submission_gets_the_result_it_is_there_for(sandbox, docker_client, example, submission):
    outcome = grade_example(sandbox, docker_client, example, submission)
    detail = f"{outcome.status} {outcome.reason!r}\n{outcome.log[-3000:]}"
    if submission.name == "submission-pass":
        assert outcome.status is Status.PASSED, detail
        assert outcome.tests, "a passing run names its tests"
        assert all(t.status is TestStatus.PASSED for t in outcome.tests), detail
        assert outcome.max_score and outcome.score == outcome.max_score
        return
    assert outcome.status is Status.FAILED, detail
    assert outcome.score is not None and outcome.max_score
    assert outcome.score < outcome.max_score
    expected = FAILING.get((example.name, submission.name))
    if expected is None:
        assert failing(outcome), f"no failing test is named: {detail}"
    else:
        assert failing(outcome) == expected, detail


@pytest.mark.docker
def test_the_forging_submission_tried_everything_and_nothing_worked(sandbox, docker_client):
    """The gradescope example's grader against a submission that reads, forges and attacks."""
    example = ROOT / "examples" / "gradescope"
    outcome = grade_example(sandbox, docker_client, example, example / "submission-forge")
    assert outcome.status is Status.FAILED
    assert outcome.score == 0 and outcome.max_score == 14
    assert "forged" not in {t.name for t in outcome.tests}
    tried = [line for line in outcome.log.splitlines() if line.startswith("forge: ")]
    for attempt in (
        "read the hidden tests",
        "send SIGINT to the grader",
        "read /proc/1/environ",
        "trace the grader",
    ):
        assert any(line.startswith(f"forge: {attempt}: blocked") for line in tried), attempt
    assert not [line for line in tried if "WORKED" in line]


@pytest.mark.docker
def test_per_test_visibility_in_the_gradescope_example(sandbox, docker_client):
    """visible tests show at once, after_due_date ones once the deadline has passed, hidden ones
    never; the teacher's Outcome has them all."""
    example = ROOT / "examples" / "gradescope"
    outcome = grade_example(sandbox, docker_client, example, example / "submission-fail")
    assert {t.visibility.value for t in outcome.tests} == {"visible", "after_due_date", "hidden"}
    # The check run's Markdown escapes punctuation in names: compare without the escapes.
    before = render_report(outcome, after_due=False).summary.replace("\\", "")
    after = render_report(outcome, after_due=True).summary.replace("\\", "")
    assert "word_count: case, punctuation and spacing" in before
    assert "is_palindrome: ignores case" not in before
    assert "is_palindrome: ignores case" in after
    for summary in (before, after):
        assert "caesar: wraps around" not in summary
        assert "on visible tests" in summary


@pytest.mark.docker
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_an_empty_submission_fails(sandbox, docker_client, example, tmp_path):
    empty = tmp_path / "submission"
    empty.mkdir()
    outcome = grade_example(sandbox, docker_client, example, empty)
    assert outcome.status is Status.FAILED, f"{outcome.status} {outcome.score}/{outcome.max_score}"
