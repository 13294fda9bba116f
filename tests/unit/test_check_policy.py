"""`pushgrade check-policy`: the operator's file checked before it is deployed, and an org's
config checked against it; secrets never printed."""

from __future__ import annotations

import pytest

from pushgrade.cli import main

POLICY = """\
defaults:
  images: [docker.io/library/]
tenants:
  uni-a:
    images: [registry.example/uni-a/]
    ceilings: {memory: 4g}
  uni-b: {}
registries:
  - registry: registry.example
    namespaces: [uni-a/]
    tenants: [uni-a]
    username: pushgrade
    password_file: {secret}
"""


@pytest.fixture
def policy(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("hunter2-very-secret\n")
    path = tmp_path / "policy.yml"
    path.write_text(POLICY.replace("{secret}", str(secret)))
    return path


def test_check_policy_shows_each_tenants_images_logins_and_ceilings(policy, capsys):
    assert main(["check-policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "uni-a:\n  images: docker.io/library/, registry.example/uni-a/\n" in out
    assert "  login: password for registry.example/uni-a/\n" in out
    assert "memory=4 GiB" in out and "memory=2 GiB" in out
    assert "hunter2" not in out


def test_check_policy_says_what_an_orgs_config_asks_beyond_it(policy, tmp_path, capsys):
    config = tmp_path / "pushgrade.yml"
    config.write_text("image: registry.example/uni-a/grader:1\nlimits: {memory: 3g}\n")
    assert main(["check-policy", str(policy), "--account", "uni-a", "--config", str(config)]) == 0
    assert "within uni-a's policy" in capsys.readouterr().out
    code = main(["check-policy", str(policy), "--account", "uni-b", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 2
    assert "default: image: the image 'registry.example/uni-a/grader:1' is not one" in out
    assert "default: limits.memory: 3 GiB is above this deployment's ceiling of 2 GiB" in out
    assert main(["check-policy", str(policy), "--account", "uni-z", "--config", str(config)]) == 2
    assert "uni-z: not served" in capsys.readouterr().out


def test_check_policy_locates_every_error(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("tenants:\n  uni-a:\n    ceilings: {cpus: 0}\n")
    assert main(["check-policy", str(bad)]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}: line 3, column ") and "tenants.uni-a.ceilings.cpus" in out
    assert main(["check-policy", str(tmp_path / "absent.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err
