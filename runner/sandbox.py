"""The Docker sandbox: one locked-down container per submission, always removed afterwards.

The submission and the results live in two named volumes, so they work with a read-only root and a
remote engine (`DOCKER_HOST`) alike: the submission goes in and the results come out through the
engine's archive API, never through host paths. A tiny template image, imported on first use,
gives both volumes a world-writable root (the engine copies a directory's mode into an empty
volume), so any non-root user the image runs as can write its results.

Everything here is synchronous (the docker SDK is); `run_async` runs it off the event loop and
turns cancellation into a killed container.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from runner.capture import OutputCapture
from runner.outcome import ErrorKind, Outcome
from runner.registry import DEFAULT_REFRESH_S, ImageStore, PullError, digest_for
from runner.results import TapParser
from runner.spec import SandboxSpec, format_size
from runner.verdict import RunFacts, decide

log = logging.getLogger(__name__)

LABEL = "pushgrade.managed"
_ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
OWNER_LABEL = "pushgrade.owner"  # who runs it: a worker (host:pid), for the orphan sweep
RUN_LABEL = "pushgrade.run"
TEMPLATE_IMAGE = "pushgrade/volume-template:1"
GRADESCOPE_ENTRY = "/autograder/run_autograder"
GRADESCOPE_METADATA = "submission_metadata.json"  # in /autograder, readable by root only
NOBODY = "65534:65534"
SCRATCH = "/tmp"  # noqa: S108 -- the container's own scratch tmpfs, not the host's


# Finished runs are removed after their outcome is returned, off its way: by one thread per
# process (a process's sandboxes share an owner label, and so the wait for their clean-up).
_REAPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pushgrade-reaper")
_REAPING: set[Future] = set()
_REAPING_LOCK = threading.Lock()


def _reaped(pending: Future) -> None:
    with _REAPING_LOCK:
        _REAPING.discard(pending)


@dataclass(frozen=True)
class ImageTraits:
    image_id: str
    gradescope: bool  # has /autograder/run_autograder
    run_autograder_executable: bool
    has_command: bool
    user: str
    env: tuple[str, ...]
    repo_digests: tuple[str, ...] = ()  # name@sha256:… for each registry it came from


class RunHandle:
    """Lets another thread cancel a run: the container is killed and everything removed."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._container: docker.models.containers.Container | None = None
        self._lock = threading.Lock()

    def attach(self, container: docker.models.containers.Container) -> None:
        with self._lock:
            self._container = container
        if self.cancelled.is_set():
            _kill(container)

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            container = self._container
        if container is not None:
            _kill(container)


class RunCancelled(Exception):
    pass


