"""Grader images from registries: references, the worker's credentials, single-flight pulls.

Credentials come only from the worker's Docker client configuration (`config.json` in
`DOCKER_CONFIG`, default `~/.docker`, as `docker login` writes it: `auths`, or the credential
helpers `credHelpers` and `credsStore` name), never from a repository: the
students can read those. They go to the engine in the pull's auth header and nowhere else: not in
a log line, an exception or a reason (`Credentials` does not even show them in its repr).

A pull is single-flight per tenant and reference: jobs that need the same image at once wait for
one pull and share its result. A tag is re-resolved (pulled again) at most every `refresh_s`; an
image referenced by digest is never pulled again once present. An image present on the engine
under a name no registry gave it (built, loaded or tagged on the worker: no RepoDigest for that
repository) is used as it is.

The engine's image store is shared by every tenant (an org the deployment serves), and an image
pulled with one tenant's login is there for any container to use. So a registry image is used
for a tenant only after a pull *by that tenant* (`PullAuth`, with its own login or none)
succeeded: a pull of an image already present costs a manifest request, and a refusal is final.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import docker
import docker.errors

log = logging.getLogger(__name__)

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
DEFAULT_REFRESH_S = 300.0
# What the engine says when an image is not there, and when it fails at all: named here so that
# code outside runner handles them without knowing the Docker SDK.
ImageNotFound = docker.errors.ImageNotFound
EngineError = docker.errors.DockerException


def digest_for(reference: str, repo_digests: tuple[str, ...] | list[str]) -> str | None:
    """The `name@sha256:…` among an image's RepoDigests that belongs to `reference` (an image
    pulled from two registries has one for each); None for an image no registry gave us."""
    ref = parse_reference(reference)
    if ref.digest is not None:
        return f"{_name(ref)}@{ref.digest}"
    wanted = {_name(ref)}
    if ref.registry is None:  # Docker Hub names: python, library/python, docker.io/library/python
        short = ref.repository.removeprefix("library/")
        wanted |= {short, f"library/{short}", f"docker.io/library/{short}", f"docker.io/{short}"}
    for entry in repo_digests:
        name, at, _ = entry.partition("@")
        if at and name in wanted:
            return entry
    return None


def _name(ref: ImageRef) -> str:
    return f"{ref.registry}/{ref.repository}" if ref.registry else ref.repository


@dataclass(frozen=True)
class ImageRef:
    """An image reference taken apart: `[registry/]repository[:tag][@digest]`."""

    reference: str
    registry: str | None  # as written; None when the reference names none (Docker Hub, or local)
    repository: str
    tag: str | None
    digest: str | None

    @property
    def host(self) -> str:
        return self.registry or DOCKER_HUB


def parse_reference(reference: str) -> ImageRef:
    """Docker's rule: the first path component is a registry host when it has a `.` or a `:`
    or is `localhost`; otherwise the image is on Docker Hub (or only local)."""
    rest, digest = reference, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    registry = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    tag = None
    name, colon, maybe_tag = rest.rpartition(":")
    if colon and "/" not in maybe_tag:
        rest, tag = name, maybe_tag
    return ImageRef(reference, registry, rest, tag, digest)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


@dataclass(frozen=True)
class PullAuth:
    """Who pulls: a tenant (any key; access is proven per tenant) and its login for the image's
    registry (None: anonymous). No `PullAuth` at all: the worker's own DOCKER_CONFIG login."""

    tenant: str
    credentials: Credentials | None = None


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(folder) / "config.json"


