"""The insights pages over a seeded class: what each shows matches the data (scores, pushes,
latency, per-test failures and the regrade's changes, a repo's attempts), every chart's CSV is
its numbers with formulas kept text, labels are escaped; and nobody but the org's teachers
reads any of it."""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from ghapp.store.models import Job, JobState, RosterStudent, Submission
from tests.web.dash import ORG, OTHER_TEACHER, SECRETS, STUDENT, TA, TEACHER, Client, seed

HW2 = "hw2"
BASE = f"/orgs/{ORG}/assignments/{HW2}"
# The past, whatever today is: the deadline and the cutoff have passed, the regrade too.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DUE = NOW - timedelta(days=10)
CUTOFF = DUE + timedelta(days=2)
REGRADED_AT = DUE + timedelta(days=5)
EVIL = '=HYPERLINK("http://evil.example","x")'
LONG = "<b>escaped?</b> & " + "a very long test name " * 8
# name, points, visibility; and who fails it in their final attempt (by student number)
TESTS = (
    ("compiles", 1, "visible", lambda i: False),
    ("parses input", 2, "visible", lambda i: i % 4 == 0),
    ("edge: empty list", 2, "hidden", lambda i: i % 2 == 0),
    ("performance", 3, "hidden", lambda i: i % 5 != 0),
    (EVIL, 1, "visible", lambda i: i % 10 == 3),
    (LONG, 1, "after_due_date", lambda i: i % 3 == 1),
)
MAX = sum(points for _, points, _, _ in TESTS)
ERRORED = 17  # this student's latest run errored: no tests, no score


def regraded_fails(name: str, i: int) -> bool:
    """The regrade's grader: `performance` fixed for some, `edge` broken for others."""
    final = dict((n, f) for n, _, _, f in TESTS)[name](i)
    if name == "performance" and i % 5 == 1:
        return False
    if name == "edge: empty list" and i % 10 == 1:
        return True
    return final


@dataclass
class Graded:
    sha: str
    pushed_at: datetime
    failing: set[str] | None  # None: errored
    late: bool = False

    @property
    def score(self) -> float | None:
        if self.failing is None:
            return None
        return float(sum(p for n, p, _, _ in TESTS if n not in self.failing))


@dataclass
class Pupil:
    i: int
    attempts: list[Graded] = field(default_factory=list)
    regrade: Graded | None = None  # the latest commit, graded again
    closed_push: datetime | None = None
    latency_s: float = 0.0

    @property
    def login(self) -> str:
        return f"s{self.i:02d}"

    @property
    def repo(self) -> str:
        return f"{HW2}-{self.login}"

    @property
    def latest(self) -> Graded:
        return self.regrade or self.attempts[-1]

    @property
    def best(self) -> float | None:
        standing = [*self.attempts[:-1], self.latest]
        scores = [g.score for g in standing if g.score is not None]
        return max(scores) if scores else None


def klass(n: int = 36) -> list[Pupil]:
    """A class with varied results: 1 to 3 attempts each, earlier ones worse (but one in seven
    did better before), the 23:58 rush, late pushes, pushes after the cutoff, an errored run,
    and a regrade of every repo's latest commit."""
    pupils = []
    for i in range(n):
        p = Pupil(i, latency_s=0.5 + (i % 10) * 0.5)
        count = 1 + i % 3
        for j in range(count):
            last = j == count - 1
            if last and i % 6 == 5:
                at = DUE + timedelta(hours=3, minutes=i)
            elif last and i % 6 in (0, 1, 2):
                at = DUE - timedelta(minutes=1 + i % 50)
            else:
                at = DUE - timedelta(days=3) + timedelta(hours=i % 24, minutes=10 * j)
            if last:
                failing = {name for name, _, _, f in TESTS if f(i)}
            elif i % 7 == 0:
                failing = set()
            else:
                failing = {name for name, *_ in TESTS if name != "compiles"}
            if last and i == ERRORED:
                failing = None
            p.attempts.append(Graded(f"{i:02d}{j}".ljust(40, "c"), at, failing, at > DUE))
        if p.latest.failing is not None:
            failing = {name for name, *_ in TESTS if regraded_fails(name, i)}
        else:
            failing = None
        p.regrade = Graded(p.attempts[-1].sha, p.attempts[-1].pushed_at, failing, p.latest.late)
        if i % 12 == 11:
            p.closed_push = CUTOFF + timedelta(hours=1)
        pupils.append(p)
    return pupils


