"""deploy/Dockerfile, built with the running Docker engine and run as an operator would run it.

The build installs the project's dependencies with pip. Build containers here reach no package
index of their own, so the test downloads the wheels on the host (kept between runs in pytest's
cache), serves them on loopback, and builds on the host's network with that server as the
build's PIP_INDEX_URL, the same build argument an operator uses for a PyPI mirror. The base
image `python:3.11-slim` is the one scripts/test-images.sh provides offline.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import docker.errors
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.test_deploy import dotenv, interpolate, load_compose

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SECOND = 1_000_000_000  # the Docker API counts health-check intervals in nanoseconds


def _requirements() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]


@pytest.fixture(scope="module")
def package_index(request):
    """A loopback package index holding the wheels the image installs: the URL the build sees."""
    cache = Path(request.config.cache.mkdir("deploy-wheelhouse"))
    download = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--dest", str(cache), "--only-binary=:all:", "--python-version", "3.11",
        *_requirements(),
    ]  # fmt: skip
    # Offline first (the cache from an earlier run), then from the index pip is configured with.
    offline = subprocess.run(
        [*download, "--no-index", "--find-links", str(cache)], capture_output=True, text=True
    )
    if offline.returncode != 0:
        online = subprocess.run(download, capture_output=True, text=True, timeout=600)
        if online.returncode != 0:
            pytest.fail(f"could not download the image's wheels on the host:\n{online.stderr}")
    index = Path(request.config.cache.mkdir("deploy-index"))
    for wheel in cache.glob("*.whl"):
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        (index / project).mkdir(exist_ok=True)
        link = index / project / wheel.name
        if not link.exists():
            os.link(wheel, link)
    handler = functools.partial(_QuietHandler, directory=str(index))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image(docker_client, package_index):
    try:
        docker_client.images.get("python:3.11-slim")
    except docker.errors.ImageNotFound:
        pytest.fail("python:3.11-slim is missing: run scripts/test-images.sh")
    tag = f"pushgrade-test/deploy:{uuid.uuid4().hex[:12]}"
    try:
        built, _ = docker_client.images.build(
            path=str(ROOT),
            dockerfile="deploy/Dockerfile",
            tag=tag,
            buildargs={"PIP_INDEX_URL": package_index},
            network_mode="host",
            rm=True,
            forcerm=True,
            pull=False,
        )
    except docker.errors.BuildError as err:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in err.build_log)
        pytest.fail(f"deploy/Dockerfile did not build: {err.msg}\n{log[-4000:]}")
    yield built
    docker_client.images.remove(built.id, force=True)


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def containers(docker_client):
    started = []
    yield started
    for container in started:
        container.remove(force=True)


def _wait_for_health(container, want: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        container.reload()
        status = container.attrs["State"].get("Health", {}).get("Status", "")
        if status == want or container.status == "exited":
            break
        time.sleep(0.5)
    return status


def _healthz_inside(container) -> dict:
    code, output = container.exec_run(
        ["python", "-c", "import urllib.request as r, urllib.error as e\n"
         "try: print(r.urlopen('http://127.0.0.1:8080/healthz', timeout=5).read().decode())\n"
         "except e.HTTPError as err: print(err.read().decode())"]
    )  # fmt: skip
    assert code == 0, output
    return json.loads(output)


def test_the_image_runs_pushgrade_as_an_unprivileged_user(docker_client, image):
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["pushgrade"] and config["Cmd"] == ["serve"]
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert not any(re.search(r"SECRET|PASSWORD|PRIVATE_KEY", e) for e in config["Env"])
    whoami = docker_client.containers.run(
        image.id, entrypoint=["sh", "-c"], command=["id -u; id -g; pwd"], remove=True
    )
    assert whoami.decode().split() == ["10001", "10001", "/var/lib/pushgrade"]
    usage = docker_client.containers.run(image.id, command=["--help"], remove=True).decode()
    assert all(command in usage for command in ("serve", "web", "worker"))
    drivers = docker_client.containers.run(
        image.id, entrypoint=["python", "-c"], command=["import asyncpg, aiosqlite"], remove=True
    )
    assert drivers == b""


def _serve(docker_client, image, pem, containers, *, socket_group: bool, command: str = "serve"):
    gid = os.stat("/var/run/docker.sock").st_gid
    container = docker_client.containers.run(
        image.id,
        command=[command],
        detach=True,
        environment={
            "PUSHGRADE_APP_ID": "12345",
            "PUSHGRADE_WEBHOOK_SECRET": "webhook-secret",
            "PUSHGRADE_PRIVATE_KEY": pem,
            "PUSHGRADE_WORKERS": "1",
        },
        volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
        group_add=[str(gid)] if socket_group else [],
        # The image's own check, run every second instead of every 15 s.
        healthcheck={
            "interval": SECOND,
            "timeout": 5 * SECOND,
            "retries": 2,
            "start_period": SECOND // 1000,
        },
        network_mode="none",
    )
    containers.append(container)
    return container


def test_serve_with_the_docker_socket_becomes_healthy(docker_client, image, pem, containers):
    container = _serve(docker_client, image, pem, containers, socket_group=True)
    status = _wait_for_health(container, "healthy")
    assert status == "healthy", container.logs()[-2000:]
    assert _healthz_inside(container) == {"database": "ok", "docker": "ok", "worker": "ok"}
    # SQLite, the default, lives in the image user's working folder.
    code, listing = container.exec_run(["ls", "/var/lib/pushgrade"])
    assert code == 0 and b"pushgrade.sqlite3" in listing


def test_a_worker_alone_is_checked_by_the_images_healthcheck_on_its_own_health_port(
    docker_client, image, pem, containers
):
    container = _serve(docker_client, image, pem, containers, socket_group=True, command="worker")
    status = _wait_for_health(container, "healthy")
    assert status == "healthy", container.logs()[-2000:]
    assert _healthz_inside(container) == {"database": "ok", "docker": "ok", "worker": "ok"}
    assert b"worker running, /healthz and /metrics on http://0.0.0.0:8080" in container.logs()


def test_serve_that_cannot_reach_docker_turns_unhealthy(docker_client, image, pem, containers):
    container = _serve(docker_client, image, pem, containers, socket_group=False)
    status = _wait_for_health(container, "unhealthy")
    assert status == "unhealthy", container.logs()[-2000:]
    assert _healthz_inside(container)["docker"].startswith("unreachable")


# -- the compose services' way of starting, against a real PostgreSQL -----------------------------


@pytest.fixture
async def postgres_url():
    """An empty database of this test's own on the PostgreSQL that PUSHGRADE_TEST_DATABASE_URL
    names (`./dev test` starts one), dropped afterwards."""
    import asyncpg
    from sqlalchemy.engine import make_url

    server = os.environ.get("PUSHGRADE_TEST_DATABASE_URL")
    if not server:
        pytest.skip("PUSHGRADE_TEST_DATABASE_URL is not set: no PostgreSQL to run against")
    url = make_url(server)
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False), timeout=10
    )
    name = f"pushgrade_deploy_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _compose_run(docker_client, image, containers, service: str, secrets: Path, **overrides):
    """Start a compose service's container the way compose would: its entrypoint (the secrets
    loader), command and environment, the secret files under /run/secrets; on the host's
    network, where the test's PostgreSQL listens on loopback."""
    spec = load_compose()["services"][service]
    environment = {k: interpolate(v, dotenv()) for k, v in spec.get("environment", {}).items()}
    environment.update(overrides)
    container = docker_client.containers.run(
        image.id,
        entrypoint=[interpolate(part, {}) for part in spec["entrypoint"]],
        command=spec["command"],
        environment=environment,
        volumes={str(secrets): {"bind": "/run/secrets", "mode": "ro"}},
        network_mode="host",
        detach=True,
    )
    containers.append(container)
    return container


