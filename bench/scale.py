"""Scale-out: a burst of pushes drained by one and then by three `pushgrade worker` processes.

    PUSHGRADE_TEST_DATABASE_URL=postgresql+asyncpg://… .venv/bin/python bench/scale.py \
        [--repos 300] [--repeats 50] [--workers 1,3] [--slots 2] [--concurrency 16] \
        [--grader busybox|sleep] [--sleep-s 3]

For each worker count: a fresh PostgreSQL database (created on the server that
PUSHGRADE_TEST_DATABASE_URL names, dropped afterwards), the GitHub simulator on loopback with no
secondary rate limits, one `pushgrade web` and N `pushgrade worker` processes (`--slots` grading
slots each, by default the product's own: one per CPU; the write budget off:
PUSHGRADE_WRITES_PER_MINUTE/HOUR=none). The grader (`--grader`): `busybox`, a trivial one that
prints its TAP at once, so the drain measures what a job costs the machine (on 2 CPUs, mostly the
Docker engine's work per container); or `sleep`, one that sleeps `--sleep-s` seconds using no CPU
and then passes, so the drain measures coordination: how well N workers share a queue. Both
images are built offline FROM pushgrade-test/busybox:2. Then the burst: one push to each of
`--repos` repositories and `--repeats` pushes to one more (none with `--repeats 0`), all at once
(`--concurrency` webhook deliveries in flight), as a class does at a deadline.

Measured: drain time (the first push → the last push's check run completed; the repeats of one
branch end `skipped`, superseded, except the newest), time to the first `queued` check run, the
webhook's p50/p99 answer time during the burst (the simulator's delivery durations), each
process's peak RSS (VmHWM), and the speed-up of three workers over one. Then, from the jobs'
stored timelines, where the grading slots' time went (held by a job, its container running,
idle before the first claim, after the last job, between jobs) and the median of each step of a
job; why any check run neither succeeded nor was superseded; and with the sleep grader, the
drain that sleeping alone would take with every slot always busy.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
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

from ghapp.core import phases  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402
from tests.integration.processes import Cluster  # noqa: E402

ORG = "bench-scale"
BUSYBOX = "pushgrade-test/busybox:2"
GRADERS = ("busybox", "sleep")
URL_VARIABLE = "PUSHGRADE_TEST_DATABASE_URL"


def grader_image(grader: str, sleep_s: float) -> tuple[str, str]:
    """The grader's image tag and Dockerfile: `busybox` answers at once; `sleep` sleeps
    `sleep_s` seconds (no CPU) first."""
    if grader == "sleep":
        seconds = f"{sleep_s:g}"
        script = f"sleep {seconds}; echo 1..1; echo ok 1 - slept"
        tag = f"pushgrade-bench/scale-sleep:{seconds.replace('.', '_')}"
    else:
        script = "echo 1..1; echo ok 1 - trivial"
        tag = "pushgrade-bench/scale:1"
    return tag, f'FROM {BUSYBOX}\nCMD ["sh", "-c", "{script}"]\n'


def grader_config(image: str, sleep_s: float) -> str:
    return f"image: {image}\ntimeout: {max(60, int(sleep_s * 4))}\n"


def ensure_image(image: str, dockerfile: str) -> None:
    import docker

    client = docker.from_env()
    try:
        client.images.get(BUSYBOX)
    except docker.errors.ImageNotFound:
        raise SystemExit(f"{BUSYBOX} is missing: run scripts/test-images.sh") from None
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=image, rm=True, pull=False)


class Database:
    """A database of this run's own on the server the URL names (its role needs CREATEDB)."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.name = f"pushgrade_bench_{uuid.uuid4().hex[:12]}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def _admin_dsn(self) -> str:
        return self.server.set(drivername="postgresql").render_as_string(hide_password=False)

    async def timelines(self) -> list[dict]:
        """Every job's stored timeline (ghapp.core.phases), oldest first."""
        import asyncpg

        dsn = self.server.set(drivername="postgresql", database=self.name)
        db = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=10)
        try:
            rows = [row[0] for row in await db.fetch("SELECT phases FROM jobs ORDER BY id")]
        finally:
            await db.close()
        return [json.loads(row) if isinstance(row, str) else (row or {}) for row in rows]

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
        config = grader_config(args.image, args.sleep_s)
        for name in [*names, *([repeated] if args.repeats else [])]:
            sim.create_repo(ORG, name, files={".github/pushgrade.yml": config})
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
        slots = slot_time(
            await database.timelines(),
            first_push=first_push,
            done_at=done_at,
            slots=workers * args.slots,
        )
        deliveries = [d for d in sim.deliveries if d.event == "push"]
        failed = [d for d in deliveries if not d.ok]
        if failed:
            raise SystemExit(f"{len(failed)} push deliveries failed: {failed[0].status}")
        durations = [d.duration for d in deliveries]
        conclusions: dict[str, int] = {}
        unexpected: dict[str, int] = {}  # why a run neither succeeded nor was superseded
        for run in sim.world.check_runs.values():
            conclusions[str(run.conclusion)] = conclusions.get(str(run.conclusion), 0) + 1
            if run.conclusion not in ("success", "skipped"):
                why = f"{run.conclusion}: {run.output.get('title', '')}"
                summary = " ".join(str(run.output.get("summary", "")).split())[:300]
                why += f" — {summary}" if summary else ""
                unexpected[why] = unexpected.get(why, 0) + 1
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
            "unexpected": unexpected,
            "slots": slots,
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