def outcome(graded: Graded, i: int) -> dict:
    if graded.failing is None:
        return {"status": "errored", "error": "out_of_memory", "reason": "out of memory",
                "tests": [], "log": "Killed"}  # fmt: skip
    tests = [
        {
            "name": name,
            "status": "failed" if name in graded.failing else "passed",
            "score": 0 if name in graded.failing else points,
            "max_score": points,
            "visibility": visibility,
            "output": f"<i>expected</i> {i}" if name in graded.failing else "",
        }
        for name, points, visibility, _ in TESTS
    ]
    status = "failed" if graded.failing else "passed"
    return {"status": status, "score": graded.score, "max_score": MAX, "tests": tests,
            "log": "x" * 2000}  # fmt: skip


async def seed_class(app, sim, n: int = 36, *, roster_extra: int = 4) -> list[Pupil]:
    """`klass(n)` as cs101/hw2's jobs and submissions, and a roster of its students and
    `roster_extra` more who never pushed."""
    pupils = klass(n)
    installation = sim.world.installation_for(ORG).id
    config = {
        "image": "grader:2",
        "visibility": "tests",
        "due": DUE.isoformat(),
        "late": {"policy": "grade", "cutoff": CUTOFF.isoformat()},
        "repos": ["hw2-*"],
    }
    async with app.sessions() as session, session.begin():

        def job(p: Pupil, sha: str, at: datetime, **extra) -> Job:
            extra.setdefault("note", "")
            row = Job(
                state=JobState.DONE,
                trigger="push",
                installation_id=installation,
                owner=ORG,
                repo=p.repo,
                head_sha=sha,
                ref="refs/heads/main",
                sender=p.login,
                received_at=at,
                attempts=1,
                assignment=HW2,
                config=config,
                **extra,
            )
            session.add(row)
            return row

        graded = []
        for p in pupils:
            for g in p.attempts:
                moments = {"received": g.pushed_at.timestamp()}
                moments["accepted"] = moments["received"] + p.latency_s
                row = job(p, g.sha, g.pushed_at, timing="late" if g.late else "on_time",
                          phases=moments)  # fmt: skip
                graded.append((row, g, p))
            if p.closed_push is not None:
                job(p, "f" * 40, p.closed_push, timing="closed", note="not graded: closed")
            regrade = job(p, p.regrade.sha, REGRADED_AT, timing="late" if p.regrade.late
                          else "on_time", background=True, phases={"received": 1.0,
                          "accepted": 500.0})  # fmt: skip
            regrade.trigger, regrade.sender = "dashboard", TEACHER
            graded.append((regrade, p.regrade, p))
        await session.flush()
        for row, g, p in graded:
            session.add(
                Submission(
                    job_id=row.id,
                    owner=ORG,
                    repo=p.repo,
                    head_sha=g.sha,
                    status=outcome(g, p.i)["status"],
                    conclusion="success" if g.failing == set() else "failure",
                    score=g.score,
                    max_score=None if g.failing is None else MAX,
                    outcome=outcome(g, p.i),
                    graded_at=row.received_at + timedelta(seconds=p.latency_s),
                    late=g.late,
                )
            )
        for i in range(n + roster_extra):
            session.add(
                RosterStudent(
                    org=ORG,
                    identifier=f"ID-{i:03d}",
                    identifier_key=f"id-{i:03d}",
                    name=f"Student {i}",
                    section="Lab A",
                    login=f"s{i:02d}",
                )
            )
    return pupils


