"""Push → completed check run, as users run pushgrade: `pushgrade serve` started as a process
with its default settings (SQLite), the GitHub simulator on loopback, against a bare
`docker run --rm` of the same image and submission measured in the same run.

    .venv/bin/python bench/pipeline.py [--pushes 9] [--grader busybox|python-pytest|both]
        [--split postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB] [--workers 2]

Graders: `busybox`, a trivial one (TAP on stdout, on `pushgrade-test/busybox:2`, which
`scripts/test-images.sh` builds); `python-pytest`, the bundled example (`./dev try` builds it).
Each push is a new commit, sent one at a time, timed from the push call to the simulator holding
a completed check run. The first push after start is reported apart (it probes the image);
the others are the warm figures: median and p90, and the median's ratio to the bare run's.
Then where the time went: the median of each step of the warm jobs' timelines as pushgrade
stored them (received, claimed, downloaded, created, started, exited, staged, accepted).

`--split URL`: the split deployment instead, `pushgrade web` and `--workers` `pushgrade worker`
processes on the PostgreSQL server of URL (its role needs CREATEDB: each run has a database
of its own, dropped after), also timing push → `queued` visible on the simulator.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ghapp.core import phases  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402

CLI = str(Path(sys.executable).with_name("pushgrade"))
ORG, REPO = "bench-org", "hw1-bench"
BUSYBOX_BASE = "pushgrade-test/busybox:2"
BUSYBOX_GRADER = "pushgrade-bench/trivial:1"
EXAMPLE = ROOT / "examples" / "python-pytest"
GRADERS = {
    # name: (image, the submission's files)
    "busybox": (BUSYBOX_GRADER, {"answer.txt": "42\n"}),
    "python-pytest": (
        "pushgrade-example/python-pytest:1",
        {"calc.py": (EXAMPLE / "submission-pass" / "calc.py").read_text()},
    ),
}


def build_images(names: list[str]) -> None:
    if "busybox" in names:
        context = Path(tempfile.mkdtemp(prefix="bench-trivial-"))
        (context / "Dockerfile").write_text(
            f'FROM {BUSYBOX_BASE}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - trivial"]\n'
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", BUSYBOX_GRADER, str(context)],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(context)
    if "python-pytest" in names:
        subprocess.run(
            ["docker", "build", "-q", "-t", GRADERS["python-pytest"][0], str(EXAMPLE / "grader")],
            check=True,
            capture_output=True,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(sim: GitHubSimulator, workdir: Path, database_url: str, port: int) -> dict:
    """The defaults, but for what points pushgrade at the simulator and the database."""
    key = workdir / "app.pem"
    key.write_bytes(sim.private_key_pem)
    return dict(
        os.environ,
        PUSHGRADE_APP_ID=str(sim.app_id),
        PUSHGRADE_PRIVATE_KEY_FILE=str(key),
        PUSHGRADE_WEBHOOK_SECRET=sim.webhook_secret,
        PUSHGRADE_GITHUB_API_URL=sim.url,
        PUSHGRADE_DATABASE_URL=database_url,
        PUSHGRADE_PORT=str(port),
        PUSHGRADE_WORKER_PORT="0",  # several workers on one host: each a free port
    )


async def start(command: str, env: dict, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            CLI, command, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while b"running" not in log.read_bytes():
        if process.returncode is not None or time.monotonic() > deadline:
            raise SystemExit(f"pushgrade {command} did not start:\n{log.read_text()[-2000:]}")
        await asyncio.sleep(0.05)
    return process


async def deployment(
    sim: GitHubSimulator, workdir: Path, split: str | None, workers: int
) -> tuple[list[asyncio.subprocess.Process], str]:
    """`pushgrade serve` on SQLite; or, given a PostgreSQL URL, `pushgrade web` and `workers`
    `pushgrade worker` processes on it."""
    port = free_port()
    if split is None:
        env = environment(
            sim, workdir, f"sqlite+aiosqlite:///{workdir / 'pushgrade.sqlite3'}", port
        )
        return [await start("serve", env, workdir / "serve.log")], f"http://127.0.0.1:{port}"
    env = environment(sim, workdir, split, port)
    processes = [await start("web", env, workdir / "web.log")]
    for i in range(workers):
        processes.append(await start("worker", env, workdir / f"worker-{i}.log"))
    return processes, f"http://127.0.0.1:{port}"


async def pushes(
    grader: str, count: int, workdir: Path, split: str | None, workers: int
) -> tuple[list[float], list[float], list[dict]]:
    """Push → completed, and push → the check run visible (queued or further), each push; and
    the jobs' timelines as stored."""
    image, files = GRADERS[grader]
    completed, seen = [], []
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        processes, url = await deployment(sim, workdir, split, workers)
        try:
            sim.webhook_url = f"{url}/webhooks/github"
            sim.create_repo(ORG, REPO, files={".github/pushgrade.yml": f"image: {image}\n"})
            for i in range(count + 1):
                changed = {name: text + f"\n# try {i}\n" for name, text in files.items()}
                started = time.perf_counter()
                sha = await sim.push(ORG, REPO, changed)
                first_seen = None
                while True:
                    runs = sim.check_runs(ORG, REPO, sha)
                    if runs and first_seen is None:
                        first_seen = time.perf_counter() - started
                    if runs and runs[-1]["status"] == "completed":
                        break
                    if time.perf_counter() - started > 120:
                        raise SystemExit(f"{grader}: push {i} not completed in 120 s")
                    await asyncio.sleep(0.005)
                completed.append(time.perf_counter() - started)
                seen.append(first_seen)
                if runs[-1]["conclusion"] != "success":
                    raise SystemExit(f"{grader}: push {i} ended {runs[-1]['conclusion']}")
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                await process.wait()
    return completed, seen, await timelines(split, workdir)


