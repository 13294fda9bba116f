"""Insights into an assignment, for its org's teachers: the score distribution, pushes against
the deadline, how long results took, who has not pushed; per test, how many fail it (and what a
regrade changed), each with the submissions failing it; per repo, its attempts. Every chart's
numbers as CSV beside it.

    /orgs/{org}/assignments/{assignment}/insights               the assignment, per test
    /orgs/{org}/assignments/{assignment}/insights/{chart}.csv   scores pushes latency tests regrade
    /orgs/{org}/assignments/{assignment}/tests/{test}           the repos failing a test
    /orgs/{org}/assignments/{assignment}/tests?key={digest}     the same, for any name
    /orgs/{org}/assignments/{assignment}/students/{repo}        one repo's attempts and pushes
    /orgs/{org}/assignments/{assignment}/students/{repo}/attempts.csv
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from ghapp.core import insights as arithmetic
from ghapp.core import phases
from ghapp.core.events import Trigger
from ghapp.store import handouts, reads
from ghapp.store import insights as store
from ghapp.store import roster as rosters
from ghapp.store.models import utcnow
from web import charts, gradebook
from web.dashboard import ASSIGNMENT_NAME, Dashboard, csv_attachment, no_such, page

routes = web.RouteTableDef()

REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # GitHub's rule for repository names
CHARTS = ("scores", "pushes", "latency", "tests", "regrade")
LINKED_NAME_CHARS = 300  # longer test names (or dot segments) are linked by digest instead
OUTPUT_CHARS = 160  # of a failing test's output, on the test's page
BASE = "/orgs/{org}/assignments/{assignment}"


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def name_digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:24]


def link_to_test(base: str, name: str) -> str:
    """The link to a test's page: its name in the path, or (for a name no path can carry
    whole: `.`, `..`, very long) its digest in the query."""
    if name.strip(".") and len(name) <= LINKED_NAME_CHARS:
        return f"{base}/tests/{quote(name, safe='')}"
    return f"{base}/tests?key={name_digest(name)}"


@dataclass
class Assignment:
    """One assignment's graded runs and jobs, read once for a page, and what follows from them."""

    account: reads.Account
    name: str
    config: dict
    runs: list
    jobs: list[store.JobTimed]
    table: list[gradebook.GradebookRow] = field(init=False)

    def __post_init__(self) -> None:
        self.table = gradebook.rows(self.runs, [job.seen() for job in self.jobs])

    @property
    def base(self) -> str:
        return BASE.format(org=quote(self.account.login, safe=""), assignment=quote(self.name))

    @property
    def due(self) -> datetime | None:
        return _moment(self.config.get("due"))

    @property
    def cutoff(self) -> datetime | None:
        late = self.config.get("late")
        return _moment(late.get("cutoff")) if isinstance(late, dict) else None


async def _assignment(request: web.Request, dash: Dashboard) -> Assignment:
    """The assignment in the path, for a teacher of its org: 403 for anyone else, 404 for an
    assignment no job has (asked only of teachers: whether it exists is theirs to learn)."""
    _, account, name, config = await dash.require_assignment(request)
    runs, jobs = await store.assignment_input(dash.sessions, account.login, name)
    return Assignment(account, name, config, runs, jobs)


@dataclass(frozen=True)
class TestsRead:
    latest: dict[str, list[arithmetic.TestSeen]]  # repo → its latest graded run's tests
    previous: dict[str, list[arithmetic.TestSeen]]  # repo → the grading before, if regraded
    table: list[arithmetic.TestFailures]
    changes: list[arithmetic.TestChange]
    without: int  # repos whose latest graded run reported no test


async def _tests(dash: Dashboard, a: Assignment) -> TestsRead:
    """The tests of each repo's latest graded run (and of the grading before it, where the
    latest regraded its commit): one read of those submissions' tests only."""
    latest = [row.latest for row in a.table if row.latest is not None]
    previous = arithmetic.previous_gradings(a.runs, latest)
    ids = [r.submission_id for r in latest] + list(previous.values())
    read = arithmetic.tests_by_submission(await store.test_statuses(dash.sessions, ids))
    now = {r.repo: read.get(r.submission_id, []) for r in latest}
    before = {repo: read.get(i, []) for repo, i in previous.items()}
    return TestsRead(
        latest=now,
        previous=before,
        table=arithmetic.failures(now, before or None),
        changes=arithmetic.changes(now, before) if before else [],
        without=sum(1 for tests in now.values() if not tests),
    )