def expected_failures(pupils: list[Pupil]) -> list[tuple[str, int, int]]:
    """(test, failing, graded) from the data, most failed first, as the page must order them."""
    ran = [p for p in pupils if p.latest.failing is not None]
    table = [
        (name, sum(1 for p in ran if name in p.latest.failing), len(ran)) for name, *_ in TESTS
    ]
    return sorted(table, key=lambda t: (-t[1] / t[2], -t[1], t[0]))


def score_counts(scores) -> list[int]:
    counts = [0] * (MAX + 1)
    for score in scores:
        if score is not None:
            counts[int(score)] += 1
    return counts


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
async def pupils(teacher, web_db, sim):
    return await seed_class(web_db, sim)


async def test_the_insights_page_shows_the_class_as_the_data_has_it(teacher, pupils):
    answer = await teacher.get(f"{BASE}/insights")
    assert answer.status == 200
    page = await answer.text()
    assert f'<strong class="n-graded">{len(pupils)}</strong> of {len(pupils)} repos' in page
    # The roster: 36 students with a repo, 4 without, and alice (of hw1, not hw2).
    assert '<strong class="n-missing">5</strong> of 41 roster students' in page
    assert "ID-036 Student 36" in page and "S-0042-ALICE Alice Liddell" in page
    late = sum(1 for p in pupils for g in p.attempts if g.late)
    closed = sum(1 for p in pupils if p.closed_push)
    assert (late, closed) == (6, 3)
    assert f'<strong class="n-late">{late}</strong> late pushes' in page
    assert f'<strong class="n-closed">{closed}</strong> pushes refused' in page
    # Latency: the students' pushes only (the regrade's 499 s are left out).
    took = [p.latency_s for p in pupils for _ in p.attempts]
    median = statistics.median(took)
    assert f'<strong class="median">{median:.1f} s</strong>' in page
    # Per test: order and counts; the regrade's before and after.
    rows = re.findall(
        r'<tr class="test">\s*<td class="name"><a href="([^"]+)">(.*?)</a></td>.*?'
        r'<td class="num failing">(\d+)</td>\s*<td class="num ran">(\d+)</td>',
        page,
        re.DOTALL,
    )
    assert [(int(f), int(r)) for _, _, f, r in rows] == [
        (f, r) for _, f, r in expected_failures(pupils)
    ]
    assert rows[0][1] == "edge: empty list" and rows[0][2] == "22"  # broken by the regrade
    assert '<strong class="n-regraded">36</strong> repos were graded again' in page
    # Labels are escaped in the table and in the SVG; a long name is cut, whole in its title.
    assert "<b>escaped?</b>" not in page
    assert "&lt;b&gt;escaped?&lt;/b&gt; &amp; a very" in page
    assert 'title="&lt;b&gt;escaped?&lt;/b&gt; &amp; a very long' in page
    assert "<script" not in page.split("<main>")[1]  # pygal's script is gone, and no style
    assert "<style" not in page and ' style="' not in page


async def test_the_score_histogram_counts_latest_and_best(teacher, pupils):
    page = await (await teacher.get(f"{BASE}/insights")).text()
    svg = page.split('id="chart-scores"')[1].split("</svg>")[0]
    bars = {}
    for serie in ("serie-0", "serie-1"):
        part = svg.split(f'class="series {serie}')[1].split('class="series')[0]
        bars[serie] = [int(v) for v in re.findall(r'<desc class="value">(\d+)</desc>', part)]
    assert bars["serie-0"] == score_counts(p.latest.score for p in pupils)
    assert bars["serie-1"] == score_counts(p.best for p in pupils)
    assert bars["serie-0"] != bars["serie-1"]  # one in seven did better before
    scores = csv_rows(await (await teacher.get(f"{BASE}/insights/scores.csv")).text())
    assert scores[0] == ["score", "latest", "best"]
    assert [int(r[1]) for r in scores[1:]] == bars["serie-0"]


