"""Build a grader image from a folder with the Docker engine: a timeout, a memory cap, labels.

The folder is a grader repository already extracted safely (`runner.archive`); its base images
are on the engine already, pulled by the caller with the tenant's own login: the build itself
sends no login and pulls nothing. The build's log
is kept (its tail) for the teacher; a failure names the step that failed. Synchronous, as the
docker SDK is: callers run it in a thread.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from runner.sandbox import LABEL

GRADER_LABEL = "pushgrade.grader"  # the grader repository an image was built from (owner/name)
LOG_TAIL_LINES = 60


@dataclass(frozen=True)
class BuildLimits:
    timeout_s: float = 600.0
    memory_bytes: int = 2 * 1024 * 1024 * 1024
    # RUN steps reach the network (pip install …) unless this is off: the engine's default.
    network: bool = True


@dataclass(frozen=True)
class BuildResult:
    image_id: str | None  # None: the build failed
    log_tail: str
    failed_step: str = ""  # the Dockerfile step that failed ("Step 3/5 : RUN make")
    error: str = ""  # what the engine said


def build_image(
    client: docker.DockerClient,
    context: Path,
    dockerfile: Path,
    *,
    tag: str,
    labels: dict[str, str],
    limits: BuildLimits = BuildLimits(),
) -> BuildResult:
    """Build `context` with `dockerfile` (a path inside it) and tag it; never raises for a build
    that fails, only reports it."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    step = ""
    started = time.monotonic()
    _without_logins(client.api)
    try:
        stream = client.api.build(
            path=str(context),
            dockerfile=os.path.relpath(dockerfile, context),
            tag=tag,
            labels={LABEL: "1", **labels},
            rm=True,
            forcerm=True,
            pull=False,
            container_limits={"memory": limits.memory_bytes, "memswap": limits.memory_bytes},
            timeout=max(1, int(limits.timeout_s)),
            network_mode=None if limits.network else "none",
            decode=True,
        )
        image_id = None
        for chunk in stream:
            text = chunk.get("stream") or chunk.get("status") or ""
            for line in text.splitlines():
                if line.strip():
                    tail.append(line.rstrip())
                if line.startswith("Step "):
                    step = line.strip()
            if "aux" in chunk and isinstance(chunk["aux"], dict):
                image_id = chunk["aux"].get("ID") or image_id
            if "error" in chunk:
                message = str(chunk.get("error") or "").strip()
                tail.append(message)
                return BuildResult(None, "\n".join(tail), step, message)
            if time.monotonic() - started > limits.timeout_s:
                return _timed_out(tail, step, limits)
        if image_id is None:
            image_id = client.images.get(tag).id
        return BuildResult(image_id, "\n".join(tail), step)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        if time.monotonic() - started >= limits.timeout_s * 0.9:
            return _timed_out(tail, step, limits)
        raise
    except docker.errors.APIError as err:
        message = str(getattr(err, "explanation", None) or err).strip()
        return BuildResult(None, "\n".join(tail), step, message[:1000])


def _without_logins(api: docker.APIClient) -> None:
    """A build sends no registry login. The SDK would send every login of the worker's
    DOCKER_CONFIG (`X-Registry-Config`), letting a tenant's Dockerfile pull with the operator's
    credentials; instead the caller pulls each base image beforehand with the tenant's own
    login, and the build (pull=False) uses them as they are."""
    api._set_auth_headers = _no_auth_headers  # this client's builds only: pulls pass their own


def _no_auth_headers(headers: dict) -> None:
    return None


def _timed_out(tail: deque[str], step: str, limits: BuildLimits) -> BuildResult:
    message = f"the build took longer than {limits.timeout_s:g} seconds and was stopped"
    return BuildResult(None, "\n".join(tail), step, message)


def engine_id(client: docker.DockerClient) -> str:
    """The engine's own id: a grader built on one engine is not on another."""
    info = client.info()
    return str(info.get("ID") or info.get("Name") or "default")[:128]


def has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True
