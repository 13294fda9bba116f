"""What a push to one of the org's own repos concerns (`ghapp.work.warming.classify`): pure,
no I/O."""

from __future__ import annotations

from ghapp.core.config import load_file
from ghapp.store.models import Job
from ghapp.work.warming import classify

ORG_FILE = """
assignments:
  hw1: {repos: 'hw1-*', grader: grader-hw1}
  hw1-late: {repos: 'hw1l-*', grader: {repo: Grader-HW1, ref: late}}
  hw2: {repos: 'hw2-*', grader: {repo: staff/graders, dockerfile: hw2/Dockerfile}}
  hw3: {repos: 'hw3-*', image: ghcr.io/cs101/hw3:1}
"""
ORG = load_file(ORG_FILE, file="cs101/.github/.github/pushgrade.yml", org=True)


def push(repo: str, branch: str = "main", *, owner: str = "cs101", default="main") -> Job:
    return Job(owner=owner, repo=repo, ref=f"refs/heads/{branch}", default_branch=default)


def names(found) -> list[str]:
    return [name for name, _ in found.assignments]


def test_a_students_repo_is_none_of_its_business():
    assert classify(push("hw1-ann"), ORG) is None
    assert classify(push("hw1-ann"), None) is None


def test_the_config_repos_default_branch_concerns_every_assignment():
    found = classify(push(".github"), ORG)
    assert (found.kind, names(found)) == ("config", ["hw1", "hw1-late", "hw2", "hw3"])
    assert names(classify(push(".github", "draft"), ORG)) == []  # not the config in force
    assert names(classify(push(".github"), None)) == []  # no org file there: nothing to warm


def test_a_grader_push_concerns_the_assignments_building_from_that_branch():
    found = classify(push("grader-hw1"), ORG)
    assert (found.kind, names(found)) == ("grader", ["hw1"])  # hw1-late builds from `late`
    assert names(classify(push("GRADER-hw1", "late"), ORG)) == ["hw1-late"]  # names: any case
    assert names(classify(push("grader-hw1", "draft"), ORG)) == []
    # A grader repo of another owner, named owner/name.
    assert names(classify(push("graders", owner="staff"), ORG)) == ["hw2"]
    assert classify(push("graders"), ORG) is None  # cs101/graders is not staff/graders


def test_without_a_known_default_branch_a_grader_on_its_default_is_taken_to_have_moved():
    assert names(classify(push("grader-hw1", "whatever", default=None), ORG)) == ["hw1"]