async def test_every_chart_has_its_numbers_as_csv(teacher, pupils):
    for chart in ("scores", "pushes", "latency", "tests", "regrade"):
        answer = await teacher.get(f"{BASE}/insights/{chart}.csv")
        assert answer.status == 200, chart
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert answer.headers["Content-Disposition"] == (
            f'attachment; filename="{ORG}-{HW2}-{chart}.csv"'
        )
        body = await answer.read()
        assert body.count(b"\r\n") == body.count(b"\n") > 1, chart
    pushes = csv_rows(await (await teacher.get(f"{BASE}/insights/pushes.csv")).text())
    assert pushes[0] == ["from", "on time", "late", "closed (not graded)"]
    totals = [sum(int(r[k]) for r in pushes[1:]) for k in (1, 2, 3)]
    on_time = sum(1 for p in pupils for g in p.attempts if not g.late)
    assert totals == [on_time, 6, 3]
    assert datetime.fromisoformat(pushes[1][0]) <= DUE - timedelta(days=3)
    # The deadline starts a bin.
    assert DUE in [datetime.fromisoformat(r[0]) for r in pushes[1:]]
    tests = csv_rows(await (await teacher.get(f"{BASE}/insights/tests.csv")).text())
    assert tests[0] == [
        "test", "visibility", "failing", "graded", "failing_percent",
        "failing_before_regrade", "graded_before_regrade",
    ]  # fmt: skip
    evil = next(r for r in tests if "HYPERLINK" in r[0])
    assert evil[0] == "'" + EVIL  # a formula stays text
    by_name = {r[0]: r for r in tests[1:]}
    assert by_name["performance"][2:] == ["20", "35", "57.1", "27", "35"]
    regrade = csv_rows(await (await teacher.get(f"{BASE}/insights/regrade.csv")).text())
    changed = {r[0]: r[1:] for r in regrade[1:]}
    assert changed["performance"] == ["27", "20", "0", "7"]
    assert changed["edge: empty list"] == ["18", "22", "4", "0"]
    latency = csv_rows(await (await teacher.get(f"{BASE}/insights/latency.csv")).text())
    assert sum(int(r[1]) for r in latency[1:]) == sum(len(p.attempts) for p in pupils)
    assert (await teacher.get(f"{BASE}/insights/nope.csv")).status == 404


async def test_a_tests_page_lists_the_repos_failing_it(teacher, pupils):
    answer = await teacher.get(f"{BASE}/tests/{quote('edge: empty list', safe='')}")
    assert answer.status == 200
    page = await answer.text()
    failing = sorted(
        (p.repo for p in pupils if p.latest.failing and "edge: empty list" in p.latest.failing),
        key=str.lower,
    )
    assert re.findall(r'<td class="repo"><a href="[^"]+">([^<]+)</a>', page) == failing
    assert '<strong class="n-failing">22</strong> of <span class="n-ran">35</span>' in page
    assert "18 before the regrade" in page
    assert "&lt;i&gt;expected&lt;/i&gt; 0" in page  # its output, escaped
    # The links the insights page gives reach every test, whatever its name.
    insights = await (await teacher.get(f"{BASE}/insights")).text()
    links = re.findall(r'<td class="name"><a href="([^"]+)">', insights)
    assert len(links) == len(TESTS) * 2  # the tests table, and the regrade's
    for link in links:
        assert (await teacher.get(link.replace("&amp;", "&"))).status == 200, link
    assert (await teacher.get(f"{BASE}/tests/no%20such%20test")).status == 404
    assert (await teacher.get(f"{BASE}/tests?key=0123")).status == 404


