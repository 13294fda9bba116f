"""Scale-out: a burst of pushes drained by one and then by three `pushgrade worker` processes.

    PUSHGRADE_TEST_DATABASE_URL=postgresql+asyncpg://… .venv/bin/python bench/scale.py \
        [--repos 300] [--repeats 50] [--workers 1,3] [--slots 2] [--concurrency 16]

For each worker count: a fresh PostgreSQL database (created on the server that
PUSHGRADE_TEST_DATABASE_URL names, dropped afterwards), the GitHub simulator on loopback with no
secondary rate limits, one `pushgrade web` and N `pushgrade worker` processes (`--slots` grading
slots each, the write budget off: PUSHGRADE_WRITES_PER_MINUTE/HOUR=none), a trivial busybox
grader. Then the burst: one push to each of `--repos` repositories and `--repeats` pushes to one
more, all at once (`--concurrency` webhook deliveries in flight), as a class does at a deadline.

Measured: drain time (the first push → the last push's check run completed; the repeats of one
branch end `skipped`, superseded, except the newest), time to the first `queued` check run, the
webhook's p50/p99 answer time during the burst (the simulator's delivery durations), each
process's peak RSS (VmHWM), and the speed-up of three workers over one.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ghsim import GitHubSimulator  # noqa: E402
from tests.integration.processes import Cluster  # noqa: E402

ORG = "bench-scale"
BUSYBOX = "pushgrade-test/busybox:2"
IMAGE = "pushgrade-bench/scale:1"
DOCKERFILE = f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - trivial"]\n'
CONFIG = f"image: {IMAGE}\ntimeout: 60\n"
URL_VARIABLE = "PUSHGRADE_TEST_DATABASE_URL"


def ensure_image() -> None:
    import docker

    client = docker.from_env()
    try:
        client.images.get(BUSYBOX)
    except docker.errors.ImageNotFound:
        raise SystemExit(f"{BUSYBOX} is missing: run scripts/test-images.sh") from None
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = DOCKERFILE.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=IMAGE, rm=True)


class Database:
    """A database of this run's own on the server the URL names (its role needs CREATEDB)."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.name = f"pushgrade_bench_{uuid.uuid4().hex[:12]}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def _admin_dsn(self) -> str:
        return self.server.set(drivername="postgresql").render_as_string(hide_password=False)

    async def __aenter__(self) -> Database:
        import asyncpg

        admin = await asyncpg.connect(self._admin_dsn(), timeout=10)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        import asyncpg

        admin = await asyncpg.connect(self._admin_dsn(), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def one_run(args: argparse.Namespace, workers: int, workdir: Path) -> dict:
    async with Database(args.database_url) as database, GitHubSimulator() as sim:
        sim.webhook_timeout = 120  # a slow answer is measured, not turned into a failure
        sim.install(ORG)
        names = [f"hw-scale-{i:03d}" for i in range(args.repos)]
        repeated = "hw-scale-repeat"
        for name in [*names, repeated]:
            sim.create_repo(ORG, name, files={".github/pushgrade.yml": CONFIG})
        cluster = Cluster(
            sim,
            workdir,
            database_url=database.url,
            PUSHGRADE_WORKERS=args.slots,
            PUSHGRADE_LEASE_SECONDS=60,
            PUSHGRADE_WRITES_PER_MINUTE="none",
            PUSHGRADE_WRITES_PER_HOUR="none",
            PUSHGRADE_RECONCILE_SECONDS=0,
        )
        async with cluster:
            await cluster.web()
            for _ in range(workers):
                await cluster.worker()
            # The burst: the repeats spread through it, every push's webhook sent at once, at
            # most `concurrency` in flight.
            order: list[str] = list(names)
            step = max(1, len(order) // max(args.repeats, 1))
            for k in range(args.repeats):
                order.insert(min(len(order), k * (step + 1)), repeated)
            gate = asyncio.Semaphore(args.concurrency)
            pushed: list[tuple[str, str]] = []

            async def push(i: int, name: str) -> None:
                async with gate:
                    sha = await sim.push(ORG, name, {"main.sh": f"echo {i}\n"})
                    pushed.append((name, sha))

            first_push = time.time()
            burst = asyncio.gather(*(push(i, name) for i, name in enumerate(order)))
            done_at, first_queued = await _drain(sim, len(order), args.timeout, burst)
            burst_s = max(d.delivered_at + d.duration for d in sim.deliveries) - first_push
            rss = {
                f"{p.command} {i}": p.peak_rss_kib()
                for i, p in enumerate(cluster.processes)
                if p.returncode is None
            }
        deliveries = [d for d in sim.deliveries if d.event == "push"]
        failed = [d for d in deliveries if not d.ok]
        if failed:
            raise SystemExit(f"{len(failed)} push deliveries failed: {failed[0].status}")
        durations = [d.duration for d in deliveries]
        conclusions: dict[str, int] = {}
        for run in sim.world.check_runs.values():
            conclusions[str(run.conclusion)] = conclusions.get(str(run.conclusion), 0) + 1
        runs_per_commit = _runs_per_commit(sim)
        if any(count != 1 for count in runs_per_commit.values()):
            extra = {k: v for k, v in runs_per_commit.items() if v != 1}
            raise SystemExit(f"commits with more than one check run: {extra}")
        return {
            "workers": workers,
            "pushes": len(order),
            "drain_s": done_at - first_push,
            "burst_s": burst_s,
            "first_queued_s": first_queued - first_push,
            "ingest_p50_ms": statistics.median(durations) * 1000,
            "ingest_p99_ms": percentile(durations, 0.99) * 1000,
            "ingest_max_ms": max(durations) * 1000,
            "rss_kib": rss,
            "conclusions": conclusions,
        }


async def _drain(sim, pushes: int, timeout: float, burst) -> tuple[float, float]:
    """Wait for the burst to be sent and every pushed commit to have a completed check run.
    Returns when the last one completed and when the first `queued` one appeared (each to the
    poll's 50 ms)."""
    deadline = time.monotonic() + timeout
    burst_task = asyncio.ensure_future(burst)
    first_queued = None
    while True:
        runs = list(sim.world.check_runs.values())
        if first_queued is None and any(r.history and r.history[0].get("status") == "queued"
                                        for r in runs):  # fmt: skip
            first_queued = time.time()
        if burst_task.done():
            burst_task.result()  # a push that raised
            if sum(1 for run in runs if run.status == "completed") >= pushes:
                return time.time(), first_queued or float("nan")
        if time.monotonic() > deadline:
            states: dict[str, int] = {}
            for run in runs:
                states[run.status] = states.get(run.status, 0) + 1
            raise SystemExit(f"not drained after {timeout:.0f} s: check runs {states}")
        await asyncio.sleep(0.05)


def _runs_per_commit(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in sim.world.check_runs.values():
        counts[run.head_sha] = counts.get(run.head_sha, 0) + 1
    return counts


def report(results: list[dict]) -> None:
    print()
    print(
        "| worker processes | pushes | drain | speed-up | first queued | "
        "ingest p50 | ingest p99 | ingest max | burst sent in |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = results[0]["drain_s"]
    for r in results:
        print(
            f"| {r['workers']} | {r['pushes']} | {r['drain_s']:.1f} s | "
            f"{base / r['drain_s']:.2f}x | {r['first_queued_s']:.2f} s | "
            f"{r['ingest_p50_ms']:.0f} ms | {r['ingest_p99_ms']:.0f} ms | "
            f"{r['ingest_max_ms']:.0f} ms | {r['burst_s']:.1f} s |"
        )
    print()
    print("peak RSS (VmHWM):")
    for r in results:
        shown = ", ".join(f"{name} {kib / 1024:.0f} MiB" for name, kib in r["rss_kib"].items())
        print(f"  {r['workers']} worker(s): {shown}")
    print("check-run conclusions:")
    for r in results:
        print(f"  {r['workers']} worker(s): {r['conclusions']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=300, help="repositories pushed to once")
    parser.add_argument("--repeats", type=int, default=50, help="pushes to one more repository")
    parser.add_argument("--workers", default="1,3", help="worker process counts, in turn")
    parser.add_argument(
        "--slots", type=int, default=os.cpu_count() or 1, help="grading slots per worker"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="deliveries in flight")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run at most")
    args = parser.parse_args()
    args.database_url = os.environ.get(URL_VARIABLE, "")
    if not args.database_url.startswith("postgresql"):
        raise SystemExit(f"set {URL_VARIABLE} to a PostgreSQL URL (./dev test starts one)")
    ensure_image()
    results = []
    for count in [int(n) for n in args.workers.split(",")]:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
            result = asyncio.run(one_run(args, count, Path(workdir)))
        results.append(result)
        print(
            f"{count} worker(s): {result['pushes']} pushes drained in {result['drain_s']:.1f} s",
            flush=True,
        )
    print(
        f"\n{args.repos} repos + {args.repeats} repeats of one, {args.slots} grading slots per "
        f"worker, {os.cpu_count()} CPUs, image {IMAGE}"
    )
    report(results)


if __name__ == "__main__":
    main()
