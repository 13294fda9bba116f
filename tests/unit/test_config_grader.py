"""`grader:` in the config: the mapping and its shorthand, its errors, and the org file's lock."""

from __future__ import annotations

import pytest

from ghapp.core.config import ConfigError, load_config, load_file
from ghapp.core.grader_source import GraderSource
from ghapp.core.policy import resolve, standalone


def config_error(text: str, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(text, **kwargs)
    return caught.value


def test_the_shorthand_means_the_mapping_with_every_default():
    short = load_config("grader: grader-hw1\n")
    full = load_config(
        "grader: {repo: grader-hw1, ref: null, dockerfile: Dockerfile, context: .}\n"
    )
    assert short.grader == full.grader == GraderSource(repo="grader-hw1")
    assert short.image is None
    assert short.grader.full_name("cs101") == ("cs101", "grader-hw1")


def test_a_grader_of_another_owner_is_named_owner_slash_name():
    config = load_config(
        "grader:\n  repo: staff/graders\n  ref: v2\n  dockerfile: hw1/Dockerfile\n  context: hw1\n"
    )
    assert config.grader.full_name("cs101") == ("staff", "graders")
    assert (config.grader.ref, config.grader.dockerfile, config.grader.context) == (
        "v2",
        "hw1/Dockerfile",
        "hw1",
    )


def test_image_and_grader_together_are_refused_at_the_grader_line():
    err = config_error("image: a:1\ntimeout: 30\ngrader: grader-hw1\n")
    [problem] = err.problems
    assert (problem.where, problem.field) == ("line 3, column 1", "grader")
    assert "not both" in problem.message


def test_neither_image_nor_grader_says_either_is_required():
    assert "image: this setting is required (or grader:" in str(config_error("timeout: 30\n"))


@pytest.mark.parametrize(
    ("text", "field", "where", "words"),
    [
        ("grader: {repo: ../etc}\n", "grader.repo", "line 1, column 10", "owner/name"),
        ("grader: {repo: a/b/c}\n", "grader.repo", "line 1, column 10", "owner/name"),
        ("grader:\n  repo: g\n  ref: a..b\n", "grader.ref", "line 3, column 3", "branch"),
        ("grader:\n  repo: g\n  ref: 'x y'\n", "grader.ref", "line 3, column 3", "branch"),
        ("grader:\n  repo: g\n  dockerfile: /D\n", "grader.dockerfile", "line 3, column 3", ".."),
        ("grader:\n  repo: g\n  context: a/../..\n", "grader.context", "line 3, column 3", ".."),
        (
            "grader:\n  repo: g\n  branch: main\n",
            "grader.branch",
            "line 3, column 3",
            "unknown setting",
        ),
        ("grader: {ref: main}\n", "grader.repo", "line 1, column 9", "required"),
        ("grader: [a, b]\n", "grader", "line 1, column 1", "mapping"),
    ],
)
def test_a_bad_grader_names_its_field_and_the_line_and_column_of_its_key(text, field, where, words):
    [problem] = config_error(text).problems
    assert (problem.field, problem.where) == (field, where)
    assert words in problem.message


def test_the_full_form_locates_grader_errors_inside_the_assignment():
    text = "assignments:\n  hw1:\n    repos: 'hw1-*'\n    grader: {repo: ok, context: /abs}\n"
    with pytest.raises(ConfigError) as caught:
        load_file(text, org=True)
    [problem] = caught.value.problems
    assert problem.field == "assignments.hw1.grader.context"
    assert problem.where == "line 4, column 24"


def test_a_grader_config_dumps_and_loads_back_as_the_worker_reads_it():
    config = load_config("grader: {repo: g, ref: main}\ntimeout: 30\n")
    dumped = config.model_dump(mode="json")
    assert dumped["grader"] == {
        "repo": "g",
        "ref": "main",
        "dockerfile": "Dockerfile",
        "context": ".",
    }
    assert type(config).model_validate(dumped) == config
    assert "grader" not in load_config("image: a:1\n").model_dump(mode="json")
    assert config.sandbox_spec(image="pushgrade-grader/cs101-g:abc").image == (
        "pushgrade-grader/cs101-g:abc"
    )


# -- the org file's lock -----------------------------------------------------------------------

ORG_IMAGE = "assignments:\n  hw1:\n    repos: 'hw1-*'\n    image: ghcr.io/cs101/hw1:1\n"
ORG_GRADER = "assignments:\n  hw1:\n    repos: 'hw1-*'\n    grader: grader-hw1\n"
ORG_NEITHER = "assignments:\n  hw1:\n    repos: 'hw1-*'\n    timeout: 30\n"


def org(text: str):
    return load_file(text, file="cs101/.github/.github/pushgrade.yml", org=True)


def repo(text: str):
    return load_file(text)


def test_a_students_grader_cannot_replace_the_org_image():
    found = resolve("hw1-ann", org=org(ORG_IMAGE), repo=repo("grader: ann/my-own-grader\n"))
    assert found.config.image == "ghcr.io/cs101/hw1:1"
    assert found.config.grader is None
    assert any(
        note.startswith("grader:") and "no effect" in note for note in found.locked_overrides
    )


def test_a_students_image_cannot_replace_the_org_grader():
    found = resolve("hw1-ann", org=org(ORG_GRADER), repo=repo("image: evil:1\n"))
    assert found.config.grader == GraderSource(repo="grader-hw1")
    assert found.config.image is None
    assert any(note.startswith("image:") for note in found.locked_overrides)
    assert found.sources["grader.repo"] == "org"


def test_a_students_grader_where_the_org_names_none_is_no_grader_at_all():
    with pytest.raises(ConfigError, match="has no grader image"):
        resolve("hw1-ann", org=org(ORG_NEITHER), repo=repo("grader: ann/my-own-grader\n"))


def test_a_students_other_grader_ref_is_locked_too():
    found = resolve(
        "hw1-ann", org=org(ORG_GRADER), repo=repo("grader: {repo: grader-hw1, ref: old}\n")
    )
    assert found.config.grader.ref is None
    [note] = found.locked_overrides
    assert note.startswith('grader: the org file sets {repo: "grader-hw1"')


def test_a_teachers_own_repo_file_may_name_a_grader():
    found = resolve("lab", org=None, repo=repo("grader: grader-lab\n"))
    assert found.config.grader == GraderSource(repo="grader-lab")
    assert standalone(found.config)["grader.repo"] == "repo"


# -- on_grader_push -----------------------------------------------------------------------------


def test_on_grader_push_defaults_to_rebuild_and_accepts_regrade():
    assert load_config("grader: g\n").on_grader_push == "rebuild"
    config = load_config("grader: g\non_grader_push: regrade\n")
    assert config.on_grader_push == "regrade"
    assert "on_grader_push" not in load_config("grader: g\n").model_dump(mode="json")
    assert type(config).model_validate(config.model_dump(mode="json")) == config


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("grader: g\non_grader_push: rebiuld\n", "rebuild"),
        ("grader: g\non_grader_push: [regrade]\n", "one value"),
        ("image: a:1\non_grader_push: regrade\n", "not to image:"),
    ],
)
def test_a_bad_on_grader_push_is_refused_at_its_line(text, words):
    err = config_error(text)
    [problem] = err.problems
    assert (problem.field, problem.where) == ("on_grader_push", "line 2, column 1")
    assert words in problem.message


def test_a_student_cannot_make_a_grader_push_regrade_everyone():
    org_file = org(ORG_GRADER)
    found = resolve("hw1-ann", org=org_file, repo=repo("on_grader_push: regrade\n"))
    assert found.config.on_grader_push == "rebuild"
    assert any(note.startswith("on_grader_push:") for note in found.locked_overrides)
