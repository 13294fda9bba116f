"""The whole path: a push delivered by the GitHub simulator → its check run completed, against a
bare `docker run --rm` of the same image and command.

    .venv/bin/python bench/pipeline.py [--pushes 9]

pushgrade runs in-process (web + worker, SQLite) beside the simulator on loopback; each push is a
new commit of the bundled example's passing solution, sent one at a time, timed from the push
call to the simulator holding a completed check run. Prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.try_overhead import bare_docker_run  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402
from pushgrade.demo import EXAMPLE, IMAGE, ensure_image, simulator_settings  # noqa: E402
from pushgrade.serve import running  # noqa: E402

ORG, REPO = "bench-org", "hw1-bench"


async def pipeline(pushes: int, workdir: Path) -> list[float]:
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    timings = []
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        settings = simulator_settings(sim, f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}")
        async with running(settings, poll_s=0.5) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            sim.create_repo(ORG, REPO, files={".github/pushgrade.yml": f"image: {IMAGE}\n"})
            for i in range(pushes + 1):  # the first one warms up (image probe, template)
                started = time.perf_counter()
                sha = await sim.push(ORG, REPO, {"calc.py": calc + f"\n# try {i}\n"})
                run = await sim.wait_for_check_run(ORG, REPO, sha, status="completed", timeout=120)
                if run["conclusion"] != "success":
                    raise SystemExit(f"push {i} ended {run['conclusion']}: {run['output']}")
                if i:
                    timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=9)
    args = parser.parse_args()
    ensure_image()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as workdir:
        app = asyncio.run(pipeline(args.pushes, Path(workdir)))
    bare_docker_run(IMAGE)  # warm-up
    bare = []
    for _ in range(args.pushes):
        started = time.perf_counter()
        bare_docker_run(IMAGE)
        bare.append(time.perf_counter() - started)
    app_median, bare_median = statistics.median(app), statistics.median(bare)
    print(f"{args.pushes} pushes, image {IMAGE}")
    print(
        f"  push → check run completed   median {app_median:6.3f} s "
        f"(min {min(app):.3f}, max {max(app):.3f})"
    )
    print(f"  docker run --rm              median {bare_median:6.3f} s")
    print(f"median ratio pipeline / docker run --rm: {app_median / bare_median:.2f}")


if __name__ == "__main__":
    main()
