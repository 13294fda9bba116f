"""How much does pushgrade's sandbox cost over a bare `docker run --rm`?

Grades the bundled example with `pushgrade try` (the console script, as a user runs it) and runs
the same image and command with a bare `docker run --rm`, the submission bind-mounted, several
times each, interleaved; prints the medians and their ratio. Also times `grade()` in-process, which
leaves out the CLI's Python start-up, and that start-up alone: the same `pushgrade try` command in
a fresh interpreter, stopped where grading begins (`grade()` replaced by an exit), so Python's
start, the imports, the arguments and the config checks.

    .venv/bin/python bench/try_overhead.py [--runs 9] [--image pushgrade-example/python-pytest:1]

Needs the Docker engine and the example image (`./dev try` sets both up). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.grade import grade  # noqa: E402
from runner.sandbox import Sandbox  # noqa: E402
from runner.spec import SandboxSpec  # noqa: E402

SUBMISSION = ROOT / "examples" / "python-pytest" / "submission-pass"

# `pushgrade try ARGS` up to the point where it would call grade(), then exit 0.
STOP_AT_GRADING = """
import sys
import runner.grade

def stop(*args, **kwargs):
    raise SystemExit(0)

runner.grade.grade = stop
from pushgrade.cli import main
sys.exit(main(sys.argv[1:]))
"""


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def pushgrade_try(image: str) -> None:
    cli = Path(sys.executable).with_name("pushgrade")
    done = subprocess.run(
        [str(cli), "try", str(SUBMISSION), "--image", image, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or '"status":"passed"' not in done.stdout:
        raise SystemExit(f"pushgrade try did not pass: {done.stdout[:300]} {done.stderr[:300]}")


def try_startup(image: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            STOP_AT_GRADING,
            "try",
            str(SUBMISSION),
            "--image",
            image,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"pushgrade try did not reach grading: {done.stderr[-300:]}")


def bare_docker_run(image: str) -> None:
    results = tempfile.mkdtemp(prefix="bench-results-")
    try:
        done = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                f"{SUBMISSION}:/submission",
                "-v",
                f"{results}:/results",
                image,
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"docker run failed: {done.stderr[:300]!r}")
    finally:
        shutil.rmtree(results, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--image", default="pushgrade-example/python-pytest:1")
    args = parser.parse_args()
    sandbox = Sandbox()
    spec = SandboxSpec(image=args.image, pull_missing=False)

    def in_process() -> None:
        outcome = grade(SUBMISSION, spec, sandbox=sandbox)
        if outcome.status != "passed":
            raise SystemExit(f"grade() did not pass: {outcome.reason}")

    # Warm-up: image traits probed, template imported, page cache hot for both paths.
    pushgrade_try(args.image), bare_docker_run(args.image), in_process(), try_startup(args.image)
    cli, bare, lib, startup = [], [], [], []
    for _ in range(args.runs):
        cli.append(timed(lambda: pushgrade_try(args.image)))
        bare.append(timed(lambda: bare_docker_run(args.image)))
        lib.append(timed(in_process))
        startup.append(timed(lambda: try_startup(args.image)))
    med = {
        name: statistics.median(v)
        for name, v in (
            ("pushgrade try", cli),
            ("docker run --rm", bare),
            ("grade() in-process", lib),
            ("try start-up", startup),
        )
    }
    print(f"{args.runs} runs each, interleaved, image {args.image}")
    for name, value in med.items():
        print(f"  {name:<20} median {value:6.3f} s")
    bare = med["docker run --rm"]
    print(f"median ratio pushgrade try / docker run --rm: {med['pushgrade try'] / bare:.2f}")
    print(f"median ratio grade() / docker run --rm:       {med['grade() in-process'] / bare:.2f}")


if __name__ == "__main__":
    main()