async def test_a_repos_page_shows_its_attempts_and_pushes(teacher, pupils):
    p = pupils[5]  # three attempts, the last one late; its latest commit regraded
    assert len(p.attempts) == 3
    answer = await teacher.get(f"{BASE}/students/{p.repo}")
    assert answer.status == 200
    page = await answer.text()
    assert "Student 5 (ID-005, Lab A)" in page
    scores = re.findall(r'<td class="num score"><a href="/jobs/\d+">([^<]+)</a>', page)
    expected = [*(g.score for g in p.attempts[:-1]), p.latest.score]
    assert scores == [f"{s:g} / {MAX}" for s in expected]
    assert page.count('<tr class="push">') == len(p.attempts) + 1  # and the regrade
    assert "graded 2 times" in page
    svg = page.split('id="chart-attempts"')[1].split("</svg>")[0]
    dots = "".join(
        part.split('class="series')[0] for part in svg.split('class="series serie-0')[1:]
    )
    assert re.findall(r'<desc class="value">([\d.]+)</desc>', dots) == [f"{s:g}" for s in expected]
    answer = await teacher.get(f"{BASE}/students/{p.repo}/attempts.csv")
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="{ORG}-{HW2}-{p.repo}-attempts.csv"'
    )
    lines = csv_rows(await answer.text())
    assert lines[0][:5] == ["attempt", "commit", "pushed_at", "graded_at", "score"]
    assert [line[4] for line in lines[1:]] == [f"{s:g}" for s in expected]
    assert [line[6] for line in lines[1:]] == ["no", "no", "yes"]
    assert lines[3][2] == p.attempts[-1].pushed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in ("hw2-nobody", "..", "bad%2Fname", "x" * 101):
        assert (await teacher.get(f"{BASE}/students/{path}")).status == 404, path
    assert (await teacher.get(f"/orgs/{ORG}/assignments/nope/students/{p.repo}")).status == 404
    assert (await teacher.get(f"/orgs/{ORG}/assignments/nope/insights")).status == 404


async def test_a_page_reads_only_the_latest_runs_tests(teacher, pupils, web_db):
    """An outcome the page cannot read (hand-edited, of an older pushgrade) is left out, never a
    500; and the hw1 of `seed` (its own tests) is not mixed into hw2."""
    async with web_db.sessions() as session, session.begin():
        row = await session.scalar(
            select(Submission).where(Submission.repo == pupils[0].repo).order_by(
                Submission.id.desc()).limit(1)
        )  # fmt: skip
        row.outcome = {"status": "failed", "tests": [{"name": 3}, "x", {"status": "failed"}]}
    page = await (await teacher.get(f"{BASE}/insights")).text()
    assert "hidden: the answer" not in page
    assert "2 repos&#39; latest run reported no tests" in page
    hw1 = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1/insights")).text()
    assert "hidden: the answer" in hw1 and "performance" not in hw1


ANONYMOUS = None


def insight_pages() -> list[str]:
    return [
        f"{BASE}/insights",
        *(f"{BASE}/insights/{c}.csv" for c in ("scores", "pushes", "latency", "tests", "regrade")),
        f"{BASE}/tests/performance",
        f"{BASE}/tests?key=0123",
        f"{BASE}/students/hw2-s01",
        f"{BASE}/students/hw2-s01/attempts.csv",
        f"/orgs/{ORG}/assignments/hw1/insights",
        f"/orgs/{ORG}/assignments/hw1/students/hw1-alice",
        f"/orgs/{ORG}/assignments/nope/insights",  # whether it exists is not theirs to learn
        f"/orgs/{ORG}/assignments/nope/insights/scores.csv",
        f"{BASE}/students/hw2-nobody",
    ]


