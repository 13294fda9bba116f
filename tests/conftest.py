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


# -- databases: one test, run on SQLite and on PostgreSQL ---------------------------------------

PG_URL_VARIABLE = "PUSHGRADE_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request, tmp_path):
    """The URL of an empty database of this test's own: a file in tmp_path on SQLite; on
    PostgreSQL a database created for it (and dropped after it) on the server that
    PUSHGRADE_TEST_DATABASE_URL names (its role needs CREATEDB), which `./dev test` starts.
    Without that variable the PostgreSQL case skips, except under CI, where it fails."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    import uuid

    import asyncpg
    from sqlalchemy.engine import make_url

    server = os.environ.get(PG_URL_VARIABLE)
    if not server:
        message = f"{PG_URL_VARIABLE} is not set: no PostgreSQL to test on (./dev test starts one)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(server)
    try:
        admin = await asyncpg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False), timeout=10
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        pytest.fail(f"the PostgreSQL that {PG_URL_VARIABLE} names does not answer: {err!r}")
    # A database per test, not a cleared shared one: tests (and two runs at once) cannot see
    # each other's rows, and a test may open as many engines on it as it likes.
    name = f"pushgrade_test_{uuid.uuid4().hex[:16]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db_sessions(db_url):
    """A sessionmaker on a database migrated to the newest schema, by the project's own
    ghapp.store.db helpers (make_engine, migrate, sessionmaker): on SQLite and on PostgreSQL."""
    from ghapp.store.db import make_engine, migrate, sessionmaker

    engine = make_engine(db_url)
    await migrate(engine)
    yield sessionmaker(engine)
    await engine.dispose()
