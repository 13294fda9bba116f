"""Push → completed check run, as users run pushgrade: `pushgrade serve` started as a process
with its default settings (SQLite), the GitHub simulator on loopback, against a bare
`docker run --rm` of the same image and submission measured in the same run.

    .venv/bin/python bench/pipeline.py [--pushes 9] [--grader busybox|python-pytest|both]

Graders: `busybox`, a trivial one (TAP on stdout, on `pushgrade-test/busybox:2`, which
`scripts/test-images.sh` builds); `python-pytest`, the bundled example (`./dev try` builds it).
Each push is a new commit, sent one at a time, timed from the push call to the simulator holding
a completed check run. The first push after start is reported apart (it probes the image);
the others are the warm figures: median and p90, and the median's ratio to the bare run's.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


async def serve(sim: GitHubSimulator, workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    """`pushgrade serve` with its defaults, but for what points it at the simulator."""
    key = workdir / "app.pem"
    key.write_bytes(sim.private_key_pem)
    port = free_port()
    env = dict(
        os.environ,
        PUSHGRADE_APP_ID=str(sim.app_id),
        PUSHGRADE_PRIVATE_KEY_FILE=str(key),
        PUSHGRADE_WEBHOOK_SECRET=sim.webhook_secret,
        PUSHGRADE_GITHUB_API_URL=sim.url,
        PUSHGRADE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'pushgrade.sqlite3'}",
        PUSHGRADE_PORT=str(port),
    )
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            CLI, "serve", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while b"running" not in log.read_bytes():
        if process.returncode is not None or time.monotonic() > deadline:
            raise SystemExit(f"pushgrade serve did not start:\n{log.read_text()[-2000:]}")
        await asyncio.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


async def pushes(grader: str, count: int, workdir: Path) -> list[float]:
    image, files = GRADERS[grader]
    timings = []
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        process, url = await serve(sim, workdir)
        try:
            sim.webhook_url = f"{url}/webhooks/github"
            sim.create_repo(ORG, REPO, files={".github/pushgrade.yml": f"image: {image}\n"})
            for i in range(count + 1):
                changed = {name: text + f"\n# try {i}\n" for name, text in files.items()}
                started = time.perf_counter()
                sha = await sim.push(ORG, REPO, changed)
                run = await sim.wait_for_check_run(ORG, REPO, sha, status="completed", timeout=120)
                timings.append(time.perf_counter() - started)
                if run["conclusion"] != "success":
                    raise SystemExit(
                        f"{grader}: push {i} ended {run['conclusion']}: {run['output']}"
                    )
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    return timings


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
    args = parser.parse_args()
    names = list(GRADERS) if args.grader == "both" else [args.grader]
    build_images(names)
    for grader in names:
        image, files = GRADERS[grader]
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as workdir:
            first, *warm = asyncio.run(pushes(grader, args.pushes, Path(workdir)))
        bare_docker_run(image, files)  # warm-up
        bare = [bare_docker_run(image, files) for _ in range(args.pushes)]
        median, bare_median = statistics.median(warm), statistics.median(bare)
        print(f"{grader} ({image}), pushgrade serve with its defaults, {args.pushes} warm pushes")
        print(f"  first push after start       {first:6.3f} s   ({first / bare_median:.2f}x bare)")
        print(
            f"  warm push → completed        median {median:6.3f} s, p90 {p90(warm):6.3f} s "
            f"(min {min(warm):.3f}, max {max(warm):.3f})"
        )
        print(f"  docker run --rm              median {bare_median:6.3f} s")
        print(f"  median ratio pipeline / docker run --rm: {median / bare_median:.2f}")


if __name__ == "__main__":
    main()
