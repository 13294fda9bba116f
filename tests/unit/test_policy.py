"""Which assignment a push belongs to, and how the org file's settings lock the repo file's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ghapp.core.config import (
    SHORT_FORM_NAME,
    ConfigError,
    LatePolicy,
    PushgradeConfig,
    Runtime,
    VisibilityLevel,
    load_file,
)
from ghapp.core.policy import flatten, matches, resolve, show, standalone
from pushgrade.cli import main
from runner.spec import MiB, SandboxLimits

ORG = """\
assignments:
  hw1:
    repos: "hw1-*"
    image: ghcr.io/cs101/hw1-grader:2026
    visibility: tests
    limits: {memory: 512m}
    due: 2026-12-01T23:59:00+01:00
  hw2:
    repos: ["hw2-*", "Homework2-*"]
    image: ghcr.io/cs101/hw2-grader:2026
  catch-all:
    repos: "hw*"
    image: ghcr.io/cs101/any:1
  open:
    repos: "lab-*"
    visibility: score
"""


def org(text: str = ORG) -> PushgradeConfig:
    return load_file(text, file="cs101/.github/.github/pushgrade.yml", org=True)


def repo(text: str) -> PushgradeConfig:
    return load_file(text, file="hw1-alice/.github/pushgrade.yml")


STUDENT = repo("image: ghcr.io/cs101/hw1-grader:2026\nvisibility: tests\n")


def test_a_student_opening_visibility_to_full_under_the_org_file_still_gets_tests():
    edited = repo("image: ghcr.io/cs101/hw1-grader:2026\nvisibility: full\n")
    resolution = resolve("hw1-alice", org=org(), repo=edited)
    assert resolution.config.visibility is VisibilityLevel.TESTS
    assert resolution.locked_overrides == (
        'visibility: the org file sets "tests"; the repo file\'s "full" has no effect',
    )
    assert resolution.sources["visibility"] == "org"


def test_a_student_cannot_swap_the_teachers_image():
    edited = repo("image: evil/grader-that-says-100:1\n")
    resolution = resolve("hw1-alice", org=org(), repo=edited)
    assert resolution.config.image == "ghcr.io/cs101/hw1-grader:2026"
    assert resolution.locked_overrides[0].startswith('image: the org file sets "ghcr.io/cs101')


def test_a_repo_value_equal_to_the_orgs_is_not_noted():
    resolution = resolve("hw1-alice", org=org(), repo=STUDENT)
    assert resolution.locked_overrides == ()
    assert resolution.source == "org+repo"


def test_under_an_org_assignment_the_repo_file_names_only_branches_and_the_check():
    student = repo("timeout: 30\nbranches: [main, dev]\ncheck_name: my grader\n")
    resolution = resolve("hw1-alice", org=org(), repo=student)
    assert resolution.config.timeout == SandboxLimits.timeout_s
    assert resolution.config.branches == ("main", "dev")
    assert resolution.config.check_name == "my grader"
    assert (resolution.sources["timeout"], resolution.sources["branches"]) == ("default", "repo")
    assert resolution.locked_overrides == (
        "timeout: the org file's assignment leaves it at its default, which only the org file "
        "can change; the repo file's 30 has no effect",
    )


@pytest.mark.parametrize(
    ("edit", "setting"),
    [
        ("network: true", "network"),
        ("run_as_root: true", "run_as_root"),
        ("runtime: runsc", "runtime"),
        ("limits: {cpus: 8}", "limits.cpus"),
        ("timeout: 3600", "timeout"),
        ("after_due: full", "after_due"),
        ("max_graded_per_day: 1000", "max_graded_per_day"),
        ("late: {policy: grade}", "late.policy"),
    ],
)
def test_a_student_cannot_loosen_a_setting_the_org_leaves_at_its_default(edit, setting):
    # A student's own deadline already past plus `after_due: full` would show everything.
    resolution = resolve("hw1-alice", org=org(), repo=repo(edit + "\n"))
    assert resolution.config == resolve("hw1-alice", org=org(), repo=None).config
    assert [note.split(":")[0] for note in resolution.locked_overrides] == [setting]


def test_limits_are_judged_one_setting_at_a_time():
    student = repo("image: x\nlimits: {memory: 4g, cpus: 2}\n")
    resolution = resolve("hw1-alice", org=org(), repo=student)
    assert resolution.config.limits.memory == 512 * MiB
    assert resolution.config.limits.cpus == SandboxLimits.cpus
    assert resolution.sources["limits.memory"] == "org"
    assert resolution.sources["limits.cpus"] == "default"
    assert "limits.memory: the org file sets 512m; the repo file's 4g has no effect" in (
        resolution.locked_overrides
    )
    assert any(note.startswith("limits.cpus: ") for note in resolution.locked_overrides)


def test_late_settings_are_judged_one_at_a_time():
    teacher = org(
        "assignments:\n  a:\n    repos: '*'\n    image: g\n    due: 2026-12-01T00:00:00Z\n"
        "    late: {policy: penalty}\n"
    )
    student = repo("late: {policy: grade, penalty_per_day: 0.5}\n")
    resolution = resolve("x", org=teacher, repo=student)
    assert resolution.config.late.policy is LatePolicy.PENALTY
    assert resolution.config.late.penalty_per_day == 0
    assert resolution.locked_overrides[0] == (
        'late.policy: the org file sets "penalty"; the repo file\'s "grade" has no effect'
    )
    assert resolution.locked_overrides[1].startswith("late.penalty_per_day: the org file's")


def test_a_repo_file_cannot_switch_off_a_late_policy_the_org_sets():
    teacher = org(
        "assignments:\n  a:\n    repos: '*'\n    image: g\n    due: 2026-12-01T00:00:00Z\n"
        "    late: {policy: ignore}\n"
    )
    resolution = resolve("x", org=teacher, repo=repo("late: null\n"))
    assert resolution.config.late.policy is LatePolicy.IGNORE
    assert resolution.locked_overrides == (
        "late: the org file sets late.policy; the repo file's none has no effect",
    )


def test_an_org_file_that_turns_late_off_locks_each_late_setting():
    teacher = org("assignments:\n  a:\n    repos: '*'\n    image: g\n    late: null\n")
    resolution = resolve("x", org=teacher, repo=repo("late: {policy: grade}\n"))
    assert resolution.config.late is None
    assert resolution.locked_overrides == (
        'late.policy: the org file sets late; the repo file\'s "grade" has no effect',
    )


def test_the_image_never_comes_from_the_repo_file_under_an_org_assignment():
    # A student's own image could simply write full marks into results.json.
    with pytest.raises(ConfigError) as caught:
        resolve("lab-3", org=org(), repo=repo("image: ghcr.io/me/lab:1\n"))
    assert "assignment 'open' has no grader image: set image: in the org file's" in str(
        caught.value
    )


def test_no_image_in_either_file_is_a_config_error_naming_both_files():
    with pytest.raises(ConfigError) as caught:
        resolve("lab-3", org=org(), repo=repo("timeout: 5\n"))
    assert caught.value.file == (
        "cs101/.github/.github/pushgrade.yml + hw1-alice/.github/pushgrade.yml"
    )
    assert "assignment 'open' has no grader image" in str(caught.value)
    with pytest.raises(ConfigError):
        resolve("lab-3", org=org(), repo=None)


def test_settings_that_contradict_only_with_the_defaults_are_a_config_error():
    # `after_due: score` would show less than the default visibility, full.
    teacher = org("assignments:\n  a:\n    repos: '*'\n    image: g\n    after_due: score\n")
    with pytest.raises(ConfigError, match="after_due: 'score' shows students less"):
        resolve("x", org=teacher, repo=None)


def test_without_an_org_file_the_repo_file_stands_alone():
    resolution = resolve("anything", org=None, repo=repo("image: g\nvisibility: full\n"))
    assert resolution.assignment_name == SHORT_FORM_NAME
    assert resolution.source == "repo"
    assert resolution.config.visibility is VisibilityLevel.FULL
    assert resolution.locked_overrides == ()
    assert resolution.sources["image"] == "repo"
    assert resolution.sources["runtime"] == "default"


def test_the_org_file_alone_grades_a_repo_without_a_file():
    resolution = resolve("hw2-bob", org=org(), repo=None)
    assert (resolution.assignment_name, resolution.source) == ("hw2", "org")
    assert resolution.config.image == "ghcr.io/cs101/hw2-grader:2026"


def test_no_match_anywhere_means_not_graded():
    resolution = resolve("project-x", org=org(), repo=None)
    assert resolution.config is None and resolution.assignment_name is None
    assert resolution.locked_overrides == ()
    assert resolve("project-x", org=None, repo=None).config is None


def test_a_repo_the_org_file_does_not_match_is_not_graded_by_its_own_file():
    # hw2-mallory, made before the teacher added hw2, names hw1's grader in its own file.
    resolution = resolve("project-x", org=org(), repo=repo("grader: grader-hw1\n"))
    assert (resolution.config, resolution.assignment_name) == (None, None)
    assert resolution.repo_file_ignored  # said to the student: their file is not used


def test_without_an_org_file_a_repo_file_stands_alone():
    resolution = resolve("project-x", org=None, repo=repo("image: g\n"))
    assert (resolution.source, resolution.config.image) == ("repo", "g")


def test_the_first_matching_org_assignment_in_file_order_wins():
    assert resolve("hw1-alice", org=org(), repo=None).assignment_name == "hw1"
    assert resolve("hw3-alice", org=org(), repo=None).assignment_name == "catch-all"


def test_any_glob_of_a_list_matches():
    assert resolve("homework2-carol", org=org(), repo=None).assignment_name == "hw2"


@pytest.mark.parametrize("name", ["HW1-Alice", "hw1-ALICE", "Hw1-x"])
def test_repo_names_match_globs_whatever_their_case(name):
    assert resolve(name, org=org(), repo=None).assignment_name == "hw1"
    assert resolve("HOMEWORK2-x", org=org(), repo=None).assignment_name == "hw2"


@pytest.mark.parametrize(
    ("globs", "name", "expected"),
    [
        ("hw1-*", "hw1-", True),
        ("hw1-*", "hw1", False),
        ("hw1-?", "hw1-a", True),
        ("hw1-?", "hw1-ab", False),
        ("hw[12]-*", "hw2-x", True),
        ("hw[12]-*", "hw3-x", False),
        ("exact", "exact", True),
        ("exact", "exact-not", False),
    ],
)
def test_globs_are_fnmatch_over_the_whole_name(globs, name, expected):
    config = load_file(f"image: g\nrepos: '{globs}'\n").assignments[SHORT_FORM_NAME]
    assert matches(config, name) is expected


def test_an_assignment_without_repos_matches_no_name():
    assert matches(load_file("image: g\n").assignments[SHORT_FORM_NAME], "x") is False


def test_the_repo_files_first_matching_or_unrestricted_assignment_applies():
    student = repo(
        "assignments:\n  other: {repos: 'zzz-*', timeout: 1, image: g}\n"
        "  mine: {repos: 'HW1-*', timeout: 2, image: g}\n  rest: {timeout: 3, image: g}\n"
    )
    resolution = resolve("hw1-alice", org=None, repo=student)
    assert (resolution.assignment_name, resolution.config.timeout) == ("mine", 2)
    assert resolve("lab-1", org=None, repo=repo("image: g\nrepos: 'hw*'\n")).config is None


def test_the_resolved_config_is_what_the_worker_needs():
    teacher = org(
        ORG.replace("    visibility: tests\n", "    visibility: tests\n    runtime: runsc\n", 1)
    )
    resolution = resolve("hw1-alice", org=teacher, repo=repo("image: x\n"))
    spec = resolution.config.sandbox_spec()
    assert spec.image == "ghcr.io/cs101/hw1-grader:2026"
    assert spec.runtime == Runtime.RUNSC.value
    assert resolution.config.due == datetime(2026, 12, 1, 22, 59, tzinfo=UTC)


def test_a_repo_the_org_file_names_no_assignment_for_gets_nothing_from_its_own_settings():
    resolution = resolve("proj-1", org=org(), repo=repo("image: g\nnetwork: true\n"))
    assert resolution.config is None and resolution.source is None


def test_every_setting_has_a_source_and_repos_is_not_one():
    resolution = resolve("hw1-alice", org=org(), repo=STUDENT)
    assert set(resolution.sources) == set(flatten(resolution.config))
    assert "repos" not in resolution.sources
    assert set(resolution.sources.values()) <= {"org", "repo", "default"}


def test_one_files_assignment_shown_on_its_own():
    config = repo("image: g\nlimits: {cpus: 2}\n").assignments[SHORT_FORM_NAME]
    sources = standalone(config)
    assert (sources["image"], sources["limits.cpus"], sources["limits.memory"]) == (
        "repo", "repo", "default"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("limits.memory", 512 * MiB, "512m"),
        ("limits.memory", 1024 * MiB, "1g"),
        ("limits.memory", 1000, "1000"),
        ("visibility", VisibilityLevel.TESTS, '"tests"'),
        ("network", False, "false"),
        ("branches", ("main", "dev"), '["main", "dev"]'),
        ("timeout", 90.0, "90"),
        ("due", None, "none"),
    ],
)
def test_values_are_shown_as_a_teacher_would_write_them(key, value, shown):
    assert show(key, value) == shown


# --- pushgrade check-config ---------------------------------------------------------------------


# The org file as check-config needs it: each assignment with its grader (`open` has none: a
# repo's own file cannot give it one, so no push to lab-* could be graded).
CHECKED_ORG = ORG.replace(
    '    repos: "lab-*"\n', '    repos: "lab-*"\n    image: ghcr.io/cs101/lab:1\n'
)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "org.yml").write_text(CHECKED_ORG)
    (tmp_path / "repo.yml").write_text("image: evil:1\nvisibility: full\nlimits: {cpus: 2}\n")
    return tmp_path


def _lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_check_config_shows_the_resolved_settings_and_where_each_comes_from(files, capsys):
    code = main(
        ["check-config", str(files / "repo.yml"), "--org-file", str(files / "org.yml"),
         "--repo", "hw1-alice"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "hw1 for hw1-alice (org+repo)"
    lines = _lines(out)
    assert ["image", '"ghcr.io/cs101/hw1-grader:2026"', "(org)"] in lines
    assert ["visibility", '"tests"', "(org)"] in lines
    assert ["limits.memory", "512m", "(org)"] in lines
    assert ["limits.cpus", "1", "(default)"] in lines
    assert ["timeout", "120", "(default)"] in lines
    assert ["branches", "(the", "repo's", "default", "branch)", "(default)"] in lines
    assert '  locked: visibility: the org file sets "tests"; the repo file\'s "full" has' in out
    assert "  locked: image: the org file sets" in out


def test_check_config_says_when_a_repo_is_not_graded(files, capsys):
    code = main(
        ["check-config", str(files / "repo.yml"), "--org-file", str(files / "org.yml"),
         "--repo", "hw1-alice".replace("hw1", "proj")]
    )  # fmt: skip
    assert code == 0
    # In an org with an org file, a repo no org assignment names is not graded.
    assert capsys.readouterr().out == "proj-alice: not graded (no assignment matches this repo)\n"
    (files / "scoped.yml").write_text("image: g\nrepos: 'hw*'\n")
    assert main(["check-config", str(files / "scoped.yml"), "--repo", "proj-x"]) == 0
    assert capsys.readouterr().out == "proj-x: not graded (no assignment matches this repo)\n"


def test_check_config_without_a_repo_shows_each_assignment_on_its_own(files, capsys):
    code = main(["check-config", str(files / "repo.yml"), "--org-file", str(files / "org.yml")])
    out = capsys.readouterr().out
    assert code == 0
    titles = [line for line in out.splitlines() if not line.startswith(" ")]
    assert titles == [
        "hw1 in the org file (repos: hw1-*)",
        "hw2 in the org file (repos: hw2-*, Homework2-*)",
        "catch-all in the org file (repos: hw*)",
        "open in the org file (repos: lab-*)",
        "default in the repo file (repos: this repo)",
    ]
    assert ["image", '"ghcr.io/cs101/lab:1"', "(org)"] in _lines(out)
    assert ["image", '"evil:1"', "(repo)"] in _lines(out)


def test_check_config_requires_a_grader_where_try_and_the_app_do(files, capsys):
    """A repo file alone is complete as written (as `try` reads it); so is an org file, whose
    assignments a repo's file cannot give a grader. A repo file beside the org's needs none."""
    (files / "open.yml").write_text(ORG)
    assert main(["check-config", "--org-file", str(files / "open.yml")]) == 2
    out = capsys.readouterr().out
    assert out == (
        f"{files / 'open.yml'}: line 15, column 5 assignments.open.image: this setting is "
        "required (or grader:, a repository to build the grader from): a repo's own file cannot "
        "give an org file's assignment its grader\n"
    )
    (files / "bare.yml").write_text("visibility: score\ntimeout: 30\n")
    assert main(["check-config", str(files / "bare.yml")]) == 2
    assert "line 1, column 1 image: this setting is required" in capsys.readouterr().out
    code = main(["check-config", str(files / "bare.yml"), "--org-file", str(files / "org.yml")])
    assert code == 0  # the org's assignments give the graders


def test_check_config_checks_an_org_file_on_its_own(files, capsys):
    assert main(["check-config", "--org-file", str(files / "org.yml")]) == 0
    titles = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert titles[0] == "hw1 in the org file (repos: hw1-*)" and len(titles) == 4
    assert main(["check-config"]) == 2
    assert "give a repo's file, --org-file ORG_FILE, or both" in capsys.readouterr().err


def test_check_config_suggests_org_file_for_a_file_that_reads_like_the_orgs(files, capsys):
    (files / "teachers.yml").write_text(
        "teachers: [staff]\nassignments:\n  hw1: {repos: 'hw1-*', image: g}\n"
    )
    assert main(["check-config", str(files / "teachers.yml")]) == 2
    said = capsys.readouterr()
    assert f"check it as one with `pushgrade check-config --org-file {files / 'teachers.yml'}`" in (
        said.err
    )
    assert "only the org file (in the org's .github repository) names teachers" in said.out
    assert main(["check-config", "--org-file", str(files / "teachers.yml")]) == 0


def test_check_config_lists_errors_in_line_order(files, capsys):
    (files / "mixed.yml").write_text("visibility: nope\ntimeout: -1\nimage: 'a b'\n")
    assert main(["check-config", str(files / "mixed.yml")]) == 2
    out = capsys.readouterr().out
    lines = [int(line.split(" ")[2].rstrip(",")) for line in out.splitlines()]
    assert lines == [1, 2, 3], out  # not the order the model declares them in


def test_check_config_lists_every_error_with_its_line_and_exits_2(files, capsys):
    (files / "bad.yml").write_text("imgae: g\ntimeout: soon\ndue: 2026-12-01\n")
    assert main(["check-config", str(files / "bad.yml")]) == 2
    out = capsys.readouterr().out.splitlines()
    bad = str(files / "bad.yml")
    assert f"{bad}: line 1, column 1 imgae: unknown setting 'imgae'; did you mean 'image'?" in out
    assert any(line.startswith(f"{bad}: line 2, column 1 timeout: ") for line in out)
    assert any(line.startswith(f"{bad}: line 3, column 1 due: a date alone") for line in out)
    assert len(out) == 3


def test_check_config_reports_an_org_assignment_without_repos(files, capsys):
    (files / "org-bad.yml").write_text("assignments:\n  hw1: {image: g}\n")
    code = main(["check-config", str(files / "repo.yml"), "--org-file", str(files / "org-bad.yml")])
    assert code == 2
    assert "line 2, column 3 assignments.hw1: an org file's assignment needs repos:" in (
        capsys.readouterr().out
    )


def test_check_config_reports_what_contradicts_only_once_merged(files, capsys):
    (files / "late.yml").write_text("assignments:\n  a: {repos: '*', image: g, after_due: score}\n")
    code = main(
        ["check-config", str(files / "repo.yml"), "--org-file", str(files / "late.yml"),
         "--repo", "hw1-x"]
    )  # fmt: skip
    assert code == 2
    assert "after_due: 'score' shows students less" in capsys.readouterr().out


def test_check_config_on_a_missing_file_is_a_usage_error(files, capsys):
    assert main(["check-config", str(files / "nope.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err


_STUDENT_EDITS = st.fixed_dictionaries(
    {},
    optional={
        "image": st.sampled_from(["evil:1", "ghcr.io/cs101/hw1-grader:2026"]),
        "timeout": st.floats(min_value=1, max_value=3600),
        "limits": st.fixed_dictionaries(
            {}, optional={"memory": st.sampled_from(["64m", "8g"]), "cpus": st.just(8)}
        ),
        "network": st.booleans(),
        "runtime": st.sampled_from(["runc", "runsc"]),
        "run_as_root": st.booleans(),
        "visibility": st.sampled_from(["hidden", "score", "tests", "full"]),
        "after_due": st.sampled_from(["full"]),
        "due": st.sampled_from(["2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"]),
        "late": st.sampled_from([None, {"policy": "grade"}, {"penalty_per_day": 0.0}]),
        "max_graded_per_day": st.integers(1, 1000),
        "branches": st.sampled_from([["main"], ["*"]]),
        "check_name": st.sampled_from(["mine"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(_STUDENT_EDITS)
def test_whatever_a_student_writes_only_branches_and_the_check_name_change(edits):
    """The security property of the org lock, for any repo file a student can write."""
    try:
        student = repo(yaml.safe_dump(edits)) if edits else None
    except ConfigError:
        return  # an invalid repo file is refused outright (action_required), not merged
    alone = resolve("hw1-alice", org=org(), repo=None).config
    merged = resolve("hw1-alice", org=org(), repo=student).config
    free = {"branches", "check_name"}
    assert merged.model_dump(exclude=free) == alone.model_dump(exclude=free)
