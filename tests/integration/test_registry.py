"""Private registries: a real one (Debian's docker-registry, htpasswd auth) on loopback, the
worker's credentials from DOCKER_CONFIG, and every way a pull can fail, without a credential
ever showing."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from pathlib import Path

import pytest

from ghapp.core.report import render_report
from runner.grade import grade
from runner.outcome import ErrorKind, Status
from runner.registry import (
    Credentials,
    ImageStore,
    PullAuth,
    PullError,
    PullProblem,
    classify,
    credentials_for,
    digest_for,
    parse_reference,
)
from runner.sandbox import Sandbox
from runner.spec import SandboxSpec
from tests.conftest import BUSYBOX
from tests.integration.registries import USER, forget, free_port, push, start_registry

pytestmark = pytest.mark.docker


# -- references and credentials (no engine needed) ----------------------------------------------


@pytest.mark.parametrize(
    ("reference", "registry", "repository", "tag", "digest", "host"),
    [
        ("busybox", None, "busybox", None, None, "docker.io"),
        ("pushgrade-test/busybox:2", None, "pushgrade-test/busybox", "2", None, "docker.io"),
        ("localhost:5000/x:tag", "localhost:5000", "x", "tag", None, "localhost:5000"),
        ("localhost/x", "localhost", "x", None, None, "localhost"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", None, None, "127.0.0.1:5000"),
        ("ghcr.io/cs101/hw1:2026", "ghcr.io", "cs101/hw1", "2026", None, "ghcr.io"),
        ("host.example/x@sha256:ab12", "host.example", "x", None, "sha256:ab12", "host.example"),
        ("h:5000/x:1@sha256:ab12", "h:5000", "x", "1", "sha256:ab12", "h:5000"),
    ],
)
def test_references_are_taken_apart(reference, registry, repository, tag, digest, host):
    ref = parse_reference(reference)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.host) == (
        registry,
        repository,
        tag,
        digest,
        host,
    )


HUB_PYTHON = "docker.io/library/python@sha256:dd"


@pytest.mark.parametrize(
    ("reference", "repo_digests", "expected"),
    [
        ("h:5000/x:1", ["other:5000/x@sha256:aa", "h:5000/x@sha256:bb"], "h:5000/x@sha256:bb"),
        ("h:5000/x:1", ["other:5000/x@sha256:aa"], None),
        ("python:3.11-slim", ["python@sha256:cc"], "python@sha256:cc"),
        ("library/python:3.11", [HUB_PYTHON], HUB_PYTHON),
        ("python:3.11", [HUB_PYTHON], HUB_PYTHON),
        ("h:5000/x@sha256:ee", [], "h:5000/x@sha256:ee"),
        ("pushgrade-grader/o-g:abc", [], None),
    ],
)
def test_the_digest_recorded_is_the_one_of_the_reference_graded(reference, repo_digests, expected):
    assert digest_for(reference, repo_digests) == expected


def write_config(folder: Path, auths: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    return folder / "config.json"


def test_credentials_come_from_the_docker_config(tmp_path):
    encoded = base64.b64encode(b"alice:pa:ss").decode()
    path = write_config(
        tmp_path,
        {
            "ghcr.io": {"auth": encoded},
            "https://index.docker.io/v1/": {"username": "bob", "password": "hub"},
            "http://127.0.0.1:5000": {"auth": base64.b64encode(b"carol:x").decode()},
        },
    )
    assert credentials_for("ghcr.io", path) == Credentials("alice", "pa:ss")
    assert credentials_for("docker.io", path) == Credentials("bob", "hub")
    assert credentials_for("127.0.0.1:5000", path) == Credentials("carol", "x")
    assert credentials_for("quay.io", path) is None
    assert credentials_for("ghcr.io", tmp_path / "absent.json") is None
    assert "pa:ss" not in repr(credentials_for("ghcr.io", path))


def credential_helper(folder: Path, name: str, logins: dict[str, tuple[str, str]]) -> None:
    """A `docker-credential-NAME` on PATH answering `get` for `logins` (server -> user, secret),
    as docker-credential-pass or -secretservice do."""
    folder.mkdir(parents=True, exist_ok=True)
    table = {server: {"Username": u, "Secret": p} for server, (u, p) in logins.items()}
    script = folder / f"docker-credential-{name}"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"table = {json.dumps(table)!r}\n"
        "server = sys.stdin.read().strip()\n"
        "found = json.loads(table).get(server)\n"
        "if sys.argv[1:] != ['get'] or found is None:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(found))\n"
    )
    script.chmod(0o755)


def test_credentials_come_from_a_credential_helper_before_auths(tmp_path, monkeypatch):
    credential_helper(
        tmp_path / "bin",
        "pgtest",
        {"ghcr.io": ("alice", "from-store"), "https://index.docker.io/v1/": ("bob", "hub")},
    )
    credential_helper(tmp_path / "bin", "pgother", {"quay.io": ("carol", "from-helper")})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "credsStore": "pgtest",
                "credHelpers": {"quay.io": "pgother", "bad.io": "../../bin/sh"},
                "auths": {"ghcr.io": {}, "other.io": {"username": "dan", "password": "auths"}},
            }
        )
    )
    assert credentials_for("ghcr.io", path) == Credentials("alice", "from-store")
    assert credentials_for("docker.io", path) == Credentials("bob", "hub")
    assert credentials_for("quay.io", path) == Credentials("carol", "from-helper")
    assert credentials_for("other.io", path) == Credentials("dan", "auths")  # not in the store
    assert credentials_for("bad.io", path) is None  # a helper name that is a path: refused
    path.write_text(json.dumps({"credsStore": "absent-helper"}))
    assert credentials_for("ghcr.io", path) is None


def test_the_docker_config_folder_is_read_from_docker_config(tmp_path, monkeypatch):
    write_config(tmp_path / "cfg", {"ghcr.io": {"username": "u", "password": "p"}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    assert credentials_for("ghcr.io") == Credentials("u", "p")


@pytest.mark.parametrize(
    ("status", "message", "problem"),
    [
        (500, "unauthorized: authentication required", PullProblem.UNAUTHORIZED),
        (
            500,
            'Head "http://h/v2/x/manifests/": no basic auth credentials',
            PullProblem.UNAUTHORIZED,
        ),
        (404, "pull access denied for x, repository does not exist", PullProblem.UNAUTHORIZED),
        (403, "whatever", PullProblem.UNAUTHORIZED),
        (404, "manifest for h/x:2 not found: manifest unknown", PullProblem.NOT_FOUND),
        (None, 'Get "http://127.0.0.1:9/v2/": connection refused', PullProblem.UNREACHABLE),
        (None, "dial tcp: lookup nosuch.invalid: no such host", PullProblem.UNREACHABLE),
        (None, "something else", PullProblem.FAILED),
    ],
)
def test_engine_answers_are_classified(status, message, problem):
    assert classify(status, message) is problem


# -- a real registry ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grader_image(docker_client, build_image):
    """A small grader: passes, and says so."""
    return build_image(
        f'FROM {BUSYBOX}\nCMD ["/bin/sh", "-c", "echo graded from the registry; exit 0"]\n'
    )


@pytest.fixture(scope="module")
def private_image(docker_client, registry, grader_image):
    target = f"{registry.host}/private/grader:1"
    push(docker_client, registry, grader_image, target)
    return target


def logged_in(tmp_path: Path, monkeypatch, host: str, password: str) -> None:
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    write_config(tmp_path / "docker-config", {host: {"auth": auth}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))


def submission(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    root.mkdir(exist_ok=True)
    (root / "main.txt").write_text("hello\n")
    return root


@pytest.fixture
def fresh_sandbox(docker_client):
    box = Sandbox(docker_client)
    yield box
    assert box.leftovers() == []


def assert_no_secret(password: str, caplog, *texts: str) -> None:
    encoded = base64.b64encode(f"{USER}:{password}".encode()).decode()
    for text in (caplog.text, *texts):
        assert password not in text
        assert encoded not in text


def test_a_private_image_is_pulled_with_the_workers_login_and_graded(
    docker_client, registry, private_image, fresh_sandbox, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    forget(docker_client, private_image)
    logged_in(tmp_path, monkeypatch, registry.host, registry.password)
    outcome = grade(submission(tmp_path), SandboxSpec(image=private_image), sandbox=fresh_sandbox)
    assert outcome.status is Status.PASSED, outcome.reason
    assert "graded from the registry" in outcome.log
    # Pinned: the registry's digest of what ran, which names that exact image there.
    name = private_image.rsplit(":", 1)[0]
    assert outcome.image_digest and outcome.image_digest.startswith(f"{name}@sha256:")
    assert outcome.image_digest in docker_client.images.get(outcome.image_id).attrs["RepoDigests"]
    assert_no_secret(registry.password, caplog, outcome.model_dump_json())


def test_a_private_image_is_pulled_with_a_login_kept_by_a_credential_helper(
    docker_client, registry, private_image, fresh_sandbox, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    forget(docker_client, private_image)
    credential_helper(tmp_path / "bin", "pgtest", {registry.host: (USER, registry.password)})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({"credsStore": "pgtest"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    outcome = grade(submission(tmp_path), SandboxSpec(image=private_image), sandbox=fresh_sandbox)
    assert outcome.status is Status.PASSED, outcome.reason
    assert_no_secret(registry.password, caplog, outcome.model_dump_json())


def test_a_wrong_password_is_unauthorized(
    docker_client, registry, private_image, fresh_sandbox, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    forget(docker_client, private_image)
    wrong = "wrong-" + secrets.token_hex(8)
    logged_in(tmp_path, monkeypatch, registry.host, wrong)
    outcome = grade(submission(tmp_path), SandboxSpec(image=private_image), sandbox=fresh_sandbox)
    assert outcome.status is Status.ERRORED and outcome.error is ErrorKind.IMAGE_NOT_FOUND
    assert "unauthorized" in outcome.reason and "login for 127.0.0.1" in outcome.reason
    assert private_image in outcome.reason
    report = render_report(outcome)
    assert report.conclusion == "action_required"
    shown = json.dumps([report.title, report.summary, report.text])
    for secret in (wrong, registry.password):
        assert_no_secret(secret, caplog, outcome.model_dump_json(), shown)


def test_no_login_is_unauthorized(
    docker_client, registry, private_image, fresh_sandbox, tmp_path, monkeypatch
):
    forget(docker_client, private_image)
    write_config(tmp_path / "empty", {})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    outcome = grade(submission(tmp_path), SandboxSpec(image=private_image), sandbox=fresh_sandbox)
    assert outcome.error is ErrorKind.IMAGE_NOT_FOUND
    assert "unauthorized" in outcome.reason and "no login" in outcome.reason


def test_a_missing_image_is_not_found(
    registry, private_image, fresh_sandbox, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    logged_in(tmp_path, monkeypatch, registry.host, registry.password)
    for missing in (f"{registry.host}/private/grader:404", f"{registry.host}/private/nothing:1"):
        outcome = grade(submission(tmp_path), SandboxSpec(image=missing), sandbox=fresh_sandbox)
        assert outcome.error is ErrorKind.IMAGE_NOT_FOUND
        assert "was not found on 127.0.0.1" in outcome.reason and missing in outcome.reason
        assert render_report(outcome).conclusion == "action_required"
        assert_no_secret(registry.password, caplog, outcome.model_dump_json())


def test_a_stopped_registry_is_unreachable(
    docker_client, grader_image, fresh_sandbox, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    gone = start_registry(tmp_path / "gone")
    image = f"{gone.host}/private/grader:1"
    try:
        push(docker_client, gone, grader_image, image)
    finally:
        gone.stop()
    logged_in(tmp_path, monkeypatch, gone.host, gone.password)
    outcome = grade(submission(tmp_path), SandboxSpec(image=image), sandbox=fresh_sandbox)
    assert outcome.error is ErrorKind.IMAGE_NOT_FOUND
    assert "could not be reached" in outcome.reason and gone.host in outcome.reason
    assert_no_secret(gone.password, caplog, outcome.model_dump_json())


def test_an_image_made_on_the_engine_is_used_as_it_is(
    docker_client, grader_image, fresh_sandbox, tmp_path
):
    port = free_port()  # nothing listens there
    image = f"127.0.0.1:{port}/private/grader:1"
    docker_client.images.get(grader_image).tag(f"127.0.0.1:{port}/private/grader", "1")
    try:
        outcome = grade(submission(tmp_path), SandboxSpec(image=image), sandbox=fresh_sandbox)
        assert outcome.status is Status.PASSED, outcome.reason
        assert fresh_sandbox.images.pulls == 0  # built or loaded here: no registry to ask
    finally:
        forget(docker_client, image)


def test_a_pulled_tag_is_used_when_its_registry_is_down_for_whoever_pulled_it(
    docker_client, grader_image, tmp_path, monkeypatch
):
    going = start_registry(tmp_path / "going")
    image = f"{going.host}/private/grader:1"
    mine = PullAuth("uni-a", Credentials(USER, going.password))
    store = Sandbox(docker_client, tag_refresh_s=0).images
    try:
        push(docker_client, going, grader_image, image)
        store.get(image, auth=mine)
    finally:
        going.stop()
    try:
        assert store.pulls == 1
        assert store.get(image, auth=mine).id  # due again, unreachable: its copy serves it
        assert store.pulls == 2
        # Another tenant never had it: the copy on the engine is not proof that it may.
        with pytest.raises(PullError) as refused:
            store.get(image, auth=PullAuth("uni-b", None))
        assert refused.value.problem is PullProblem.UNREACHABLE
    finally:
        forget(docker_client, image)


def test_pulls_are_single_flight_and_tags_re_resolved_only_when_due(
    docker_client, registry, private_image, tmp_path, monkeypatch
):
    logged_in(tmp_path, monkeypatch, registry.host, registry.password)
    forget(docker_client, private_image)
    store = Sandbox(docker_client, tag_refresh_s=300).images
    found: list[str] = []
    threads = [
        threading.Thread(target=lambda: found.append(store.get(private_image).id)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(found) == 6 and len(set(found)) == 1
    assert store.pulls == 1
    store.get(private_image)
    assert store.pulls == 1  # resolved a moment ago
    store.refresh_s = 0
    store.get(private_image)
    assert store.pulls == 2  # due again: pulled again


def test_workers_on_one_host_pull_an_image_once_between_them(
    docker_client, registry, private_image, tmp_path, monkeypatch
):
    # Two stores as two worker processes have them (their flock on one file conflicts as two
    # processes' would): one pulls, the other finds the image it pulled.
    logged_in(tmp_path, monkeypatch, registry.host, registry.password)
    forget(docker_client, private_image)
    stores = [
        ImageStore(lambda: docker_client, refresh_s=300, lock_dir=tmp_path / "locks")
        for _ in range(2)
    ]
    found: list[str] = []
    threads = [
        threading.Thread(target=lambda s=store: found.append(s.get(private_image).id))
        for store in stores * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(found) == 6 and len(set(found)) == 1
    assert sum(store.pulls for store in stores) == 1
    # A third process coming later finds it resolved a moment ago, by another.
    late = ImageStore(lambda: docker_client, refresh_s=300, lock_dir=tmp_path / "locks")
    late.get(private_image)
    assert late.pulls == 0


def test_a_reference_by_digest_is_never_pulled_again(
    docker_client, registry, private_image, tmp_path, monkeypatch
):
    logged_in(tmp_path, monkeypatch, registry.host, registry.password)
    store = Sandbox(docker_client, tag_refresh_s=0).images
    image = store.get(private_image)
    digest = next(d for d in image.attrs["RepoDigests"] if d.startswith(registry.host))
    forget(docker_client, digest)
    forget(docker_client, private_image)
    before = store.pulls
    assert store.get(digest).id == image.id
    assert store.pulls == before + 1
    for _ in range(3):
        assert store.get(digest).id == image.id
    assert store.pulls == before + 1