def slot_time(timelines: list[dict], *, first_push: float, done_at: float, slots: int) -> dict:
    """Where the grading slots' time went, from the graded jobs' stored timelines: the slots'
    seconds from the first push to the last check run completed, those a job held (claimed →
    staged), of them the container's run (started → exited); before the first claim, after the
    last job was staged (its result on its way to GitHub), and the rest: the slots between jobs.
    And the median of each step of a graded job."""
    graded = [t for t in (phases.clean(t) for t in timelines) if {"claimed", "staged"} <= set(t)]
    available = (done_at - first_push) * slots
    held = sum(t["staged"] - t["claimed"] for t in graded)
    ran = sum(t["exited"] - t["started"] for t in graded if {"started", "exited"} <= set(t))
    start = (min(t["claimed"] for t in graded) - first_push) * slots if graded else 0.0
    end = (done_at - max(t["staged"] for t in graded)) * slots if graded else 0.0
    took: dict[str, list[float]] = {}
    for timeline in graded:
        for step in phases.steps(timeline):
            took.setdefault(step.phase, []).append(step.took_s)
    return {
        "graded": len(graded),
        "available": available,
        "held": held,
        "ran": ran,
        "before": start,
        "after": end,
        "between": available - held - start - end,
        "steps": [(p, statistics.median(took[p])) for p in phases.PHASES if p in took],
    }


def _runs_per_commit(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in sim.world.check_runs.values():
        counts[run.head_sha] = counts.get(run.head_sha, 0) + 1
    return counts


def report(results: list[dict], args: argparse.Namespace) -> None:
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
        for why, count in r["unexpected"].items():
            print(f"    {count} x {why}")
    print("where the grading slots' time went (slot-seconds, first push → last check run):")
    for r in results:
        t = r["slots"]

        def share(seconds: float, whole: float = t["available"]) -> str:
            return f"{seconds:.0f} s ({seconds / whole:.0%})" if whole else f"{seconds:.0f} s"

        print(
            f"  {r['workers']} worker(s), {t['graded']} jobs graded: {t['available']:.0f} s; "
            f"jobs held them {share(t['held'])}, the containers ran {share(t['ran'])}; "
            f"before the first claim {share(t['before'])}, after the last job "
            f"{share(t['after'])}, between jobs {share(t['between'])}"
        )
        steps = ", ".join(f"{phases.STEP_LABELS[p]} {s * 1000:.0f} ms" for p, s in t["steps"])
        print(f"    a job's steps (medians): {steps}")
    if args.grader == "sleep":
        # The sleeping alone, every slot busy from the first push to the last: what coordination
        # could reach at best (the jobs graded: a repeat superseded before it ran sleeps not).
        print(f"the sleeping alone ({args.sleep_s:g} s a graded job, every slot always busy):")
        for r in results:
            rounds = -(-r["slots"]["graded"] // (r["workers"] * args.slots))
            floor = rounds * args.sleep_s
            print(
                f"  {r['workers']} worker(s): {floor:.0f} s; measured {r['drain_s']:.1f} s, "
                f"{r['drain_s'] - floor:.1f} s more (the sleeping {floor / r['drain_s']:.0%} of it)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=300, help="repositories pushed to once")
    parser.add_argument("--repeats", type=int, default=50, help="pushes to one more repository")
    parser.add_argument("--workers", default="1,3", help="worker process counts, in turn")
    parser.add_argument(
        "--slots",
        type=int,
        default=os.cpu_count() or 1,
        help="grading slots per worker (PUSHGRADE_WORKERS; default the product's: one per CPU)",
    )
    parser.add_argument(
        "--grader",
        choices=GRADERS,
        default="busybox",
        help="busybox: answers at once (CPU-bound drain); sleep: sleeps --sleep-s, no CPU",
    )
    parser.add_argument(
        "--sleep-s", type=float, default=3.0, help="how long the sleep grader sleeps"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="deliveries in flight")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run at most")
    args = parser.parse_args()
    args.database_url = os.environ.get(URL_VARIABLE, "")
    if not args.database_url.startswith("postgresql"):
        raise SystemExit(f"set {URL_VARIABLE} to a PostgreSQL URL (./dev test starts one)")
    if args.repos < 0 or args.repeats < 0 or args.repos + args.repeats < 1:
        raise SystemExit("--repos and --repeats: at least one push, none negative")
    args.image, dockerfile = grader_image(args.grader, args.sleep_s)
    ensure_image(args.image, dockerfile)
    results = []
    for count in [int(n) for n in args.workers.split(",")]:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
            result = asyncio.run(one_run(args, count, Path(workdir)))
        results.append(result)
        print(
            f"{count} worker(s): {result['pushes']} pushes drained in {result['drain_s']:.1f} s",
            flush=True,
        )
    grader = f"sleeps {args.sleep_s:g} s" if args.grader == "sleep" else "answers at once"
    print(
        f"\n{args.repos} repos + {args.repeats} repeats of one, {args.slots} grading slots per "
        f"worker, {os.cpu_count()} CPUs, grader {args.grader} ({grader}), image {args.image}"
    )
    report(results, args)


if __name__ == "__main__":
    main()
