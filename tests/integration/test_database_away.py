"""When the database is not there: a process that starts before it says so in one line and
retries, then works once it answers, or exits 2 after PUSHGRADE_DATABASE_WAIT_SECONDS — never
~130 lines of traceback, never a password. When it goes away while pushgrade runs (PostgreSQL
stopped, SQLite's disk full), nothing acknowledged is lost, the refused deliveries are
recovered, every push is graded once and `/healthz` says what is wrong meanwhile. Real
processes; PostgreSQL is reached through a proxy on loopback that the test opens late or
closes, as a server starting or going away would; SQLite lives on a small tmpfs that the test
fills."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import time

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from ghapp.store.models import Job, JobState
from tests.conftest import BUSYBOX
from tests.integration.e2e import ORG, new_repo
from tests.integration.processes import CLI, Cluster, environment, free_port, rows
from tests.integration.test_faults import completed

# A server that starts late or goes away: PostgreSQL (SQLite is a file, always there).
ONLY_POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


class Proxy:
    """TCP on loopback to a real server: closed until `open()`, and `close()` drops every
    connection, as a database that goes away does."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for pipe in list(self.pipes):
            pipe.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)

    async def _serve(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pump(source, sink) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        for pipe in (pump(reader, up_writer), pump(up_reader, writer)):
            task = asyncio.ensure_future(pipe)
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)


