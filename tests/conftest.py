"""Shared fixtures. Docker-backed tests need a real engine and the base images that
`scripts/test-images.sh` builds; without them they fail (never skip) with a message saying so."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# CI explores the same examples every run (a red CI blocks landing); local runs stay random and
# keep looking for new failures.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

BUSYBOX = "pushgrade-test/busybox:2"
PYTHON = "pushgrade-test/python:3.11"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "python-pytest"


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as err:
        pytest.fail(f"these tests need a running Docker engine ({err}); `./dev test` starts one")
    for base in (BUSYBOX, PYTHON):
        try:
            client.images.get(base)
        except docker.errors.ImageNotFound:
            pytest.fail(f"base image {base} is missing: run scripts/test-images.sh")
    return client


@pytest.fixture(scope="session")
def sandbox(docker_client):
    from runner.sandbox import Sandbox

    return Sandbox(docker_client)


@pytest.fixture(autouse=True)
def _nothing_left_behind(request):
    """Every Docker-backed test must leave no pushgrade container or volume behind."""
    yield
    if "sandbox" in request.fixturenames:
        leftovers = request.getfixturevalue("sandbox").leftovers()
        assert leftovers == [], f"left behind: {leftovers}"


@pytest.fixture(scope="session")
def build_image(docker_client) -> Callable[..., str]:
    """Build an image from a Dockerfile and files, tagged by their content so a rebuild is free."""

    def build(
        dockerfile: str, files: dict[str, str | bytes] | None = None, mode: int = 0o755
    ) -> str:
        files = dict(files or {})
        files["Dockerfile"] = dockerfile
        digest = hashlib.sha256()
        for name in sorted(files):
            content = files[name].encode() if isinstance(files[name], str) else files[name]
            digest.update(name.encode() + b"\0" + content + b"\0")
        tag = f"pushgrade-test/case:{digest.hexdigest()[:16]}"
        try:
            docker_client.images.get(tag)
            return tag
        except Exception:
            pass
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            for name, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = mode
                tar.addfile(info, io.BytesIO(data))
        context.seek(0)
        docker_client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
        return tag

    return build


@pytest.fixture(scope="session")
def example_grader(build_image) -> str:
    """The bundled example's grader (pytest, JUnit XML), built on the offline Python base."""
    tests = (EXAMPLE / "grader" / "tests" / "test_calc.py").read_text()
    dockerfile = (EXAMPLE / "grader" / "Dockerfile").read_text()
    dockerfile = dockerfile.replace("FROM python:3.11-slim", f"FROM {PYTHON}")
    return build_image(dockerfile, {"tests/test_calc.py": tests}, mode=0o644)
