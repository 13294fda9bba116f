"""A real private registry on loopback for tests: Debian's docker-registry with htpasswd auth,
started per test or module, and images pushed to it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import pytest

USER = "teacher"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Registry:
    host: str
    password: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_registry(folder: Path) -> Registry:
    binary, htpasswd = shutil.which("docker-registry"), shutil.which("htpasswd")
    if not binary or not htpasswd:
        message = "docker-registry and htpasswd are needed (Debian: docker-registry apache2-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder.mkdir(parents=True, exist_ok=True)
    password = "pw-" + secrets.token_hex(12)
    entry = subprocess.run(
        [htpasswd, "-Bbn", USER, password], check=True, capture_output=True, text=True
    ).stdout
    (folder / "htpasswd").write_text(entry)
    port = free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: info}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        f"auth: {{htpasswd: {{realm: pushgrade-test, path: {folder / 'htpasswd'}}}}}\n"
    )
    log = folder / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "serve", str(folder / "config.yml")], stdout=out, stderr=subprocess.STDOUT
        )
    registry = Registry(f"127.0.0.1:{port}", password, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{registry.host}/v2/", timeout=2)
        except urllib.error.HTTPError as err:
            if err.code == 401:
                return registry
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    registry.stop()
    pytest.fail(f"docker-registry did not start: {log.read_text()[-2000:]}")


def push(docker_client, registry: Registry, local: str, target: str) -> None:
    repository, tag = target.rsplit(":", 1)
    docker_client.images.get(local).tag(repository, tag)
    try:
        for event in docker_client.images.push(
            repository,
            tag=tag,
            auth_config={"username": USER, "password": registry.password},
            stream=True,
            decode=True,
        ):
            assert "error" not in event, event
    finally:
        docker_client.images.remove(target)


def forget(docker_client, reference: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(reference)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A private registry for the test module (its tests share it)."""
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.stop()