async def pushgrade(command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CLI, command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_a_worker_without_its_database_says_so_in_one_line_and_exits_2(sim, tmp_path):
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://pushgrade:pw-not-to-be-shown@127.0.0.1:{port}/pushgrade"
    env = environment(
        sim, tmp_path, free_port(), database_url=url, PUSHGRADE_DATABASE_WAIT_SECONDS="3"
    )
    started = time.monotonic()
    process = await pushgrade("worker", env)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    said = (out + err).decode()
    assert process.returncode == 2, said
    assert time.monotonic() - started < 30
    assert "Traceback" not in said and "pw-not-to-be-shown" not in said
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith(f"pushgrade: database unreachable at 127.0.0.1:{port} (")
    assert "gave up after 3 s (PUSHGRADE_DATABASE_WAIT_SECONDS)" in lines[-1]
    retries = [line for line in lines if "retrying in" in line]
    assert retries and all(
        f"database unreachable at 127.0.0.1:{port}, retrying" in r for r in retries
    )


@ONLY_POSTGRESQL
async def test_a_database_that_comes_up_late_is_waited_for(db_url, sim, tmp_path):
    real = make_url(db_url)
    proxy = Proxy(free_port(), (real.host, real.port))
    late = real.set(port=proxy.port).render_as_string(hide_password=False)
    env = environment(sim, tmp_path, free_port(), database_url=late)
    process = await pushgrade("migrate", env)
    try:
        await asyncio.sleep(3)  # it retries meanwhile
        assert process.returncode is None
        await proxy.open()
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await proxy.close()
    assert process.returncode == 0, (out + err).decode()
    assert f"database unreachable at 127.0.0.1:{proxy.port}, retrying" in err.decode()
    assert "the database schema is up to date" in out.decode()


HEALTHY = {"database": "ok", "docker": "ok", "worker": "ok"}


async def healthz(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as answer:
        return answer.status, await answer.json()


GRADER = f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - graded"]\n'


@pytest.mark.docker
@ONLY_POSTGRESQL
async def test_postgresql_away_mid_burst_every_push_is_graded_once(
    db_url, sim, tmp_path, build_image
):
    """`pushgrade web` and two `pushgrade worker` on PostgreSQL; 30 pushes, and the database
    gone for 8 s in the middle (every connection dropped, none accepted). The deliveries sent
    meanwhile are answered 500 and recovered from GitHub's delivery log once it is back; every
    push is graded once, with one check run; no process is left alive without working."""
    image = build_image(GRADER)
    real = make_url(db_url)
    proxy = Proxy(free_port(), (real.host, real.port))
    await proxy.open()
    url = real.set(port=proxy.port).render_as_string(hide_password=False)
    names = [f"hw1-burst{i:02d}" for i in range(30)]
    for name in names:
        new_repo(sim, name, image)
    pushed: dict[str, str] = {}
    # No write budget: 30 pushes make ~90 check-run writes, more than GitHub's 80 a minute, and
    # the last results would wait for the budget's next minute, not for the database.
    cluster = Cluster(
        sim,
        tmp_path,
        database_url=url,
        PUSHGRADE_RECONCILE_SECONDS=300,
        PUSHGRADE_WRITES_PER_MINUTE="none",
        PUSHGRADE_WRITES_PER_HOUR="none",
    )
    try:
        await cluster.web()
        await cluster.worker()
        await cluster.worker()
        for name in names[:10]:
            pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
        await proxy.close()  # the database goes away mid-burst
        for name in names[10:20]:
            pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
        refused = [d for d in sim.deliveries if not d.ok]
        away = asyncio.get_running_loop().time()
        # Every worker's own /healthz says it cannot work while the database is away.
        for worker in cluster.workers():
            status, health = await healthz(worker.url)
            assert status == 503 and health["database"].startswith("unreachable"), health
        await asyncio.sleep(max(0.0, 8 - (asyncio.get_running_loop().time() - away)))
        await proxy.open()
        for name in names[20:]:
            pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
        for name, sha in pushed.items():
            await completed(sim, name, sha, cluster, timeout=120)
        assert all(p.returncode is None for p in cluster.processes), cluster.logs()
        for worker in cluster.workers():
            assert await healthz(worker.url) == (200, HEALTHY), cluster.logs()
    finally:
        await cluster.close()
        await proxy.close()
    assert len(refused) >= 10 and {d.status_code for d in refused} == {500}
    for name, sha in pushed.items():
        [run] = sim.check_runs(ORG, name, sha)  # one check run per commit
        assert run["conclusion"] == "success", (name, run["output"])
    jobs = await rows(db_url, Job)
    assert sorted(j.repo for j in jobs) == sorted(names)  # each push once
    assert {j.state for j in jobs} == {JobState.DONE}


@contextlib.contextmanager
def small_disk(path, size_mb: int):
    """A tmpfs of `size_mb` at `path` (root only): a disk that can be filled."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path) -> int:
    """Fill the disk under `path` to the last byte; the bytes written."""
    written = 0
    fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    written += os.write(fd, chunk)
    finally:
        os.close(fd)
    return written


@pytest.mark.docker
async def test_sqlite_on_a_full_disk_loses_nothing_and_says_so(sim, tmp_path, build_image):
    """`pushgrade serve` with its SQLite database on a 64 MB tmpfs that fills up mid-run: the
    deliveries meanwhile are answered 500 and `/healthz` says the database cannot store; once
    space is freed the refused deliveries are recovered at once and every push, those in flight
    included, is graded once, with one check run; the database is intact."""
    image = build_image(GRADER)
    names = [f"hw1-full{i:02d}" for i in range(14)]
    for name in names:
        new_repo(sim, name, image)
    pushed: dict[str, str] = {}
    with small_disk(tmp_path / "disk", 64) as disk:
        database = disk / "pushgrade.sqlite3"
        cluster = Cluster(
            sim,
            tmp_path,
            database_url=f"sqlite+aiosqlite:///{database}",
            PUSHGRADE_RECONCILE_SECONDS=300,
        )
        try:
            serve = await cluster.serve()
            for name in names[:2]:
                pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
                await completed(sim, name, pushed[name], cluster, timeout=60)
            for name in names[2:4]:  # in flight when the disk fills
                pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
            assert fill(disk) > 0
            for name in names[4:10]:
                pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
            refused = [d for d in sim.deliveries if not d.ok]
            assert refused and {d.status_code for d in refused} == {500}, cluster.logs()
            status, health = await healthz(serve.url)
            assert status == 503, health
            assert health["database"].startswith("cannot store: its disk is nearly full"), health
            await asyncio.sleep(3)
            (disk / "filler").unlink()
            for name in names[10:]:
                pushed[name] = await sim.push(ORG, name, {"main.sh": "true\n"})
            for name, sha in pushed.items():
                await completed(sim, name, sha, cluster, timeout=120)
            assert serve.returncode is None, cluster.logs()
            assert await healthz(serve.url) == (200, HEALTHY), cluster.logs()
        finally:
            await cluster.close()
        jobs = await rows(cluster.database_url, Job)
        with contextlib.closing(sqlite3.connect(database)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for name, sha in pushed.items():
        [run] = sim.check_runs(ORG, name, sha)  # one check run per commit
        assert run["conclusion"] == "success", (name, run["output"])
    assert sorted(j.repo for j in jobs) == sorted(names)  # each push once
    assert {j.state for j in jobs} == {JobState.DONE}