@pytest.mark.parametrize("login", [ANONYMOUS, STUDENT, OTHER_TEACHER])
async def test_nobody_but_the_orgs_teachers_reads_any_insight(sim, web, login):
    await seed(web, sim)
    await seed_class(web, sim, n=6)
    client = Client(web.url, sim)
    if login is not None:
        assert (await client.sign_in(login)).status == 303
    try:
        for path in insight_pages():
            answer = await client.get(path)
            body = await answer.text()
            if login is ANONYMOUS:
                assert answer.status == 303, path
                assert answer.headers["Location"].startswith("/login?next="), path
            else:
                assert answer.status == 403, path
                assert login in body
            for secret in (*SECRETS, "hw2-s01", "Student 1", "performance", "ID-001"):
                assert secret not in body, (path, secret)
            assert "text/csv" not in answer.headers.get("Content-Type", "")
    finally:
        await client.close()


@pytest.mark.parametrize("login", [TEACHER, TA])  # an owner, a member of the teachers' team
async def test_the_orgs_teachers_read_them_and_only_their_orgs(sim, web, login):
    await seed(web, sim)
    await seed_class(web, sim, n=6)
    client = Client(web.url, sim)
    assert (await client.sign_in(login)).status == 303
    try:
        for path in insight_pages()[:-3]:
            assert (await client.get(path.replace("?key=0123", "/compiles"))).status == 200, path
        assert (await client.get("/orgs/cs202/assignments/lab1/insights")).status == 403
        assert (await client.get("/orgs/cs202/assignments/lab1/students/lab1-zed")).status == 403
    finally:
        await client.close()
    other = Client(web.url, sim)
    assert (await other.sign_in(OTHER_TEACHER)).status == 303
    try:
        page = await (await other.get("/orgs/cs202/assignments/lab1/insights")).text()
        assert "lab1-zed" in page and "hw2-s01" not in page
    finally:
        await other.close()


async def test_the_pages_log_no_one_s_name(sim, web, caplog):
    await seed_class(web, sim, n=6)
    client = Client(web.url, sim)
    assert (await client.sign_in(TEACHER)).status == 303
    try:
        with caplog.at_level("DEBUG"):
            for path in insight_pages()[:-3]:
                await client.get(path)
    finally:
        await client.close()
    assert "Student 1" not in caplog.text and "ID-001" not in caplog.text
    async with web.sessions() as session:  # nothing was written by reading
        assert (
            await session.scalar(select(func.count()).select_from(Job)) == 12 + 6
        )  # pushes, regrades


async def test_tests_are_read_in_the_database_and_kept_once_read(db_sessions):
    """On both backends: only well-formed tests come out (never an output or a log), and a
    submission read once is not read again (a stored outcome never changes)."""
    from ghapp.core.insights import TestSeen, tests_by_submission
    from ghapp.store import insights as store

    tests = [
        {"name": "ok", "status": "passed", "visibility": "hidden", "output": "SECRET-OUT"},
        {"name": 3, "status": "failed"},
        {"name": "no status"},
        "not an object",
        {"name": "vis", "status": "failed", "visibility": 7},
    ]
    async with db_sessions() as session, session.begin():
        for stored in (tests, {"not": "a list"}, "nope"):
            job = Job(state="done", trigger="push", installation_id=1, owner=ORG, repo="hw2-x",
                      head_sha="a" * 40, assignment=HW2, note="")  # fmt: skip
            session.add(job)
            await session.flush()
            outcome = {"status": "failed", "tests": stored, "log": "SECRET-LOG"}
            session.add(
                Submission(job_id=job.id, owner=ORG, repo="hw2-x", head_sha="a" * 40,
                           status="failed", conclusion="failure", outcome=outcome)
            )  # fmt: skip
    found = await store.test_statuses(db_sessions, [1, 2, 3])
    assert "SECRET" not in repr(found)
    assert tests_by_submission(found) == {
        1: [TestSeen("ok", "passed", "hidden"), TestSeen("vis", "failed", "visible")]
    }
    async with db_sessions() as session, session.begin():
        (await session.get(Submission, 1)).outcome = {"status": "passed", "tests": []}
    assert await store.test_statuses(db_sessions, [1, 2, 3]) == found  # kept, not read again
    assert await store.tests_named(db_sessions, [1, 2], "ok") == {}  # read afresh: the edit
