"""`pushgrade demo`: the whole path on one machine, with no GitHub account.

Starts the GitHub simulator and pushgrade (web + worker, SQLite) on loopback, installs the App on
a classroom org, creates a student repo from the bundled example, pushes a wrong solution and
then a fixed one, and prints each check run as it moves from queued to its result.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from ghapp.settings import Settings
from ghsim import GitHubSimulator
from pushgrade.serve import running

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "python-pytest"
IMAGE = "pushgrade-example/python-pytest:1"
ORG, REPO = "cs101-fall", "hw1-alice"


class CannotDemo(Exception):
    """What the demo needs is not there; the message is one line saying what to do."""


def ensure_image(image: str = IMAGE) -> None:
    try:
        client = docker.from_env()
        try:
            client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        print(f"building the example grader {image} …", flush=True)
        client.images.build(path=str(EXAMPLE / "grader"), tag=image, rm=True)
    except docker.errors.BuildError as err:
        raise CannotDemo(f"building the example grader {image} failed: {err.msg}") from None
    except docker.errors.DockerException as err:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise CannotDemo(
            f"the Docker engine at {where} did not answer ({_short(err)}): start it (./dev "
            "installs and starts one) or point DOCKER_HOST at one"
        ) from None


def _short(err: Exception) -> str:
    text = str(getattr(err, "explanation", None) or err).strip()
    for cause, said in _CAUSES:
        if cause in text:
            return said
    return text.splitlines()[0][:200] if text else type(err).__name__


_CAUSES = (
    ("FileNotFoundError", "no socket there"),
    ("ConnectionRefusedError", "connection refused"),
    ("PermissionError", "permission denied: is this user in the docker group?"),
)


def simulator_settings(sim: GitHubSimulator, database_url: str, *, workers: int = 2) -> Settings:
    """Settings for a pushgrade on loopback (any free port) whose GitHub is `sim`, with the
    dashboard on: people sign in through the simulator's OAuth pages."""
    return Settings(
        app_id=sim.app_id,
        private_key=sim.private_key_pem,
        webhook_secret=sim.webhook_secret,
        github_api_url=sim.url,
        database_url=database_url,
        host="127.0.0.1",
        port=0,
        workers=workers,
        oauth_client_id=sim.oauth.client_id,
        oauth_client_secret=sim.oauth.client_secret,
        session_secret=secrets.token_urlsafe(32),
        github_url=sim.url,
    )


async def watch(sim: GitHubSimulator, sha: str, started: float, timeout: float = 180) -> dict:
    """Print each state the commit's check run passes through; return the completed run."""
    seen: set[tuple] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in sim.check_runs(ORG, REPO, sha):
            key = (run["status"], run.get("conclusion"))
            if key not in seen:
                seen.add(key)
                title = (run.get("output") or {}).get("title") or ""
                state = run["status"] + (f" → {run['conclusion']}" if run.get("conclusion") else "")
                print(f"  +{time.monotonic() - started:5.2f} s  {state:<24} {title}", flush=True)
            if run["status"] == "completed":
                return run
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no completed check run for {sha[:7]} within {timeout:.0f} s")


async def demo(workdir: Path) -> None:
    ensure_image()
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        settings = simulator_settings(
            sim, f"sqlite+aiosqlite:///{workdir / 'pushgrade-demo.sqlite3'}"
        )
        async with running(settings, poll_s=0.5) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            print(f"GitHub simulator on {sim.url}; pushgrade on {app.url}")
            config = (
                (EXAMPLE / "pushgrade.yml")
                .read_text()
                .replace("visibility: tests", "visibility: full")
            )
            sim.create_repo(
                ORG, REPO, files={".github/pushgrade.yml": config, "README.md": "# Homework 1\n"}
            )
            for label, folder in (
                ("a wrong median", "submission-fail"),
                ("the fix", "submission-pass"),
            ):
                calc = (EXAMPLE / folder / "calc.py").read_text()
                print(f"\n{ORG}/{REPO}: the student pushes {label}")
                started = time.monotonic()
                sha = await sim.push(ORG, REPO, {"calc.py": calc}, message=f"Try: {label}")
                run = await watch(sim, sha, started)
                print("\n" + _indent(run["output"]["summary"]))


_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _indent(text: str) -> str:
    """The summary as GitHub renders it: Markdown's backslash escapes dropped for the terminal."""
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pushgrade-demo-") as workdir:
        asyncio.run(demo(Path(workdir)))
    return 0