def test_compose_migrate_then_web_on_postgresql(
    docker_client, image, containers, postgres_url, tmp_path
):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    secrets.chmod(0o755)
    files = {"PUSHGRADE_DATABASE_URL": postgres_url, "PUSHGRADE_WEBHOOK_SECRET": "s3cret\n"}
    for name, content in files.items():
        (secrets / name).write_text(content)
        (secrets / name).chmod(0o644)

    migrate = _compose_run(docker_client, image, containers, "migrate", secrets)
    result = migrate.wait(timeout=120)
    logs = migrate.logs().decode()
    assert result["StatusCode"] == 0, logs
    assert "schema is up to date" in logs

    port = _free_port()
    web = _compose_run(docker_client, image, containers, "web", secrets, PUSHGRADE_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    deadline, health = time.monotonic() + 60, None
    while time.monotonic() < deadline and health is None:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                health = json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError):
            web.reload()
            assert web.status != "exited", web.logs().decode()[-2000:]
            time.sleep(0.5)
    assert health == {"database": "ok"}

    # The webhook secret came from its file: a delivery signed with it is taken, others refused.
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    for secret, expected in ((b"s3cret", {200, 202}), (b"wrong", {401})):
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{base}/webhooks/github",
            data=body,
            headers={
                "X-Hub-Signature-256": signature,
                "X-GitHub-Event": "ping",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status = answer.status
        except urllib.error.HTTPError as err:
            status = err.code
        assert status in expected, (secret, status)
