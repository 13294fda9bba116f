"""Handing out, the pure parts: the repo each student or team gets, who may accept until when,
and the org file's settings for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ghapp.core.config import ConfigError, load_file
from ghapp.core.handout import (
    accept_closes,
    check_pattern,
    check_team_name,
    repo_name_for,
    team_slug,
)

T = datetime(2026, 12, 10, 23, 59, tzinfo=UTC)
C = datetime(2026, 12, 12, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "team", "problem"),
    [
        ("{assignment}-{login}", False, None),
        ("{assignment}-{team}", True, None),
        ("fall26.{assignment}_{login}", False, None),
        ("{assignment}", False, "must hold {login}, or every login would get the same repository"),
        (
            "{assignment}-{login}",
            True,
            "{login} is not a placeholder here; use {assignment}, {team}",
        ),
        ("{assignment}-{user}", False, "{user} is not a placeholder here"),
        ("hw 1-{login}", False, "may hold only letters, digits"),
        ("{assignment}/{login}", False, "may hold only letters, digits"),
    ],
)
def test_a_repo_name_pattern_names_each_student_apart(pattern, team, problem):
    if problem is None:
        assert check_pattern(pattern, team=team) == pattern
    else:
        with pytest.raises(ValueError, match=problem.replace("{", r"\{").replace("}", r"\}")):
            check_pattern(pattern, team=team)


def test_names_are_made_from_the_pattern_with_the_login_lower_cased():
    assert repo_name_for("{assignment}-{login}", assignment="hw1", login="Alice-Dev") == (
        "hw1-alice-dev"
    )
    assert repo_name_for("{assignment}-{team}", assignment="hw2", team="team-rocket") == (
        "hw2-team-rocket"
    )
    with pytest.raises(ValueError, match="not a repository name"):
        repo_name_for("{assignment}-{login}", assignment="a" * 90, login="b" * 20)


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Team Rocket", "team-rocket"), ("  The  A*Team! ", "the-a-team"), ("x_y", "x_y")],
)
def test_team_slugs_are_githubs(name, slug):
    assert team_slug(check_team_name(name)) == slug


@pytest.mark.parametrize("name", ["", "   ", "!!!", "x" * 41])
def test_a_team_name_needs_a_letter_and_a_sensible_length(name):
    with pytest.raises(ValueError):
        check_team_name(name)


@pytest.mark.parametrize(
    ("due", "cutoff", "ignored", "closes"),
    [
        (None, None, False, None),
        (T, None, False, None),  # late pushes are graded: accepting stays open
        (T, None, True, T),  # late pushes are not graded: it closes at the deadline
        (T, C, False, C),
        (T, C, True, C),
    ],
)
def test_accepting_closes_when_no_push_would_be_graded_any_more(due, cutoff, ignored, closes):
    assert accept_closes(due, cutoff, ignored) == closes


ORG_FILE = """assignments:
  hw1:
    repos: "hw1-*"
    image: grader:1
    template: hw1-template
{extra}"""


def org_file(extra: str = ""):
    return load_file(ORG_FILE.format(extra=extra), org=True, standalone=True)


def test_an_org_assignment_hands_out_with_defaults():
    hw1 = org_file().assignments["hw1"]
    assert hw1.hands_out and hw1.repo_pattern == "{assignment}-{login}"
    assert (hw1.student_permission, hw1.open_to, hw1.max_team_size) == ("push", "anyone", None)
    teams = org_file("    max_team_size: 3\n    open_to: roster\n").assignments["hw1"]
    assert (teams.repo_pattern, teams.open_to) == ("{assignment}-{team}", "roster")


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("    repo_name: '{assignment}'\n", "repo_name", "must hold {login}"),
        ("    repo_name: 'lab-{login}'\n", "repos", "does not match the repos this assignment"),
        ("    lock_at_cutoff: true\n", "lock_at_cutoff", "needs late.cutoff"),
        ("    open_to: everyone\n", "open_to", "'members', 'roster' or 'anyone'"),
        ("    student_permission: admin\n", "student_permission", "'pull', 'triage'"),
        ("    max_team_size: 1\n", "max_team_size", "greater than or equal to 2"),
        ("    template: a/b/c\n", "template", "a repository of the org"),
    ],
)
def test_hand_out_settings_that_cannot_work_are_refused_with_their_field(extra, field, problem):
    text = ORG_FILE.format(extra=extra)
    if "template: a/b/c" in extra:
        text = text.replace("    template: hw1-template\n", "")
    with pytest.raises(ConfigError) as err:
        load_file(text, org=True, standalone=True)
    assert any(
        p.field == f"assignments.hw1.{field}" and problem in p.message for p in err.value.problems
    ), err.value.problems


def test_hand_out_settings_without_a_template_are_refused():
    text = "image: grader:1\nopen_to: roster\n"
    with pytest.raises(ConfigError, match="applies to an assignment that hands out repos"):
        load_file(text, standalone=True)


def test_an_old_configs_dump_is_unchanged_by_the_new_fields():
    one = load_file("image: g:1\n", standalone=True).assignments["default"]
    assert not {"template", "open_to", "lock_at_cutoff"} & set(one.model_dump())
