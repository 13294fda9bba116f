"""pushgrade as real processes, for tests and benchmarks: `pushgrade web` and `pushgrade worker`
started through the command line against a GitHub simulator, each with its output in a log file
of its own (a pipe nobody reads would block a process that logs a lot), stopped with SIGTERM or
killed with SIGKILL; and what they leave in the database and on the Docker engine."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from ghsim import GitHubSimulator

CLI = str(Path(sys.executable).with_name("pushgrade"))
MANAGED = "pushgrade.managed"  # the label on every container and volume pushgrade makes
OWNER = "pushgrade.owner"  # who made it: a worker's name, host:pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(
    sim: GitHubSimulator, workdir: Path, port: int, *, database_url: str | None = None, **settings
) -> dict[str, str]:
    """The environment of a pushgrade process serving `sim`; `settings` are further variables
    (PUSHGRADE_LEASE_SECONDS="3", DOCKER_HOST=…) that override the defaults here."""
    key = workdir / "app.pem"
    key.write_bytes(sim.private_key_pem)
    env = dict(
        os.environ,
        PUSHGRADE_APP_ID=str(sim.app_id),
        PUSHGRADE_PRIVATE_KEY_FILE=str(key),
        PUSHGRADE_WEBHOOK_SECRET=sim.webhook_secret,
        PUSHGRADE_GITHUB_API_URL=sim.url,
        PUSHGRADE_DATABASE_URL=database_url or f"sqlite+aiosqlite:///{workdir / 'shared.sqlite3'}",
        PUSHGRADE_PORT=str(port),
        PUSHGRADE_WORKER_PORT="0",  # each worker answers /healthz on a free port of its own
        PUSHGRADE_WORKERS="1",
        PUSHGRADE_LEASE_SECONDS="5",
        PUSHGRADE_RECONCILE_SECONDS="0",  # nothing is missed here; keep the API log quiet
    )
    env.update({name: str(value) for name, value in settings.items()})
    return env


class Process:
    """One `pushgrade COMMAND` process; its output goes to `log`."""

    _count = 0

    def __init__(self, command: str, env: dict[str, str], workdir: Path) -> None:
        Process._count += 1
        self.command = command
        self.env = env
        self.log = workdir / f"{command}-{Process._count}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def name(self) -> str:
        """The worker's name, as it labels its containers and holds its leases."""
        return f"{socket.gethostname()}:{self.pid}"

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    @property
    def url(self) -> str:
        """Where the process answers HTTP (a worker alone: its /healthz and /metrics), as it
        said when it was running."""
        found = re.search(rb" on (http://\S+)", self.log.read_bytes())
        assert found, f"pushgrade {self.command} said no address:\n{self.output()}"
        return found.group(1).decode()

    def output(self, tail: int = 4000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text[-tail:]

    async def start(self, timeout: float = 60) -> Process:
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                CLI,
                self.command,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.started_at = time.monotonic()
        deadline = time.monotonic() + timeout
        while b"running" not in self.log.read_bytes():
            if self.process.returncode is not None:
                raise AssertionError(
                    f"pushgrade {self.command} exited with {self.process.returncode} before it "
                    f"was running:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"pushgrade {self.command} not running after {timeout} s:\n{self.output()}"
                )
            await asyncio.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, the leases simply stop being renewed."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()

    def terminate(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"pushgrade {self.command} (pid {self.pid}) still running after {timeout} s:\n"
                f"{self.output()}"
            ) from None

    async def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit; kills it (and fails) when it does not exit."""
        if self.process is None:
            return 0
        self.terminate()
        try:
            return await self.wait(timeout)
        except AssertionError:
            self.kill()
            await self.process.wait()
            raise

    def peak_rss_kib(self) -> int | None:
        """VmHWM (the resident set's high-water mark) of a running process, in KiB."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None


async def start(command: str, env: dict[str, str], workdir: Path) -> Process:
    return await Process(command, env, workdir).start()


async def stop_all(processes: Iterable[Process], timeout: float = 60) -> None:
    """Stop every process still running (SIGTERM, then SIGKILL), reporting the first that
    would not stop."""
    problems = []
    for process in processes:
        if process.process is None or process.returncode is not None:
            continue
        try:
            await process.stop(timeout)
        except AssertionError as err:
            problems.append(str(err))
    if problems:
        raise AssertionError(problems[0])


async def wait_until(
    predicate: Callable[[], Awaitable[Any] | Any],
    *,
    timeout: float,
    every: float = 0.1,
    what: str = "the condition",
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(every)


# -- the Docker engine ----------------------------------------------------------------------------


def containers_of(client, owners: Iterable[str], *, running: bool = False) -> list:
    """Containers pushgrade made for these workers (by their owner label)."""
    owners = set(owners)
    found = client.containers.list(all=not running, filters={"label": MANAGED})
    return [c for c in found if (c.labels or {}).get(OWNER) in owners]


def leftovers_of(client, owners: Iterable[str]) -> list[str]:
    """Names of the containers and volumes these workers left on the engine. (The `sandbox`
    fixture's own `leftovers()` lists only what the test process made, not its children's.)"""
    owners = set(owners)
    volumes = [
        v
        for v in client.volumes.list(filters={"label": MANAGED})
        if ((v.attrs or {}).get("Labels") or {}).get(OWNER) in owners
    ]
    return [c.name for c in containers_of(client, owners)] + [v.name for v in volumes]


# -- the database ---------------------------------------------------------------------------------


async def rows(database_url: str, model, *where) -> list:
    """Every row of `model` (a pushgrade model class) in the database, oldest first."""
    from sqlalchemy import select

    from ghapp.store.db import make_engine, sessionmaker

    engine = make_engine(database_url)
    try:
        async with sessionmaker(engine)() as session:
            query = select(model).where(*where).order_by(model.id)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


class Cluster:
    """A `pushgrade web` and any number of `pushgrade worker` processes on one database (or one
    `pushgrade serve`), serving `sim`; every process still running is stopped (SIGTERM) on
    leaving."""

    def __init__(
        self,
        sim: GitHubSimulator,
        workdir: Path,
        *,
        database_url: str | None = None,
        **settings,
    ) -> None:
        self.sim = sim
        self.workdir = workdir
        self.port = free_port()
        self.env = environment(sim, workdir, self.port, database_url=database_url, **settings)
        self.database_url = self.env["PUSHGRADE_DATABASE_URL"]
        self.processes: list[Process] = []

    async def web(self, **settings) -> Process:
        process = await start("web", self.env | _strings(settings), self.workdir)
        self.processes.append(process)
        self.sim.webhook_url = f"http://127.0.0.1:{self.port}/webhooks/github"
        return process

    async def serve(self, **settings) -> Process:
        """`pushgrade serve`: the web and a worker in one process (SQLite's only way)."""
        process = await start("serve", self.env | _strings(settings), self.workdir)
        self.processes.append(process)
        self.sim.webhook_url = f"http://127.0.0.1:{self.port}/webhooks/github"
        return process

    async def worker(self, **settings) -> Process:
        process = await start("worker", self.env | _strings(settings), self.workdir)
        self.processes.append(process)
        return process

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.command == "worker"]

    def logs(self) -> str:
        """The tail of every process's output, for a failing assertion's message."""
        return "\n".join(
            f"--- {p.command} pid {p.pid} (exit {p.returncode}) ---\n{p.output(2500)}"
            for p in self.processes
            if p.process is not None
        )

    async def close(self) -> None:
        await stop_all(reversed(self.processes))

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _strings(settings: dict) -> dict[str, str]:
    return {name: str(value) for name, value in settings.items()}


# -- a Docker engine of one's own ----------------------------------------------------------------


class EngineUnavailable(Exception):
    """A private dockerd cannot run here (not root, no dockerd, or it would not start)."""


class PrivateEngine:
    """A dockerd of our own beside the machine's shared one: its own data and exec roots and
    socket under a short temporary folder, no bridge and no iptables, containers given 1 s to
    stop when it shuts down. It can be restarted without disturbing anyone else's runs, and
    the runs on it are out of reach of other pushgrade workers sharing the machine's engine."""

    def __init__(self) -> None:
        self.dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if os.geteuid() != 0:
            raise EngineUnavailable("a private dockerd needs root")
        if not os.access(self.dockerd, os.X_OK):
            raise EngineUnavailable("no dockerd binary on this machine")
        # Short: containerd's sockets live under the exec root, and socket paths are short.
        self.root = Path(tempfile.mkdtemp(prefix="pgd-", dir="/tmp"))
        (self.root / "daemon.json").write_text("{}\n")
        self.socket = self.root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen | None = None
        unshare = shutil.which("unshare")
        if unshare is None:
            raise EngineUnavailable("no unshare (util-linux) to give the dockerd its own network")
        self.netns = [unshare, "--net", "--"]
        self._client = None
        self.restarts = 0

    @property
    def client(self):
        import docker

        if self._client is None:
            self._client = docker.DockerClient(base_url=self.host, timeout=120)
        return self._client

    def start(self, timeout: float = 60) -> PrivateEngine:
        import docker

        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    # A network namespace of its own: a dockerd started with --bridge=none
                    # deletes the host's docker0, breaking the machine's engine for everyone.
                    *self.netns,
                    self.dockerd,
                    f"--data-root={self.root / 'data'}",
                    f"--exec-root={self.root / 'exec'}",
                    f"--host={self.host}",
                    f"--pidfile={self.root / 'docker.pid'}",
                    f"--config-file={self.root / 'daemon.json'}",
                    "--bridge=none",
                    "--iptables=false",
                    "--ip-masq=false",
                    "--ip-forward=false",
                    "--shutdown-timeout=1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                docker.DockerClient(base_url=self.host, timeout=5).ping()
                return self
            except Exception as err:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = self.log.read_text(errors="replace")[-1500:]
                    self.close()
                    raise EngineUnavailable(
                        f"a private dockerd did not start ({err}); its log ends:\n{tail}"
                    ) from None
            time.sleep(0.1)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM and wait: the engine stops its containers (1 s each) and its containerd."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Its containerd may outlive it by a moment, still writing under the exec root.
        for pid in self._containerd_pids():
            deadline = time.monotonic() + 15
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def _containerd_pids(self) -> list[int]:
        pids = []
        try:
            for line in self.log.read_text(errors="replace").splitlines():
                if "started new containerd process" in line and "pid=" in line:
                    pids.append(int(line.rsplit("pid=", 1)[1].split()[0]))
        except (OSError, ValueError):
            pass
        return pids

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def load(self, main_client, *images: str) -> None:
        """Copy images from the machine's engine (`docker save | docker load`)."""
        for image in images:
            try:
                self.client.images.get(image)
                continue
            except Exception:
                pass
            blob = b"".join(main_client.images.get(image).save(named=True))
            self.client.images.load(blob)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.stop()
        # Nothing of ours may stay mounted before the folder goes.
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        for target in sorted((line.split()[1] for line in mounts), reverse=True):
            if target.startswith(str(self.root) + "/"):
                subprocess.run(["umount", "-l", target], check=False)
        for _ in range(50):
            shutil.rmtree(self.root, ignore_errors=True)
            if not self.root.exists():
                break
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