class Sandbox:
    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        owner: str = "",
        tag_refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        """`owner` names who runs the containers (a worker: host and pid); every container and
        volume carries it, so a sweep can tell the orphans of a dead worker from the runs of a
        live one sharing the engine. `tag_refresh_s`: how often a registry image's tag is
        pulled again (runner/registry.py)."""
        self._client = client
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._active: set[str] = set()  # runs going on now: the sweep leaves them alone
        self._traits: dict[str, ImageTraits] = {}
        self.images = ImageStore(lambda: self.client, refresh_s=tag_refresh_s)
        self._template_ready = False
        self._lock = threading.Lock()
        self._cpus: int | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.from_env()
        return self._client

    async def run_async(self, submission: Path, spec: SandboxSpec) -> Outcome:
        handle = RunHandle()
        task = asyncio.ensure_future(asyncio.to_thread(self.run, submission, spec, handle=handle))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            handle.cancel()
            # Wait for the cleanup to finish before reporting the cancellation, however often
            # we are cancelled meanwhile (a stopping worker cancels its loops twice): else the
            # container would go on running with nobody to remove it.
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # RunCancelled, expected: mark it retrieved
            raise

    def run(
        self, submission: Path, spec: SandboxSpec, *, handle: RunHandle | None = None
    ) -> Outcome:
        handle = handle or RunHandle()
        try:
            traits = self._image(spec)
        except docker.errors.ImageNotFound as err:
            return Outcome.errored(ErrorKind.IMAGE_NOT_FOUND, _image_missing(spec, err))
        except PullError as err:  # unauthorized, not found, unreachable: the reason says which
            return Outcome.errored(ErrorKind.IMAGE_NOT_FOUND, err.reason)
        except docker.errors.DockerException as err:
            return Outcome.errored(ErrorKind.DOCKER_UNAVAILABLE, _engine_down(err))
        try:
            cpus = self.engine_cpus()
        except docker.errors.DockerException as err:
            return Outcome.errored(ErrorKind.DOCKER_UNAVAILABLE, _engine_down(err))
        if cpus and spec.limits.cpus > cpus:
            # The engine would refuse the container every time: not worth a retry.
            return Outcome.errored(
                ErrorKind.OVER_LIMITS,
                f"The assignment asks for {spec.limits.cpus:g} CPUs, and this worker's Docker "
                f"engine has {cpus}: ask for at most {cpus} (limits: cpus:).",
                image_id=traits.image_id,
            )
        if not traits.gradescope and not traits.has_command:
            return Outcome.errored(
                ErrorKind.IMAGE_NO_COMMAND,
                f"The image {spec.image} has no command (CMD or ENTRYPOINT) and no "
                f"{GRADESCOPE_ENTRY}, so there is nothing to run.",
                image_id=traits.image_id,
            )
        run_id = uuid.uuid4().hex[:12]
        self._active.add(run_id)
        try:
            outcome = self._run_container(submission, spec, traits, run_id, handle)
            # Pinned: the registry digest the image came with, beside its id, for a rerun.
            digest = digest_for(spec.image, traits.repo_digests)
            return outcome.model_copy(update={"image_digest": digest}) if digest else outcome
        except RunCancelled:
            raise
        except _ENGINE_ERRORS as err:
            # requests' errors too: the engine restarting mid-run drops the connection.
            log.warning("sandbox run %s failed: %s", run_id, err)
            return Outcome.errored(
                ErrorKind.SANDBOX_FAILED,
                f"The sandbox could not run the submission: {_short(err)}",
                image_id=traits.image_id,
            )
        finally:
            self._remove_later(run_id)

    def _remove_later(self, run_id: str) -> None:
        """Remove the run's container and volumes once its outcome is on its way: a student's
        result does not wait for the engine's clean-up. `settle` waits for what is pending (a
        process exiting waits for it too)."""

        def remove() -> None:
            try:
                self._remove_run(run_id)
            finally:
                self._active.discard(run_id)

        try:
            pending = _REAPER.submit(remove)
        except RuntimeError:  # the interpreter is shutting down: no new threads
            remove()
            return
        with _REAPING_LOCK:
            _REAPING.add(pending)
        pending.add_done_callback(_reaped)

    @staticmethod
    def settle(timeout: float | None = None) -> None:
        """Wait until every finished run of this process is removed (or left to the sweep):
        its sandboxes share one owner, so they share the wait."""
        with _REAPING_LOCK:
            pending = list(_REAPING)
        futures_wait(pending, timeout=timeout)

    def engine_cpus(self) -> int:
        """How many CPUs the engine has (asked once); 0 when it does not say."""
        if self._cpus is None:
            self._cpus = int(self.client.info().get("NCPU") or 0)
        return self._cpus

    # -- the image ------------------------------------------------------------------------------

    def _image(self, spec: SandboxSpec) -> ImageTraits:
        image = self.images.get(spec.image, pull=spec.pull_missing, auth=spec.pull_auth)
        traits = self._traits.get(image.id)
        if traits is None:
            traits = self._probe(image)
            self._traits[image.id] = traits
        return traits

    def _probe(self, image: docker.models.images.Image) -> ImageTraits:
        """Look inside the image once (per image id) without starting anything."""
        config = image.attrs.get("Config") or {}
        probe = self.client.containers.create(
            image.id,
            entrypoint=["/pushgrade-probe"],
            command=[],
            network_mode="none",
            labels=self._labels(),
        )
        try:
            stat = probe.get_archive(GRADESCOPE_ENTRY)[1]
            gradescope, executable = True, bool(stat.get("mode", 0) & 0o111)
        except docker.errors.NotFound:
            gradescope = executable = False
        finally:
            probe.remove(force=True)
        return ImageTraits(
            image_id=image.id,
            gradescope=gradescope,
            run_autograder_executable=executable,
            has_command=bool(config.get("Cmd") or config.get("Entrypoint")),
            user=(config.get("User") or "").strip(),
            env=tuple(config.get("Env") or ()),
            repo_digests=tuple(image.attrs.get("RepoDigests") or ()),
        )

    def _ensure_template(self) -> None:
        with self._lock:
            if self._template_ready:
                return
            try:
                self.client.images.get(TEMPLATE_IMAGE)
            except docker.errors.ImageNotFound:
                repository, tag = TEMPLATE_IMAGE.rsplit(":", 1)
                self.client.api.import_image_from_data(
                    _template_tar(), repository=repository, tag=tag
                )
            self._template_ready = True

    # -- one run --------------------------------------------------------------------------------

    def _run_container(
        self,
        submission: Path,
        spec: SandboxSpec,
        traits: ImageTraits,
        run_id: str,
        handle: RunHandle,
    ) -> Outcome:
        limits = spec.limits
        sub_volume, res_volume = self._prepare_volumes(run_id)
        mounts = [
            Mount("/submission", sub_volume, no_copy=True),
            Mount("/results", res_volume, no_copy=True),
        ]
        if traits.gradescope:
            mounts += [
                Mount("/autograder/submission", sub_volume, no_copy=True),
                Mount("/autograder/results", res_volume, no_copy=True),
            ]
        root = traits.gradescope or spec.as_root
        user = "0:0" if root else (traits.user if _non_root(traits.user) else NOBODY)
        # A non-root user without a home gets the writable scratch space as one (in the container).
        has_home = root or any(e.startswith("HOME=") for e in traits.env)
        env = {} if has_home else {"HOME": SCRATCH}
        entry: dict = {}
        if traits.gradescope:
            entry = {
                "entrypoint": [GRADESCOPE_ENTRY]
                if traits.run_autograder_executable
                else ["bash", GRADESCOPE_ENTRY],
                "command": [],
                "working_dir": "/autograder",
            }
        container = self.client.containers.create(
            traits.image_id,
            name=f"pushgrade-{run_id}",
            labels=self._labels(run_id),
            user=user,
            environment=env,
            mounts=mounts,
            read_only=not traits.gradescope,
            tmpfs={SCRATCH: f"rw,exec,nosuid,nodev,size={limits.tmpfs_bytes},mode=1777"},
            network_mode="bridge" if limits.network else "none",
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            pids_limit=limits.pids,
            nano_cpus=int(limits.cpus * 1e9),
            cap_drop=["ALL"],
            # A root grader may run the student's code as another user (setpriv, su): changing
            # user is all it can do that the student's code could not; nothing else comes back.
            cap_add=["SETUID", "SETGID"] if root else None,
            security_opt=["no-new-privileges"],
            ulimits=[
                Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                Ulimit(name="fsize", soft=limits.fsize_bytes, hard=limits.fsize_bytes),
                Ulimit(name="core", soft=0, hard=0),
            ],
            runtime=spec.runtime,
            stdin_open=False,
            tty=False,
            # Output reaches us through attach; the engine's own copy stays small on its disk.
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
            **entry,
        )
        phases = {"created": time.time()}
        handle.attach(container)
        with _packed(submission) as archive:
            container.put_archive("/submission", archive)
        if traits.gradescope and spec.gradescope_metadata is not None:
            metadata = spec.gradescope_metadata()
            if metadata is not None:
                container.put_archive("/autograder", _one_file(GRADESCOPE_METADATA, metadata))
        if handle.cancelled.is_set():
            raise RunCancelled

        tap = TapParser()
        capture = OutputCapture(
            head_bytes=limits.log_head_bytes,
            tail_bytes=limits.log_tail_bytes,
            flood_bytes=limits.output_flood_bytes,
            on_stdout_line=tap.feed,
        )
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=False, demux=True)
        reader = threading.Thread(
            target=_read_output, args=(stream, capture, container), daemon=True
        )
        container.start()
        started = time.monotonic()
        phases["started"] = time.time()
        reader.start()
        timed_out = False
        try:
            container.wait(timeout=limits.timeout_s)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out = True
            _kill(container)
            container.wait(timeout=30)
        duration = time.monotonic() - started
        phases["exited"] = time.time()
        reader.join(timeout=30)
        capture.close()
        if handle.cancelled.is_set():
            raise RunCancelled

        container.reload()
        state = container.attrs.get("State") or {}
        files, problem = self._collect_results(container, limits.results_bytes)
        facts = RunFacts(
            exit_code=state.get("ExitCode"),
            duration_s=duration,
            log=capture.text(),
            log_truncated=capture.truncated,
            image_id=traits.image_id,
            timed_out=timed_out and not capture.flooded,
            oom_killed=bool(state.get("OOMKilled")),
            flooded=capture.flooded,
            results_files=files,
            results_problem=problem,
            tap=tap.finish(),
        )
        return decide(facts, limits, declared=spec.results).model_copy(update={"phases": phases})

    def _prepare_volumes(self, run_id: str) -> tuple[str, str]:
        self._ensure_template()
        names = (f"pushgrade-{run_id}-submission", f"pushgrade-{run_id}-results")
        for name in names:
            self.client.volumes.create(name, labels=self._labels(run_id))
        # Never started: creating it is enough for the engine to copy the template's modes in.
        template = self.client.containers.create(
            TEMPLATE_IMAGE,
            command=["/none"],
            network_mode="none",
            labels=self._labels(run_id),
            mounts=[Mount("/submission", names[0]), Mount("/results", names[1])],
        )
        template.remove(force=True)
        return names

    def _collect_results(self, container, cap: int) -> tuple[dict[str, bytes], str | None]:
        """Regular files under /results, read through the archive API with a size cap."""
        try:
            chunks, _ = container.get_archive("/results")
        except docker.errors.NotFound:
            return {}, None
        with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as spool:
            total = 0
            for chunk in chunks:
                total += len(chunk)
                if total > cap + 1024 * 1024:  # tar headers cost a little on top of the data
                    return {}, (
                        f"the results folder holds more than {format_size(cap)}; "
                        "only results.json and JUnit XML files belong there"
                    )
                spool.write(chunk)
            spool.seek(0)
            files: dict[str, bytes] = {}
            with tarfile.open(fileobj=spool, mode="r|") as tar:
                for member in tar:
                    path = member.name.partition("/")[2]
                    if not member.isreg() or not (path == "results.json" or path.endswith(".xml")):
                        continue
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[path] = handle.read()
            return files, None

    def _remove_run(self, run_id: str, *, tries: int = 6) -> None:
        """Remove the run's container and volumes, whatever state they are in. An engine that
        does not answer (restarting) is asked again for a while; what is still left then is
        the sweep's (it takes this sandbox's own runs too once they are over)."""
        for attempt in range(tries):
            try:
                for container in self.client.containers.list(
                    all=True, sparse=True, filters={"label": f"{RUN_LABEL}={run_id}"}
                ):
                    container.remove(force=True, v=True)
                for volume in self.client.volumes.list(filters={"label": f"{RUN_LABEL}={run_id}"}):
                    volume.remove(force=True)
                return
            except docker.errors.NotFound:
                continue  # removed meanwhile (by the kill's clean-up): look again
            except _ENGINE_ERRORS as err:
                if attempt + 1 == tries:
                    log.warning("could not remove run %s: %s", run_id, err)
                    return
                time.sleep(min(2**attempt, 8))

    def _labels(self, run_id: str | None = None) -> dict[str, str]:
        labels = {LABEL: "1", OWNER_LABEL: self.owner}
        if run_id is not None:
            labels[RUN_LABEL] = run_id
        return labels

    def leftovers(self, *, everyone: bool = False) -> list[str]:
        """Names of this sandbox's containers and volumes still present once its finished runs
        are removed (with `everyone`, of every pushgrade on the engine)."""
        self.settle()
        wanted = LABEL if everyone else f"{OWNER_LABEL}={self.owner}"
        containers = self.client.containers.list(all=True, filters={"label": wanted})
        volumes = self.client.volumes.list(filters={"label": wanted})
        return [c.name for c in containers] + [v.name for v in volumes]

    def sweep(self, live: Callable[[str], bool]) -> list[str]:
        """Remove the containers and volumes of owners that are not `live` (workers that died
        mid-run, with SIGKILL or the machine); never this sandbox's own. Returns their names."""
        removed = []
        try:
            # Sparse: no inspect per container, which fails on one removed meanwhile.
            containers = self.client.containers.list(
                all=True, sparse=True, filters={"label": LABEL}
            )
            volumes = self.client.volumes.list(filters={"label": LABEL})
            for item in [*containers, *volumes]:
                labels = item.attrs.get("Labels") or {}
                owner = labels.get(OWNER_LABEL, "")
                if owner == self.owner:
                    if labels.get(RUN_LABEL) in self._active or not labels.get(RUN_LABEL):
                        continue  # a run of ours still going (or the probe, the template)
                elif owner and live(owner):
                    continue
                try:
                    if isinstance(item, docker.models.containers.Container):
                        item.remove(force=True, v=True)
                        removed.append((item.attrs.get("Names") or [item.id])[0].lstrip("/"))
                    else:
                        item.remove(force=True)
                        removed.append(item.name)
                except docker.errors.NotFound:
                    pass
        except _ENGINE_ERRORS as err:
            log.warning("sweeping orphaned runs failed: %s", err)
        return removed