NO_TESTS = TestsRead({}, {}, [], [], 0)  # for a chart that needs none


def _figures(a: Assignment, tests: TestsRead) -> tuple[dict, arithmetic.Latency]:
    latest = [row.latest for row in a.table if row.latest is not None]
    best = [row.best for row in a.table if row.best is not None]
    pushes = [(j.received_at, j.timing) for j in a.jobs if j.trigger == Trigger.PUSH]
    took = []
    for job in a.jobs:
        moments = phases.clean(job.phases) if job.phases and not job.background else {}
        if "received" in moments and "accepted" in moments:
            took.append(max(0.0, moments["accepted"] - moments["received"]))
    latency = arithmetic.latency(took)
    figures = {
        "scores": arithmetic.score_histogram(
            [(r.score, r.max_score) for r in latest], [(r.score, r.max_score) for r in best]
        ),
        "pushes": arithmetic.push_timeline(pushes, due=a.due, cutoff=a.cutoff, now=utcnow()),
        "latency": latency.figure,
        "tests": charts.failures_figure(tests.table),
        "regrade": charts.changes_figure(tests.changes),
    }
    return figures, latency


async def _missing(dash: Dashboard, a: Assignment) -> dict:
    """Who has not pushed: the roster's students without a pushed repository, when the org has
    a roster; else the repositories handed out and never pushed to."""
    held = await handouts.holders(dash.sessions, a.account.login, a.name)
    roster = await rosters.roster_of(dash.sessions, a.account.login)
    if roster:
        students, _ = gradebook.by_student(a.table, roster, held)
        waiting = [s for s in students if s.row is None or s.row.last_push is None]
        names = [f"{s.identifier} {s.name}".strip() for s in waiting]
        return {"of": len(students), "count": len(waiting), "names": names, "by": "roster"}
    pushed = {row.repo.lower() for row in a.table if row.last_push is not None}
    handed = sorted({repo for repo in held.values()}, key=str.lower)
    if not handed:
        return {"of": 0, "count": 0, "names": [], "by": None}
    waiting = [repo for repo in handed if repo.lower() not in pushed]
    return {"of": len(handed), "count": len(waiting), "names": waiting, "by": "handouts"}


@routes.get("/orgs/{org}/assignments/{assignment}/insights")
@page
async def insights_page(request: web.Request, dash: Dashboard) -> web.Response:
    a = await _assignment(request, dash)
    tests = await _tests(dash, a)
    figures, latency = _figures(a, tests)
    shown = [key for key in CHARTS if key != "regrade" or tests.previous]
    pushes = [j for j in a.jobs if j.trigger == Trigger.PUSH]
    regraded_at = [
        row.latest.graded_at for row in a.table if row.latest and row.repo in tests.previous
    ]
    return dash.render(
        request,
        "insights.html",
        account=a.account,
        name=a.name,
        base=a.base,
        due=a.due,
        cutoff=a.cutoff,
        rows=a.table,
        graded=sum(1 for row in a.table if row.latest is not None),
        late_repos=sum(1 for row in a.table if row.late),
        late_pushes=sum(1 for j in pushes if j.timing == "late"),
        closed_pushes=sum(1 for j in pushes if j.timing == "closed"),
        missing=await _missing(dash, a),
        figures={key: figures[key] for key in shown},
        svgs={key: charts.svg(figures[key]) for key in shown if not figures[key].empty},
        latency=latency,
        tests=tests,
        regraded=len(tests.previous),
        regraded_at=max(regraded_at, default=None),
        link_to_test=lambda name: link_to_test(a.base, name),
        chosen=a.config.get("chosen_score", "latest"),
    )


@routes.get("/orgs/{org}/assignments/{assignment}/insights/{chart}.csv")
@page
async def insights_csv(request: web.Request, dash: Dashboard) -> web.Response:
    a = await _assignment(request, dash)
    chart = request.match_info["chart"]
    if chart not in CHARTS:
        raise no_such("chart")
    tests = await _tests(dash, a) if chart in ("tests", "regrade") else NO_TESTS
    figures, _ = _figures(a, tests)
    filename = f"{a.account.login}-{a.name}-{chart}.csv"
    return csv_attachment(charts.csv_text(figures[chart]), filename)