async def timelines(split: str | None, workdir: Path) -> list[dict]:
    """Every job's stored timeline, oldest first (read once the processes have stopped)."""
    query = "SELECT phases FROM jobs ORDER BY id"
    if split is None:
        with sqlite3.connect(workdir / "pushgrade.sqlite3") as db:
            rows = [row[0] for row in db.execute(query)]
    else:
        db = await connect(split)
        try:
            rows = [row[0] for row in await db.fetch(query)]
        finally:
            await db.close()
    return [json.loads(row) if isinstance(row, str) else (row or {}) for row in rows]


def breakdown(jobs: list[dict]) -> list[tuple[str, float]]:
    """The median of each step over `jobs`' timelines, in the phases' order."""
    took: dict[str, list[float]] = {}
    for timeline in jobs:
        for step in phases.steps(timeline):
            took.setdefault(step.phase, []).append(step.took_s)
    return [(phase, statistics.median(took[phase])) for phase in phases.PHASES if phase in took]


async def connect(url: str):
    """An asyncpg connection to the database of the SQLAlchemy URL `url`."""
    import asyncpg  # only the split deployment needs it
    from sqlalchemy.engine import make_url

    base = make_url(url)
    return await asyncpg.connect(
        user=base.username, password=base.password, host=base.host, port=base.port,
        database=base.database,
    )  # fmt: skip


async def fresh_database(url: str) -> tuple[str, str]:
    """A database of this run's own on the server of `url`: its URL, and its name."""
    from sqlalchemy.engine import make_url

    name = f"pushgrade_bench_{secrets.token_hex(6)}"
    admin = await connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


async def drop_database(url: str, name: str) -> None:
    admin = await connect(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def bare_docker_run(image: str, files: dict[str, str]) -> float:
    """The physical limit: the same image and submission, `docker run --rm`, no sandbox."""
    submission = Path(tempfile.mkdtemp(prefix="bench-submission-"))
    results = Path(tempfile.mkdtemp(prefix="bench-results-"))
    for name, text in files.items():
        (submission / name).write_text(text)
    try:
        started = time.perf_counter()
        done = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "-v", f"{submission}:/submission",
             "-v", f"{results}:/results", image],
            capture_output=True,
            check=False,
        )  # fmt: skip
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"docker run {image} failed: {done.stderr[:300]!r}")
        return took
    finally:
        shutil.rmtree(submission, ignore_errors=True)
        shutil.rmtree(results, ignore_errors=True)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=9)
    parser.add_argument("--grader", choices=[*GRADERS, "both"], default="both")
    parser.add_argument("--split", metavar="POSTGRESQL_URL", default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    names = list(GRADERS) if args.grader == "both" else [args.grader]
    build_images(names)
    where = (
        f"pushgrade web + {args.workers} pushgrade worker on PostgreSQL"
        if args.split
        else "pushgrade serve (SQLite)"
    )
    for grader in names:
        image, files = GRADERS[grader]
        database = asyncio.run(fresh_database(args.split)) if args.split else (None, None)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as workdir:
                completed, seen, stored = asyncio.run(
                    pushes(grader, args.pushes, Path(workdir), database[0], args.workers)
                )
        finally:
            if args.split:
                asyncio.run(drop_database(args.split, database[1]))
        (first, *warm), warm_seen = completed, seen[1:]
        bare_docker_run(image, files)  # warm-up
        bare = [bare_docker_run(image, files) for _ in range(args.pushes)]
        median, bare_median = statistics.median(warm), statistics.median(bare)
        print(f"{grader} ({image}), {where}, defaults, {args.pushes} warm pushes")
        print(f"  first push after start       {first:6.3f} s   ({first / bare_median:.2f}x bare)")
        print(
            f"  warm push → check run seen   median {statistics.median(warm_seen):6.3f} s, "
            f"p90 {p90(warm_seen):6.3f} s"
        )
        print(
            f"  warm push → completed        median {median:6.3f} s, p90 {p90(warm):6.3f} s "
            f"(min {min(warm):.3f}, max {max(warm):.3f})"
        )
        print(f"  docker run --rm              median {bare_median:6.3f} s")
        print(f"  median ratio pipeline / docker run --rm: {median / bare_median:.2f}")
        print("  where a warm push's time went (medians of the stored timelines):")
        for phase, took in breakdown(stored[1:]):
            print(f"    → {phase:<11} {took * 1000:7.1f} ms  {phases.STEP_LABELS[phase]}")
        totals = [
            t["accepted"] - t["received"] for t in stored[1:] if {"accepted", "received"} <= set(t)
        ]
        if totals:
            print(f"    received → accepted median {statistics.median(totals) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
