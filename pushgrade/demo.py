"""`pushgrade demo`: the whole path on one machine, with no GitHub account.

Starts the GitHub simulator and pushgrade (web + worker, SQLite) on loopback, installs the App on
a classroom org whose pushgrade file hands out an assignment from a template repository. A student
opens the accept link, signs in through the simulator's GitHub and accepts: pushgrade makes their
repository from the template. They push a wrong solution and then a fixed one, and each check run
is printed as it moves from queued to its result.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import aiohttp
import docker
import docker.errors

from ghapp.settings import Settings
from ghsim import GitHubSimulator
from pushgrade.serve import running
from pushgrade.setup import PERMISSIONS  # what the App asks for: grading and handing out

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "python-pytest"
IMAGE = "pushgrade-example/python-pytest:1"
ORG, ASSIGNMENT, STUDENT = "cs101-fall", "hw1", "alice"
REPO = f"{ASSIGNMENT}-{STUDENT}"
TEMPLATE = "hw1-template"


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
        settings = simulator_settings(
            sim, f"sqlite+aiosqlite:///{workdir / 'pushgrade-demo.sqlite3'}"
        )
        async with running(settings, poll_s=0.5) as app:
            sim.webhook_url = f"{app.url}/webhooks/github"
            print(f"GitHub simulator on {sim.url}; pushgrade on {app.url}")
            # The teacher installs the App on the org: pushgrade hears of it by webhook.
            await sim.install_and_notify(ORG, permissions=PERMISSIONS)
            sim.add_member(ORG, STUDENT)
            _classroom(sim)
            link = f"{app.url}/a/{ORG}/{ASSIGNMENT}"
            print(f"\n{ORG}/{ASSIGNMENT}: {STUDENT} opens the accept link {link}")
            started = time.monotonic()
            said = await accept(app.url, link, STUDENT)
            print(f"  +{time.monotonic() - started:5.2f} s  {said}")
            for label, folder in (
                ("a wrong median", "submission-fail"),
                ("the fix", "submission-pass"),
            ):
                calc = (EXAMPLE / folder / "calc.py").read_text()
                print(f"\n{ORG}/{REPO}: the student pushes {label}")
                started = time.monotonic()
                sha = await sim.push(
                    ORG, REPO, {"calc.py": calc}, message=f"Try: {label}", pusher=STUDENT
                )
                run = await watch(sim, sha, started)
                print("\n" + _indent(run["output"]["summary"]))


def _classroom(sim: GitHubSimulator) -> None:
    """The teacher's side: the org's pushgrade file (hw1 handed out from a template, graded by
    the bundled example's image) and the template repository with the starter code."""
    example = (EXAMPLE / "pushgrade.yml").read_text()
    settings = [line for line in example.splitlines() if line and not line.startswith("#")]
    settings = [s.replace("visibility: tests", "visibility: full") for s in settings]
    org_file = "assignments:\n  hw1:\n" + "".join(
        f"    {line}\n" for line in [f'repos: "{ASSIGNMENT}-*"', f"template: {TEMPLATE}", *settings]
    )
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file})
    starter = "def add(a, b):\n    raise NotImplementedError\n"
    sim.create_repo(
        ORG, TEMPLATE, files={"README.md": "# Homework 1\n", "calc.py": starter}, template=True
    )


async def accept(base: str, link: str, login: str) -> str:
    """What a browser does: sign in through GitHub (the simulator's consent page, as `login`),
    then press Accept. Returns the accept page's answer, in a line."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        path = link[len(base) :]
        async with browser.get(f"{base}/login?next={path}", allow_redirects=False) as answer:
            authorize = answer.headers["Location"]
        async with browser.get(f"{authorize}&login={login}", allow_redirects=False) as answer:
            callback = answer.headers["Location"]
        async with browser.get(callback) as answer:  # signed in, back on the accept page
            page = await answer.text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        if csrf is None:
            raise CannotDemo("the accept page has no form to accept with")
        async with browser.post(link, data={"csrf": csrf[1]}) as answer:
            page = await answer.text()
    found = re.search(r"<strong>Your repository:</strong>(.*?)</p>", page, re.DOTALL)
    if found is None:
        said = re.search(r"<h1>(.*?)</h1>\s*<p[^>]*>(.*?)</p>", page, re.DOTALL)
        why = html.unescape(re.sub(r"<[^>]+>", "", f"{said[1]}: {said[2]}")) if said else ""
        raise CannotDemo(f"accepting gave no repository: {' '.join(why.split())}")
    text = html.unescape(re.sub(r"<[^>]+>", "", found[1])).strip().rstrip(".")
    return (
        f"accepted: {text}, made from {ORG}/{TEMPLATE} ({login} is a member: push access at once)"
    )


_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _indent(text: str) -> str:
    """The summary as GitHub renders it: Markdown's backslash escapes dropped for the terminal."""
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pushgrade-demo-") as workdir:
        asyncio.run(demo(Path(workdir)))
    return 0
