"""`pushgrade try` imports what grading needs and nothing of the app around it.

Starting `try` should cost Python start-up, the runner and the config model: not the database,
the web application, the GitHub client or the metrics (issue 16). Each check runs the CLI in a
fresh interpreter, stopped where grading would begin, and lists what it imported; a module-level
import added to pushgrade/cli.py (or to what `try` imports) that drags one of them in fails here.
What is imported, not how long it takes: timings belong to bench/try_overhead.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python-pytest"

# Only the other commands need these (serve, web, worker, migrate, regrade, demo).
NOT_FOR_TRY = (
    "sqlalchemy",
    "alembic",
    "asyncpg",
    "aiosqlite",
    "aiohttp",
    "gidgethub",
    "jwt",
    "jinja2",
    "prometheus_client",
    "copydetect",
    "matplotlib",
    "pygal",
    "ghapp.store",
    "ghapp.work",
    "ghapp.github",
    "ghapp.settings",
    "ghapp.metrics",
    "web",
    "ghsim",
    "pushgrade.serve",
    "pushgrade.demo",
)

# Runs `main(argv)` with runner.grade.grade replaced by a stop that prints sys.modules: everything
# `try` does before the first container (arguments, config file, image and timeout checks) runs.
STOP_AT_GRADING = """
import json, sys
import runner.grade

def stop(source, spec, **kwargs):
    print(json.dumps({"graded": str(source), "modules": sorted(sys.modules)}))
    raise SystemExit(0)

runner.grade.grade = stop
from pushgrade.cli import main
sys.exit(main(json.loads(sys.argv[1])))
"""

# Runs `main(argv)` to its end (a usage error, --help) and prints sys.modules on the way out.
TO_THE_END = """
import json, sys
from pushgrade.cli import main
try:
    main(json.loads(sys.argv[1]))
finally:
    print(json.dumps({"modules": sorted(sys.modules)}))
"""


def imported(snippet: str, argv: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", snippet, json.dumps(argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip(), f"no report (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(modules: list[str], wanted: tuple[str, ...]) -> list[str]:
    """Each of `wanted` that is in `modules`, itself or any of its submodules."""
    return [w for w in wanted if any(m == w or m.startswith(f"{w}.") for m in modules)]


def test_try_reaches_grading_without_the_apps_imports():
    submission = EXAMPLE / "submission-pass"
    report = imported(
        STOP_AT_GRADING,
        ["try", str(submission), "--config", str(EXAMPLE / "pushgrade.yml"), "--timeout", "30"],
    )
    assert report["graded"] == str(submission), "the stop stood in for grading"
    assert loaded(report["modules"], NOT_FOR_TRY) == []
    # What it does need came in (the stop was reached through the real path).
    assert loaded(report["modules"], ("runner.sandbox", "ghapp.core.config")) == [
        "runner.sandbox",
        "ghapp.core.config",
    ]


def test_try_with_image_only_reaches_grading_without_the_apps_imports():
    report = imported(
        STOP_AT_GRADING, ["try", str(EXAMPLE / "submission-fail"), "--image", "example/grader:1"]
    )
    assert loaded(report["modules"], NOT_FOR_TRY) == []


def test_help_and_usage_errors_import_neither_the_runner_nor_the_config_model():
    heavy = ("runner", "ghapp", "docker", "pydantic", "yaml", *NOT_FOR_TRY)
    for argv in (["--help"], ["try", "--help"], ["try"], ["no-such-command"]):
        assert loaded(imported(TO_THE_END, argv)["modules"], heavy) == [], argv
