"""The org file's `teachers:`: the teams whose members see the dashboard as the org's owners."""

from __future__ import annotations

import pytest

from ghapp.core.config import ConfigError, load_file

ASSIGNMENTS = 'assignments:\n  hw1: {repos: "hw1-*", image: g}\n'


@pytest.mark.parametrize(
    ("line", "teams"),
    [
        ("teachers: cs101-staff\n", ("cs101-staff",)),
        ("teachers: [tas, Prof_s]\n", ("tas", "Prof_s")),
    ],
)
def test_the_org_file_names_one_team_or_several(line, teams):
    assert load_file(line + ASSIGNMENTS, org=True).teachers == teams


def test_without_teachers_there_is_no_team():
    assert load_file(ASSIGNMENTS, org=True).teachers is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("teachers: []\n", "a team slug or a list of them"),
        ("teachers: ../admins\n", "letters, digits, - and _"),
        ("teachers: [staff, 'a b']\n", "letters, digits, - and _"),
        ("teachers: {team: staff}\n", "a team slug or a list of them"),
        ("teacher: staff\n", "did you mean 'teachers'?"),
    ],
)
def test_a_bad_teachers_line_is_located_and_explained(line, words):
    with pytest.raises(ConfigError) as caught:
        load_file(line + ASSIGNMENTS, org=True)
    assert words in str(caught.value) and "line 1" in str(caught.value)


def test_a_repo_file_cannot_name_teachers():
    # A student can edit their repo's file: naming teachers there must not let anyone in.
    with pytest.raises(ConfigError) as caught:
        load_file("teachers: my-friends\n" + ASSIGNMENTS)
    assert "only the org file" in str(caught.value) and "line 1" in str(caught.value)
