"""The insights pages at scale: a class of 500 students with 20 assignments, read by a teacher
from the shipped `pushgrade web` over loopback.

    .venv/bin/python bench/insights.py [--students 500] [--assignments 20] [--attempts 3]
        [--tests 20] [--requests 30] [--database sqlite|postgresql]

The database (SQLite in a temporary folder, the default; or, with `--database postgresql`, a
fresh one on the server PUSHGRADE_TEST_DATABASE_URL names, dropped afterwards) is migrated by
pushgrade itself and filled in bulk: per assignment and student, one repository with 1 to
`--attempts` graded pushes (timelines, deadline judgements, some late, a few refused after the
cutoff), every outcome with `--tests` tests (outputs for the failures, a log of 2 KB), on
every other assignment a regrade of every repo's latest commit; and a roster of the students.
Then `pushgrade web` starts as a subprocess with its default settings (plus the App's and the
dashboard's, against the GitHub simulator on loopback), a teacher signs in through the
simulator's OAuth pages as a browser does, and each page is fetched once (the first: timed
apart, as the web process has kept nothing of the assignment yet), then `--requests` times one
after another (keep-alive): the median and 90th percentile of the wall time each took, client
side, and the body's size. Measured, on one regraded assignment: the insights page, its
tests CSV, a test's page and a student's page; and beside them, for comparison, the gradebook,
the org's page and /healthz (no page at all).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from ghapp.store.db import make_engine, migrate  # noqa: E402
from ghapp.store.models import Job, RosterStudent, Submission  # noqa: E402
from ghsim import GitHubSimulator  # noqa: E402
from tests.integration.processes import Process, free_port  # noqa: E402

ORG, TEACHER = "bench-class", "prof"
URL_VARIABLE = "PUSHGRADE_TEST_DATABASE_URL"
CHUNK = 2000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def names_of_tests(count: int, rng: random.Random) -> list[str]:
    return [f"test_{k:02d}_{rng.choice(('parse', 'edge', 'perf', 'io'))}" for k in range(count)]


def outcome(names: list[str], failing: set[str], rng: random.Random) -> dict:
    tests = [
        {
            "name": name,
            "status": "failed" if name in failing else "passed",
            "score": 0 if name in failing else 1,
            "max_score": 1,
            "visibility": "hidden" if k % 4 == 3 else "visible",
            "output": f"expected {rng.randint(0, 99)}, got {rng.randint(0, 99)}"
            if name in failing
            else "",
        }
        for k, name in enumerate(names)
    ]
    score = len(names) - len(failing)
    return {
        "status": "passed" if not failing else "failed",
        "score": score,
        "max_score": len(names),
        "tests": tests,
        "duration_s": 1.2,
        "log": "collected tests\n" + "." * 2000,
        "phases": {},
    }


def rows(args, installation: int, now: datetime):
    """Jobs, submissions and roster rows of the class, with explicit ids."""
    rng = random.Random(7)
    names = names_of_tests(args.tests, rng)
    difficulty = {name: rng.random() ** 2 for name in names}  # most easy, some hard
    jobs, submissions = [], []
    for a in range(args.assignments):
        assignment = f"hw{a + 1:02d}"
        due = now - timedelta(days=7 * (args.assignments - a))
        config = {
            "image": "grader:1",
            "due": due.isoformat(),
            "late": {"policy": "grade", "cutoff": (due + timedelta(days=2)).isoformat()},
            "repos": [f"{assignment}-*"],
        }
        for s in range(args.students):
            login = f"student{s:03d}"
            repo = f"{assignment}-{login}"
            attempts = 1 + rng.randrange(args.attempts)
            skill = rng.random()
            for j in range(attempts):
                last = j == attempts - 1
                at = due - timedelta(hours=rng.uniform(0, 72) if not last else rng.uniform(-6, 24))
                if last and rng.random() < 0.03:  # after the cutoff: refused, not graded
                    at = due + timedelta(days=2, hours=rng.uniform(1, 12))
                timing = "on_time" if at <= due else "late"
                if at > due + timedelta(days=2):
                    timing = "closed"
                sha = uuid.uuid4().hex + "00000000"
                received = at.timestamp()
                took = rng.lognormvariate(0.7, 0.5)
                job = {
                    "id": len(jobs) + 1,
                    "state": "done",
                    "trigger": "push",
                    "installation_id": installation,
                    "owner": ORG,
                    "repo": repo,
                    "head_sha": sha,
                    "ref": "refs/heads/main",
                    "sender": login,
                    "received_at": at,
                    "attempts": 1,
                    "config": config,
                    "assignment": assignment,
                    "timing": timing,
                    "background": False,
                    "note": "",
                    "phases": {
                        "received": received,
                        "staged": received + took * 0.9,
                        "accepted": received + took,
                    },
                }
                jobs.append(job)
                if timing == "closed":
                    continue
                grades = [job]
                if last and a % 2 == 0:
                    grades.append(job | {"id": len(jobs) + 1, "trigger": "dashboard",
                                         "background": True, "sender": TEACHER,
                                         "received_at": due + timedelta(days=3)})  # fmt: skip
                    jobs.append(grades[-1])
                for graded in grades:
                    tried = skill + 0.2 * j + (0.1 if graded is not job else 0)
                    failing = {n for n in names if difficulty[n] > tried + rng.uniform(-0.2, 0.2)}
                    result = outcome(names, failing, rng)
                    submissions.append(
                        {
                            "id": len(submissions) + 1,
                            "job_id": graded["id"],
                            "owner": ORG,
                            "repo": repo,
                            "head_sha": sha,
                            "status": result["status"],
                            "conclusion": "success" if not failing else "failure",
                            "score": result["score"],
                            "max_score": result["max_score"],
                            "outcome": result,
                            "graded_at": graded["received_at"] + timedelta(seconds=3),
                            "late": timing == "late",
                        }
                    )
    roster = [
        {
            "org": ORG,
            "identifier": f"ID{s:05d}",
            "identifier_key": f"id{s:05d}",
            "name": f"Student {s}",
            "section": "A",
            "login": f"student{s:03d}",
        }
        for s in range(args.students)
    ]
    return jobs, submissions, roster, names


async def seed(url: str, args, installation: int) -> dict:
    engine = make_engine(url)
    await migrate(engine)
    jobs, submissions, roster, names = rows(args, installation, datetime.now(UTC))
    started = time.monotonic()
    async with engine.begin() as connection:
        for model, table in ((Job, jobs), (Submission, submissions), (RosterStudent, roster)):
            for start in range(0, len(table), CHUNK):
                await connection.execute(insert(model), table[start : start + CHUNK])
    await engine.dispose()
    return {
        "jobs": len(jobs),
        "submissions": len(submissions),
        "seconds": time.monotonic() - started,
        "names": names,
    }


async def sign_in(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(f"{base}/login?next=/", allow_redirects=False) as answer:
        authorize = answer.headers["Location"]
    async with http.get(f"{authorize}&login={TEACHER}", allow_redirects=False) as answer:
        callback = answer.headers["Location"]
    async with http.get(callback, allow_redirects=False) as answer:
        assert answer.status == 303, answer.status


async def timed(http: aiohttp.ClientSession, url: str, count: int) -> dict:
    started = time.perf_counter()
    async with http.get(url) as answer:  # the first: nothing of this assignment kept yet
        body = await answer.read()
        assert answer.status == 200, (url, answer.status, body[:300])
    first = time.perf_counter() - started
    took = []
    for _ in range(count):
        started = time.perf_counter()
        async with http.get(url) as answer:
            body = await answer.read()
        took.append(time.perf_counter() - started)
        assert answer.status == 200, url
    return {
        "first": first,
        "median": statistics.median(took),
        "p90": percentile(took, 0.9),
        "bytes": len(body),
    }


async def bench(args, workdir: Path, url: str) -> None:
    async with GitHubSimulator() as sim:
        sim.install(ORG)
        sim.add_member(ORG, TEACHER, role="admin")
        installation = sim.world.installation_for(ORG).id
        seeded = await seed(url, args, installation)
        print(
            f"seeded {seeded['jobs']} jobs and {seeded['submissions']} graded submissions "
            f"({args.students} students x {args.assignments} assignments, {args.tests} tests "
            f"each) in {seeded['seconds']:.1f} s",
            flush=True,
        )
        key = workdir / "app.pem"
        key.write_bytes(sim.private_key_pem)
        port = free_port()
        env = {
            name: value for name, value in os.environ.items() if not name.startswith("PUSHGRADE_")
        }
        env.update(
            PUSHGRADE_APP_ID=str(sim.app_id),
            PUSHGRADE_PRIVATE_KEY_FILE=str(key),
            PUSHGRADE_WEBHOOK_SECRET=sim.webhook_secret,
            PUSHGRADE_GITHUB_API_URL=sim.url,
            PUSHGRADE_GITHUB_URL=sim.url,
            PUSHGRADE_DATABASE_URL=url,
            PUSHGRADE_PORT=str(port),
            PUSHGRADE_OAUTH_CLIENT_ID=sim.oauth.client_id,
            PUSHGRADE_OAUTH_CLIENT_SECRET=sim.oauth.client_secret,
            PUSHGRADE_SESSION_SECRET=secrets.token_urlsafe(32),
            PUSHGRADE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        )
        web = await Process("web", env, workdir).start()
        try:
            base = f"http://127.0.0.1:{port}"
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                await sign_in(http, base)
                middle = f"hw{args.assignments // 4 * 2 + 1:02d}"  # regraded, as hw01 is
                page = f"{base}/orgs/{ORG}/assignments/{middle}"
                insights = await (await http.get(f"{page}/insights")).text()
                test = re.search(r'<td class="name"><a href="([^"]+)"', insights)
                assert test, "the insights page lists no test"
                student = f"student{args.students // 2:03d}"
                pages = {
                    "health (no page)": f"{base}/healthz",
                    "the org's page": f"{base}/orgs/{ORG}",
                    "gradebook": page,
                    "insights": f"{page}/insights",
                    "insights tests.csv": f"{page}/insights/tests.csv",
                    "a test's page": base + test[1].replace("&amp;", "&"),
                    "a student's page": f"{page}/students/{quote(middle)}-{student}",
                }
                print(
                    f"\n{middle} ({args.students} repos, regraded), {args.requests} requests "
                    "each, one after another:"
                )
                print(f"  {'page':<22} {'first':>9} {'median':>9} {'p90':>9} {'body':>10}")
                for name, target in pages.items():
                    found = await timed(http, target, args.requests)
                    ms = [f"{found[k] * 1000:6.1f} ms" for k in ("first", "median", "p90")]
                    size = f"{found['bytes'] / 1024:6.0f} KiB"
                    print(f"  {name:<22} {ms[0]:>9} {ms[1]:>9} {ms[2]:>9} {size:>10}", flush=True)
            rss = web.peak_rss_kib()
            print(f"\npushgrade web's peak RSS: {rss / 1024:.0f} MiB" if rss else "")
        finally:
            await web.stop()


async def main_async(args) -> None:
    with tempfile.TemporaryDirectory(prefix="pushgrade-bench-insights-") as folder:
        workdir = Path(folder)
        if args.database == "sqlite":
            await bench(args, workdir, f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}")
            return
        server = os.environ.get(URL_VARIABLE)
        if not server:
            raise SystemExit(f"--database postgresql needs {URL_VARIABLE} (a role with CREATEDB)")
        sys.path.insert(0, str(ROOT / "bench"))
        from scale import Database

        async with Database(server) as database:
            await bench(args, workdir, database.url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--assignments", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=3, help="at most, per repo")
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