def _normal_host(key: str) -> str:
    host = key.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def credentials_for(host: str, path: Path | None = None) -> Credentials | None:
    """The worker's login for a registry host from `auths` in its Docker config, if any."""
    path = path or docker_config_path()
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        # The error names the file and what is wrong with it, never its content.
        log.warning("cannot read the Docker client config %s: %s", path, type(err).__name__)
        return None
    if not isinstance(config, dict):
        return None
    wanted = _normal_host(host)
    # As the docker CLI: a helper named for this registry, else the default store, else auths.
    helpers = config.get("credHelpers") if isinstance(config.get("credHelpers"), dict) else {}
    named = [helper for key, helper in helpers.items() if _normal_host(key) == wanted]
    helper = named[0] if named else config.get("credsStore")
    if isinstance(helper, str) and helper:
        found = from_helper(helper, wanted)
        if found is not None:
            return found
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if _normal_host(key) != wanted or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                decoded = base64.b64decode(str(entry["auth"]), validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                log.warning("the login for %s in %s cannot be decoded; ignoring it", key, path)
                continue
            username, colon, password = decoded.partition(":")
            if colon:
                return Credentials(username, password)
            log.warning("the login for %s in %s is not user:password; ignoring it", key, path)
            continue
        if entry.get("username") and entry.get("password") is not None:
            return Credentials(str(entry["username"]), str(entry["password"]))
    return None


_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HELPER_TIMEOUT_S = 15.0


def from_helper(helper: str, host: str) -> Credentials | None:
    """A login from a credential helper (`docker-credential-NAME get`, the registry on its
    stdin, JSON on its stdout), as `docker login` with a credsStore or credHelpers leaves it.
    Nothing it prints is logged: it holds the secret."""
    if not _HELPER_NAME.match(helper):
        log.warning("ignoring the credential helper %r: not a helper's name", helper[:64])
        return None
    server = "https://index.docker.io/v1/" if host == DOCKER_HUB else host
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("the credential helper %s failed for %s: %s", program, host, type(err).__name__)
        return None
    if done.returncode != 0:  # "credentials not found in native keychain": no login here
        log.info("the credential helper %s has no login for %s", program, host)
        return None
    try:
        answer = json.loads(done.stdout)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        log.warning("the credential helper %s answered in an unknown form", program)
        return None
    if username == "<token>":  # an identity token: not a password the engine can use here
        log.warning("the credential helper %s gave an identity token for %s", program, host)
        return None
    return Credentials(username, secret)


def _from_registry(reference: str, image) -> bool:
    """Whether the engine got this image under this name from a registry: a digest reference,
    or a RepoDigest for its repository (one for each it was pulled from or pushed to)."""
    return digest_for(reference, image.attrs.get("RepoDigests") or []) is not None


class PullProblem(StrEnum):
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


class PullError(Exception):
    """A pull that failed, with a reason for the teacher (no credential in it)."""

    def __init__(self, problem: PullProblem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


_UNAUTHORIZED = (
    "unauthorized",
    "denied",
    "authentication required",
    "no basic auth credentials",
    "incorrect username or password",
    "forbidden",
)
_NOT_FOUND = ("manifest unknown", "not found", "name unknown", "no such image")
_UNREACHABLE = (
    "connection refused",
    "no such host",
    "dial tcp",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "connection reset",
    "tls handshake",
    "server gave http response to https client",
    "context deadline exceeded",
    "temporary failure in name resolution",
)


def classify(status: int | None, message: str) -> PullProblem:
    text = message.lower()
    if status in (401, 403) or any(word in text for word in _UNAUTHORIZED):
        return PullProblem.UNAUTHORIZED
    if any(word in text for word in _UNREACHABLE):
        return PullProblem.UNREACHABLE
    if status == 404 or any(word in text for word in _NOT_FOUND):
        return PullProblem.NOT_FOUND
    return PullProblem.FAILED


def _redact(text: str, secret: Credentials | None) -> str:
    if secret is not None and secret.password:
        text = text.replace(secret.password, "***")
    return text


def _reason(ref: ImageRef, problem: PullProblem, said: str, logged_in: bool) -> str:
    host = ref.host
    if problem is PullProblem.UNAUTHORIZED:
        who = (
            f"the workers' login for {host} was refused"
            if logged_in
            else f"the workers have no login for {host}"
        )
        return (
            f"The grader image {ref.reference} was not found: pulling it from {host} was "
            f"unauthorized ({who}). "
            f"Log the workers in with an account that may pull it (`docker login {host}` as the "
            f"user running pushgrade; its config.json in DOCKER_CONFIG is read). "
            f"The registry said: {said}"
        )
    if problem is PullProblem.NOT_FOUND:
        return (
            f"The grader image {ref.reference} was not found on {host} (no such repository, "
            f"tag or digest): check the image name in the assignment and that it was pushed. "
            f"The registry said: {said}"
        )
    if problem is PullProblem.UNREACHABLE:
        return (
            f"The grader image {ref.reference} was not found: its registry {host} could not "
            f"be reached from the workers; check the host name and that it is up. "
            f"The engine said: {said}"
        )
    return f"The grader image {ref.reference} was not found locally, and pulling it failed: {said}"


def _first_line(text: str) -> str:
    text = str(text).strip()
    return text.splitlines()[0][:300] if text else "no detail"


# Where the workers of one host meet so that one of them pulls (a lock file per engine and
# reference, holding when it was last pulled).
PULL_LOCKS = Path(tempfile.gettempdir()) / "pushgrade-pulls"


class _HostPull:
    """Single flight across processes on this host: an exclusive `flock` on a file per engine
    and reference, held for the pull; the file says when the last successful pull ended."""

    def __init__(self, folder: Path, client: docker.DockerClient, reference: str) -> None:
        key = f"{getattr(client.api, 'base_url', '')}\0{reference}"
        self.path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"
        self._file = None

    def __enter__(self) -> _HostPull:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._file = open(self.path, "a+")  # held until __exit__
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except OSError as err:  # no shared folder: single flight within this process only
            log.warning("no pull lock at %s (%s)", self.path, err)
            self._close()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()  # and the lock with it
            self._file = None

    def _record(self) -> dict[str, float]:
        """When each tenant last pulled it successfully (an older file holds one number)."""
        if self._file is None:
            return {}
        self._file.seek(0)
        text = self._file.read().strip()
        try:
            found = json.loads(text) if text else {}
        except ValueError:
            return {}
        if isinstance(found, int | float):
            return {"": float(found)}
        if not isinstance(found, dict):
            return {}
        return {str(k): float(v) for k, v in found.items() if isinstance(v, int | float)}

    def pulled_at(self, tenant: str = "") -> float | None:
        return self._record().get(tenant)

    def pulled(self, tenant: str = "") -> None:
        if self._file is not None:
            record = self._record()
            record[tenant] = time.time()
            self._file.seek(0)
            self._file.truncate()
            self._file.write(json.dumps(record))
            self._file.flush()


@dataclass
class _Flight:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempted_at: float = float("-inf")  # the last pull's end (monotonic), success or not
    error: PullError | None = None  # the last pull's failure, shared with whoever waited
    proven: bool = False  # a pull for this tenant has succeeded in this process


class ImageStore:
    """Finds a grader image on the engine, pulling it when it is missing or its tag is due."""

    def __init__(
        self,
        client: Callable[[], docker.DockerClient],
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
        config_path: Callable[[], Path] = docker_config_path,
        lock_dir: Path | None = None,
    ) -> None:
        self._client = client
        self.refresh_s = refresh_s
        self.lock_dir = lock_dir or PULL_LOCKS
        self._config_path = config_path
        self._flights: dict[tuple[str, str], _Flight] = {}
        self._lock = threading.Lock()
        self.pulls = 0  # pulls started (for tests and metrics)

    def _flight(self, tenant: str, reference: str) -> _Flight:
        with self._lock:
            return self._flights.setdefault((tenant, reference), _Flight())

    def get(
        self, reference: str, *, pull: bool = True, auth: PullAuth | None = None
    ) -> docker.models.images.Image:
        """The image for `reference`, for the tenant `auth` names (None: the worker's own
        DOCKER_CONFIG login, one tenant). Raises `docker.errors.ImageNotFound` when it is
        absent and `pull` is off, `PullError` when a needed pull failed, and the engine's own
        errors when the engine does not answer."""
        client = self._client()
        ref = parse_reference(reference)
        local = self._local(client, reference)
        if not pull:
            if local is None:
                raise docker.errors.ImageNotFound(f"No such image: {reference}")
            return local
        if local is not None and not _from_registry(reference, local):
            return local  # built, loaded or tagged on this engine: no registry to ask
        tenant = auth.tenant if auth is not None else ""
        arrived, arrived_at = time.monotonic(), time.time()
        flight = self._flight(tenant, reference)
        with flight.lock, _HostPull(self.lock_dir, client, reference) as host:
            if flight.attempted_at >= arrived:
                # A pull for this tenant finished while we waited for it: its result is ours.
                if flight.error is None:
                    found = self._local(client, reference)
                    if found is not None:
                        return found
                elif local is None or not flight.proven:
                    raise flight.error
                else:
                    return local
            pulled_at = host.pulled_at(tenant)  # by any process on this host, on this engine
            proven = flight.proven or pulled_at is not None
            if pulled_at is not None and pulled_at >= arrived_at:
                found = self._local(client, reference)
                if found is not None:
                    return found  # another worker pulled it for this tenant while we waited
            if (
                local is not None
                and proven
                and (
                    ref.digest is not None  # pinned: this tenant may have it, for good
                    or min(time.monotonic() - flight.attempted_at, time.time() - (pulled_at or 0))
                    < self.refresh_s
                )
            ):
                return local  # this tenant resolved it recently enough
            try:
                image = self._pull(client, ref, auth)
            except PullError as err:
                flight.attempted_at, flight.error = time.monotonic(), err
                if local is None or not proven:
                    raise  # never a copy another tenant's login brought in
                log.warning("re-resolving %s failed; using the local copy: %s", reference, err)
                return local
            flight.attempted_at, flight.error, flight.proven = time.monotonic(), None, True
            host.pulled(tenant)
            return image

    @staticmethod
    def _local(client: docker.DockerClient, reference: str):
        try:
            return client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    def _pull(self, client: docker.DockerClient, ref: ImageRef, auth: PullAuth | None):
        if auth is None:
            credentials = credentials_for(ref.host, self._config_path())
        else:
            credentials = auth.credentials
        # {} and not None: with None the SDK would send the worker's DOCKER_CONFIG login.
        auth = credentials.auth_config() if credentials else {}
        self.pulls += 1
        repository = _name(ref)
        tag = ref.digest or ref.tag or "latest"
        log.info("pulling %s (%s)", ref.reference, "with a login" if credentials else "anonymously")
        started = time.monotonic()
        try:
            for event in client.api.pull(
                repository, tag=tag, stream=True, decode=True, auth_config=auth
            ):
                if isinstance(event, dict) and event.get("error"):
                    detail = event.get("errorDetail") or {}
                    raise self._error(ref, detail.get("code"), event["error"], credentials)
            image = client.images.get(ref.reference)
        except docker.errors.ImageNotFound as err:  # pulled, yet not there under that name
            raise self._error(ref, 404, str(err), credentials) from None
        except docker.errors.APIError as err:
            said = str(err.explanation or err)
            raise self._error(ref, err.status_code, said, credentials) from None
        log.info("pulled %s in %.1f s", ref.reference, time.monotonic() - started)
        return image

    @staticmethod
    def _error(
        ref: ImageRef, status: int | None, said: str, credentials: Credentials | None
    ) -> PullError:
        said = _redact(_first_line(said), credentials)
        # A 500 from the engine wraps the registry's answer: the text says what it was.
        problem = classify(status if status != 500 else None, said)
        reason = _redact(_reason(ref, problem, said, credentials is not None), credentials)
        log.warning("pulling %s failed (%s): %s", ref.reference, problem.value, said)
        return PullError(problem, reason)