def _read_output(stream: Iterator, capture: OutputCapture, container) -> None:
    killer = None
    try:
        for stdout, stderr in stream:
            if killer is not None:
                continue  # keep draining: the engine finishes a kill only once output is read
            if stdout:
                capture.feed(stdout, stdout=True)
            if stderr:
                capture.feed(stderr, stdout=False)
            if capture.flooded:
                killer = threading.Thread(target=_kill, args=(container,), daemon=True)
                killer.start()
    except Exception as err:  # the stream ends abruptly when the container is killed
        log.debug("output stream ended: %s", err)


def _kill(container) -> None:
    with contextlib.suppress(docker.errors.DockerException):  # already stopped or gone
        container.kill()


@contextlib.contextmanager
def _packed(root: Path) -> Iterator[IO[bytes]]:
    """The submission folder as a tar stream for the archive API: world-writable in the sandbox,
    owned by root, symlinks kept as links (extraction already checked they stay inside)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(root, arcname=".", filter=_sandbox_owned)
        spool.seek(0)
        yield spool


def _sandbox_owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if not (info.isreg() or info.isdir() or info.issym()):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isdir() or info.mode & 0o111:
        info.mode = 0o777
    elif info.isreg():
        info.mode = 0o666
    return info


def _one_file(name: str, data: bytes) -> bytes:
    """A tar of one file owned by root, readable by root alone: a grader that runs the
    student's code as another user keeps it from reading earlier results."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o400, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _template_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("submission", "results"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777
            tar.addfile(info)
    return buffer.getvalue()


def _non_root(user: str) -> bool:
    return bool(user) and user.split(":", 1)[0] not in ("root", "0")


def _short(err: Exception) -> str:
    text = getattr(err, "explanation", None) or str(err)
    return str(text).strip().splitlines()[0][:300] if text else type(err).__name__


def _image_missing(spec: SandboxSpec, err: Exception) -> str:
    where = "locally" if not spec.pull_missing else "locally, and pulling it failed"
    return f"The grader image {spec.image} was not found {where}: {_short(err)}"


def _engine_down(err: Exception) -> str:
    return f"The Docker engine did not answer: {_short(err)}"
