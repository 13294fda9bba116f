"""The last ten minutes before a deadline: 300 students, one push each at a random moment, against
the simulator enforcing GitHub's secondary limits (80 writes a minute, 500 an hour) on a fast
clock, with pushgrade's write budget set to the same numbers.

    .venv/bin/python bench/deadline.py [--students 300] [--minutes 10] [--clock 20] [--workers 4]

Reports writes per push; the time from a push to its final result on GitHub (p50, p99, max) and
from a result being stored to GitHub holding it (the wait for budget), in real seconds and in
deadline time (real times the clock); and the writes GitHub refused (the target is 0). The grader
is a trivial busybox image, but containers run in real time: on a fast clock grading capacity is
shrunk by the same factor, so the push-to-result figures include a grading backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ghapp.core.budget import Limits  # noqa: E402
from ghapp.store.models import Submission  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402
from pushgrade.demo import simulator_settings  # noqa: E402
from pushgrade.serve import running  # noqa: E402

ORG = "cs101"
IMAGE = "pushgrade-bench/quick:1"
BASE = "pushgrade-test/busybox:2"


def ensure_image() -> None:
    client = docker.from_env()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        dockerfile = f'FROM {BASE}\nCMD ["sh", "-c", "echo ok 1 - works; echo 1..1"]\n'
        with tempfile.TemporaryDirectory() as context:
            (Path(context) / "Dockerfile").write_text(dockerfile)
            client.images.build(path=context, tag=IMAGE, rm=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def deadline(args: argparse.Namespace, workdir: Path) -> dict:
    window_s = args.minutes * 60 / args.clock
    rng = random.Random(args.seed)
    moments = sorted(rng.uniform(0, window_s) for _ in range(args.students))
    limits = Limits(per_minute=80, per_hour=500, clock_scale=args.clock)
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        sim.set_secondary_limits(per_minute=80, per_hour=500, clock_scale=args.clock)
        names = [f"hw1-student{i:03d}" for i in range(args.students)]
        for name in names:
            sim.create_repo(ORG, name, files={".github/pushgrade.yml": f"image: {IMAGE}\n"})
        settings = simulator_settings(sim, f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}")
        settings = dataclasses.replace(settings, workers=args.workers)
        async with running(settings, poll_s=0.5, limits=limits) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            pushed: dict[str, tuple[str, float]] = {}
            finished: dict[str, float] = {}
            seen_at: dict[str, float] = {}  # wall-clock moment the final result was on GitHub
            started = time.perf_counter()

            async def student(name: str, at: float) -> None:
                await asyncio.sleep(max(0.0, at - (time.perf_counter() - started)))
                sha = await sim.push(ORG, name, {"main.c": f"// {name}\n"})
                pushed[name] = (sha, time.perf_counter())

            async def watch() -> None:
                while len(finished) < args.students:
                    for name, (sha, at) in list(pushed.items()):
                        if name in finished:
                            continue
                        runs = sim.check_runs(ORG, name, sha)
                        if runs and runs[-1]["status"] == "completed":
                            finished[name] = time.perf_counter() - at
                            seen_at[name] = time.time()
                    await asyncio.sleep(0.05)

            watcher = asyncio.create_task(watch())
            await asyncio.gather(*(student(n, m) for n, m in zip(names, moments, strict=True)))
            await asyncio.wait_for(watcher, timeout=args.timeout)
            drained = time.perf_counter() - started
            async with app.sessions() as session:
                graded = dict(
                    (await session.execute(select(Submission.repo, Submission.graded_at))).all()
                )
            # From the result being stored to GitHub holding it: the time it waited for budget.
            waited = [
                seen_at[name] - graded[name].timestamp() for name in seen_at if name in graded
            ]
        installation = sim.world.installation_for(ORG).id
        writes = len(sim.writes(installation))
        refusals = sum(len(found) for found in sim.limit_refusals.values())
        conclusions = {
            run["conclusion"]
            for name, (sha, _) in pushed.items()
            for run in sim.check_runs(ORG, name, sha)
        }
    latencies = list(finished.values())
    return {
        "students": args.students,
        "window_real_s": window_s,
        "drained_real_s": drained,
        "writes": writes,
        "writes_per_push": writes / args.students,
        "refusals": refusals,
        "budget_wait_p50_s": statistics.median(waited),
        "budget_wait_p99_s": percentile(waited, 0.99),
        "p50_s": statistics.median(latencies),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies),
        "conclusions": sorted(c for c in conclusions if c),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=10.0, help="deadline time of the burst")
    parser.add_argument("--clock", type=float, default=20.0, help="how much faster time runs")
    parser.add_argument("--workers", type=int, default=4, help="grading slots")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    ensure_image()
    with tempfile.TemporaryDirectory(prefix="bench-deadline-") as workdir:
        result = asyncio.run(deadline(args, Path(workdir)))
    clock = args.clock
    print(f"{result['students']} pushes over {args.minutes:g} deadline minutes "
          f"({result['window_real_s']:.0f} s real, clock x{clock:g}); "
          f"drained in {result['drained_real_s']:.1f} s real")  # fmt: skip
    print(f"writes: {result['writes']} ({result['writes_per_push']:.2f} per push); "
          f"refused by GitHub: {result['refusals']}")  # fmt: skip
    for key in ("p50_s", "p99_s", "max_s"):
        real = result[key]
        print(f"push → final result {key[:-2]}: {real:.2f} s real = {real * clock:.0f} s deadline")
    for key in ("budget_wait_p50_s", "budget_wait_p99_s"):
        real = result[key]
        print(
            f"result stored → on GitHub {key[12:15]}: {real:.2f} s real"
            f" = {real * clock:.0f} s deadline"
        )
    print(f"conclusions: {', '.join(result['conclusions'])}")


if __name__ == "__main__":
    main()
