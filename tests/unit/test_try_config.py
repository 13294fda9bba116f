"""`pushgrade try --config` and `pushgrade check-config` agree on what a file needs: either form,
the same required grader, the same rules. Config errors end `try` before any container."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ghapp.core.config import ConfigError
from pushgrade.cli import _try_config, main

FILES = {
    "short form": ("image: g:1\ntimeout: 30\n", True),
    "no grader": ("visibility: score\n", False),
    "one assignment, full form": ("assignments:\n  hw1: {image: g:1}\n", True),
    "grader built from a repo": ("grader: {repo: cs101/grader}\n", True),
    "late without due": ("image: g:1\nlate: {policy: accept}\n", False),
    "an unknown setting": ("image: g:1\ntimout: 3\n", False),
}


def try_args(config: Path | None, **flags) -> argparse.Namespace:
    defaults = {"config": config, "image": None, "timeout": None, "assignment": None}
    return argparse.Namespace(**{**defaults, **flags})


@pytest.mark.parametrize("name", FILES)
def test_try_and_check_config_agree_on_a_repo_file(tmp_path, capsys, name):
    text, valid = FILES[name]
    path = tmp_path / "pushgrade.yml"
    path.write_text(text)
    checked = main(["check-config", str(path)]) == 0
    try:
        _try_config(try_args(path, image="local:1" if "grader:" in text else None))
        tried = True
    except (ConfigError, ValueError):
        tried = False
    assert (checked, tried) == (valid, valid), capsys.readouterr()


def test_try_says_which_assignment_of_several(tmp_path, capsys):
    path = tmp_path / "org.yml"
    path.write_text(
        "assignments:\n  hw1: {repos: 'hw1-*', image: g:1}\n"
        "  hw2: {repos: 'hw2-*', image: g:2, timeout: 5}\n"
    )
    code = main(["try", str(tmp_path), "--config", str(path)])
    assert code == 2
    assert "lists 2 assignments (hw1, hw2): say which with --assignment NAME" in (
        capsys.readouterr().err
    )
    assert main(["try", str(tmp_path), "--config", str(path), "--assignment", "hw3"]) == 2
    assert "has no assignment 'hw3' (its assignments: hw1, hw2)" in capsys.readouterr().err
    config = _try_config(try_args(path, assignment="hw2"))
    assert (config.image, config.timeout) == ("g:2", 5)


def test_image_flag_stands_in_for_a_missing_image_and_a_grader_repo(tmp_path):
    path = tmp_path / "pushgrade.yml"
    path.write_text("visibility: score\n")
    assert _try_config(try_args(path, image="local:1")).image == "local:1"
    path.write_text("grader: {repo: cs101/grader}\n")
    with pytest.raises(ValueError, match="build that image and give it with --image IMAGE"):
        _try_config(try_args(path))