@routes.get("/orgs/{org}/assignments/{assignment}/tests")
@routes.get("/orgs/{org}/assignments/{assignment}/tests/{test}")
@page
async def test_page(request: web.Request, dash: Dashboard) -> web.Response:
    """The repos whose latest graded run fails one test (hidden ones too), with that test's
    status, points and the start of its output, and each repo's score."""
    a = await _assignment(request, dash)
    tests = await _tests(dash, a)
    wanted = request.match_info.get("test")
    key = request.query.get("key", "")
    found = next(
        (
            t
            for t in tests.table
            if (wanted is not None and t.name == wanted)
            or (wanted is None and key and name_digest(t.name) == key)
        ),
        None,
    )
    if found is None:
        raise no_such("test")
    rows = {row.repo: row for row in a.table}
    latest = {repo: rows[repo].latest.submission_id for repo in found.repos}
    entries = await store.tests_named(dash.sessions, latest.values(), found.name)
    failing = []
    for repo in found.repos:
        mine = arithmetic.parse_tests(entries.get(latest[repo], []))
        worst = next((t for t in mine if t.failing), mine[0] if mine else None)
        output = (worst.output if worst else "").strip()
        failing.append(
            {
                "row": rows[repo],
                "test": worst,
                "output": arithmetic.short_label(output, OUTPUT_CHARS) if output else "",
            }
        )
    return dash.render(
        request,
        "insights_test.html",
        account=a.account,
        name=a.name,
        base=a.base,
        test=found,
        failing=failing,
        regraded=len(tests.previous),
    )


async def _repo(request: web.Request, dash: Dashboard):
    """The assignment and the repo in the path (a teacher's; 404 for a repo with no job)."""
    _, account = await dash.require_teacher(request, request.match_info["org"])
    name, repo = request.match_info["assignment"], request.match_info["repo"]
    if not ASSIGNMENT_NAME.match(name) or not REPO_NAME.match(repo):
        raise no_such("repository")
    config = await reads.assignment_config(dash.sessions, account.login, name)
    if config is None:
        raise no_such("assignment")
    runs, jobs = await store.repo_input(dash.sessions, account.login, name, repo)
    if not jobs:
        raise no_such("repository")
    return Assignment(account, name, config, runs, jobs), repo


def _attempts(a: Assignment) -> list[charts.Attempt]:
    """Each commit graded, in the order first graded: its newest grading's score."""
    first_push = {}
    for job in a.jobs:
        first_push.setdefault(job.head_sha, job.received_at)
    attempts = []
    for number, run in enumerate(gradebook.standing_runs(a.runs), start=1):
        attempts.append(
            charts.Attempt(
                number=number,
                sha=run.head_sha,
                graded_at=run.graded_at,
                score=run.score,
                max_score=run.max_score,
                late=run.late,
                job_id=run.job_id,
                gradings=sum(1 for r in a.runs if r.head_sha == run.head_sha),
                pushed_at=first_push.get(run.head_sha),
            )
        )
    return attempts


@routes.get("/orgs/{org}/assignments/{assignment}/students/{repo}")
@page
async def student_page(request: web.Request, dash: Dashboard) -> web.Response:
    a, repo = await _repo(request, dash)
    attempts = _attempts(a)
    figure = charts.attempts_figure(attempts)
    row = a.table[0] if a.table else None
    student = None
    if row is not None and row.login:
        student = await rosters.student_of(dash.sessions, a.account.login, row.login)
    scores = {r.job_id: r for r in a.runs}
    return dash.render(
        request,
        "insights_student.html",
        account=a.account,
        name=a.name,
        base=a.base,
        repo=repo,
        row=row,
        student=student,
        attempts=attempts,
        figure=figure,
        svg=None if figure.empty else charts.svg(figure),
        pushes=list(reversed(a.jobs)),
        scores=scores,
        csv_href=f"{a.base}/students/{quote(repo, safe='')}/attempts.csv",
    )


@routes.get("/orgs/{org}/assignments/{assignment}/students/{repo}/attempts.csv")
@page
async def student_csv(request: web.Request, dash: Dashboard) -> web.Response:
    a, repo = await _repo(request, dash)
    figure = charts.attempts_figure(_attempts(a))
    filename = f"{a.account.login}-{a.name}-{repo}-attempts.csv"
    return csv_attachment(charts.csv_text(figure), filename)
