"""Grader images: the first student push after a teacher changes the grader repo, with and
without warming, and a regrade of every repo of one assignment.

    .venv/bin/python bench/graders.py [--rounds 3] [--repos 300] [--clock 5] [--workers 2]

Part 1, on a grader repo built from the bundled Python example (pytest, JUnit XML): the time from
a student's push to its final check run when the image is already built; after a grader change
GitHub never told pushgrade of (no warming: the student's push pays for the build); after a
grader push that pushgrade warmed before the student pushed; and with the student pushing one
second after the teacher (the build is under way). Medians of `--rounds`.

Part 2: `--repos` repos each with a graded push are regraded at once (as `pushgrade regrade`
does) against the simulator enforcing GitHub's secondary limits (80 writes a minute, 500 an
hour) on a clock `--clock` times faster, pushgrade's budget set to the same. Reports the time to
the last regraded result on GitHub, writes per repo, writes GitHub refused (the target is 0),
and what ten students pushing during the regrade waited, against the same pushes on an idle
queue.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.deadline import IMAGE, ensure_image  # noqa: E402
from ghapp import queue  # noqa: E402
from ghapp.core.budget import Limits  # noqa: E402
from ghapp.core.tenants import Ceilings, single_teacher  # noqa: E402
from ghapp.store.models import Job, JobState, Submission  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402
from pushgrade.demo import simulator_settings  # noqa: E402
from pushgrade.serve import running  # noqa: E402

ORG = "cs101"
EXAMPLE = ROOT / "examples" / "python-pytest"
PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()
TESTS = (EXAMPLE / "grader" / "tests" / "test_calc.py").read_text()
DOCKERFILE = (EXAMPLE / "grader" / "Dockerfile").read_text()
GRADER_ORG_FILE = "assignments:\n  hw1:\n    repos: 'hw1-*'\n    grader: grader-hw1\n"


def commit_quietly(sim: GitHubSimulator, repo_name: str, files: dict[str, str]) -> str:
    """A commit GitHub never sent a webhook for (a delivery lost, or pushgrade down)."""
    repo = sim.world.require_repo(ORG, repo_name)
    parent = repo.resolve(repo.default_branch)
    commit = sim.world.commit(
        repo,
        parent=parent,
        changes={path: text.encode() for path, text in files.items()},
        message="Change the tests quietly",
        author=sim.world.account("teacher"),
        now=time.time(),
    )
    repo.branches[repo.default_branch] = commit.sha
    return commit.sha


async def result_time(sim: GitHubSimulator, repo: str, files: dict[str, str]) -> float:
    started = time.perf_counter()
    sha = await sim.push(ORG, repo, files)
    run = await sim.wait_for_check_run(ORG, repo, sha, timeout=600)
    assert run["conclusion"] == "success", run["output"]
    return time.perf_counter() - started


async def first_push(args: argparse.Namespace, workdir: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {
        "built": [],
        "unwarmed": [],
        "warmed": [],
        "one_s_after": [],
        "build": [],
    }
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": GRADER_ORG_FILE})
        sim.create_repo(
            ORG, "grader-hw1", files={"Dockerfile": DOCKERFILE, "tests/test_calc.py": TESTS}
        )
        sim.create_repo(ORG, "hw1-ann", files={"README.md": "homework\n"})
        settings = simulator_settings(sim, f"sqlite+aiosqlite:///{workdir / 'first.sqlite3'}")
        async with running(settings, poll_s=0.5) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            app.worker.tenants.tenancy = single_teacher(ceilings=Ceilings(build_network=False))
            n = 0

            def student_files() -> dict[str, str]:
                nonlocal n
                n += 1
                return {"calc.py": f"{PASSING}\n# attempt {n}\n"}

            def grader_files() -> dict[str, str]:
                if args.change == "tests":  # the last layer only: the others come from cache
                    return {"tests/test_calc.py": f"{TESTS}\n# revision {n}\n"}
                # The Dockerfile's first step: every layer is built again.
                return {"Dockerfile": DOCKERFILE.replace("RUN ", f"RUN echo revision {n} && ", 1)}

            await result_time(sim, "hw1-ann", student_files())  # the first build ever
            for _ in range(args.rounds):
                found["built"].append(await result_time(sim, "hw1-ann", student_files()))

                commit_quietly(sim, "grader-hw1", grader_files())
                found["unwarmed"].append(await result_time(sim, "hw1-ann", student_files()))

                started = time.perf_counter()
                sha = await sim.push(ORG, "grader-hw1", grader_files(), pusher="teacher")
                await sim.wait_for_check_run(
                    ORG, "grader-hw1", sha, check_name="pushgrade grader", timeout=600
                )
                found["build"].append(time.perf_counter() - started)
                found["warmed"].append(await result_time(sim, "hw1-ann", student_files()))

                await sim.push(ORG, "grader-hw1", grader_files(), pusher="teacher")
                await asyncio.sleep(1.0)
                found["one_s_after"].append(await result_time(sim, "hw1-ann", student_files()))
    return found


async def seed_graded(app, sim: GitHubSimulator, names: list[str]) -> None:
    """Each repo's commit graded once already (rows as a grading run leaves them): what a
    regrade starts from, without spending the write budget on setting it up."""
    installation = sim.world.installation_for(ORG).id
    async with app.sessions() as session, session.begin():
        for name in names:
            repo = sim.world.require_repo(ORG, name)
            sha = repo.branches["main"]
            job = Job(
                state=JobState.DONE,
                trigger="push",
                installation_id=installation,
                repository_id=repo.id,
                owner=ORG,
                repo=name,
                head_sha=sha,
                ref="refs/heads/main",
                default_branch="main",
                attempts=1,
                assignment="hw1",
                note="",
            )
            session.add(job)
            await session.flush()
            session.add(
                Submission(
                    job_id=job.id,
                    owner=ORG,
                    repo=name,
                    head_sha=sha,
                    status="passed",
                    conclusion="success",
                    outcome={},
                )
            )


async def regrade_all(args: argparse.Namespace, workdir: Path) -> dict:
    limits = Limits(per_minute=80, per_hour=500, clock_scale=args.clock)
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        sim.set_secondary_limits(per_minute=80, per_hour=500, clock_scale=args.clock)
        org_file = (
            f"assignments:\n  hw1:\n    repos: 'hw1-*'\n    image: {IMAGE}\n"
            f"  hw2:\n    repos: 'hw2-*'\n    image: {IMAGE}\n"
        )
        sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file})
        names = [f"hw1-s{i:03d}" for i in range(args.repos)]
        fresh = [f"hw2-s{i:03d}" for i in range(10)]  # another assignment, not regraded
        for name in names + fresh:
            sim.create_repo(ORG, name, files={"main.c": f"// {name}\n"})
        settings = simulator_settings(sim, f"sqlite+aiosqlite:///{workdir / 'regrade.sqlite3'}")
        settings = dataclasses.replace(settings, workers=args.workers)
        async with running(settings, poll_s=0.5, limits=limits) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            idle = [await result_time(sim, name, {"main.c": "// idle\n"}) for name in fresh]
            await seed_graded(app, sim, names)
            installation = sim.world.installation_for(ORG).id
            writes_before = len(sim.writes(installation))

            started = time.perf_counter()
            ids = await queue.request_regrade_all(
                app.sessions, owner=ORG, assignment="hw1", by="teacher"
            )
            app.worker.wake()
            assert len(ids) == args.repos
            busy: list[float] = []

            async def students() -> None:
                for name in fresh:
                    await asyncio.sleep(args.repos / 100)
                    busy.append(await result_time(sim, name, {"main.c": "// during\n"}))

            pushing = asyncio.create_task(students())
            while True:
                done = sum(
                    1
                    for name in names
                    if any(r["status"] == "completed" for r in sim.check_runs(ORG, name))
                )
                if done == args.repos:
                    break
                await asyncio.sleep(0.2)
            duration = time.perf_counter() - started
            await pushing
            async with app.sessions() as session:
                graded = await session.scalar(
                    select(func.count()).select_from(Submission).where(Submission.job_id.in_(ids))
                )
            # The regraded repos' writes (the fresh pushes' are theirs).
            regrade_writes = sum(
                1
                for write in sim.writes(installation)[writes_before:]
                if write.path.startswith(f"/repos/{ORG}/hw1-s")
            )
        refusals = sum(len(found) for found in sim.limit_refusals.values())
    return {
        "repos": args.repos,
        "graded": graded,
        "duration_s": duration,
        "writes": regrade_writes,
        "refusals": refusals,
        "idle": idle,
        "busy": busy,
    }


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repos", type=int, default=300)
    parser.add_argument("--clock", type=float, default=5.0, help="how much faster time runs")
    parser.add_argument("--workers", type=int, default=2, help="grading slots")
    parser.add_argument("--skip-first", action="store_true", help="only the regrade")
    parser.add_argument(
        "--change",
        choices=("tests", "dockerfile"),
        default="dockerfile",
        help="what the teacher changes: a test (one layer) or the Dockerfile (every layer)",
    )
    args = parser.parse_args()
    ensure_image()
    with tempfile.TemporaryDirectory(prefix="bench-graders-") as workdir:
        if not args.skip_first:
            first = asyncio.run(first_push(args, Path(workdir)))
            print(
                f"first student push after a grader change ({args.change}; "
                f"median of {args.rounds}):"
            )
            print(f"  image already built:                {median(first['built'])}")
            print(f"  grader changed, no warming:         {median(first['unwarmed'])}")
            print(f"  grader pushed and warmed:           {median(first['warmed'])}")
            print(f"  student pushes 1 s after the teacher: {median(first['one_s_after'])}")
            print(f"  (grader push → built, reported):    {median(first['build'])}")
        result = asyncio.run(regrade_all(args, Path(workdir)))
    repos = result["repos"]
    print(f"regrade all of {repos} repos (clock x{args.clock:g}, GitHub's limits on):")
    print(
        f"  graded {result['graded']}; last result on GitHub after {result['duration_s']:.1f} s "
        f"real = {result['duration_s'] * args.clock:.0f} s of GitHub's time"
    )
    writes = result["writes"]
    print(f"  writes for the regrade: {writes} ({writes / repos:.2f} per repo)")
    print(f"  refused by GitHub: {result['refusals']}")
    print(
        f"  a student's push → result: idle queue {median(result['idle'])}, "
        f"during the regrade {median(result['busy'])} (max {max(result['busy']):.2f} s)"
    )


if __name__ == "__main__":
    main()
