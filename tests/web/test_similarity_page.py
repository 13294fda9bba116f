"""An assignment's similarity page, a pair's fragments side by side, its CSV and its "Refresh
now" button, on SQLite and on PostgreSQL; and who may see any of it: the org's teachers, never
anonymous visitors, students, or another org's teacher (not a byte of the report)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from ghapp.core.similarity import Fragment, Pair
from ghapp.store import similarity as reports
from ghapp.store.models import SimilarityPair, SimilarityReport
from tests.web.dash import ORG, OTHER, OTHER_TEACHER, STUDENT, TA, TEACHER, Client, seed

HW1 = f"/orgs/{ORG}/assignments/hw1"
PAGE = f"{HW1}/similarity"
# What only cs101's teachers may read: the students' code and who is paired with whom.
FRAGMENT_A = "def add(a, b):\n    return a + b  # <script>alert('a')</script>"
FRAGMENT_B = "def plus(x, y):\n    return x + y  # SECRET-FRAGMENT-B & co"
REPORT_SECRETS = ("SECRET-FRAGMENT-B", "alert(", "hw1-alice", "hw1-bob", "-hw1-carol")


def fragment(**changes) -> Fragment:
    values = dict(
        path_a="calc.py", first_a=3, last_a=4, text_a=FRAGMENT_A,
        path_b="src/calc.py", first_b=10, last_b=11, text_b=FRAGMENT_B, tokens=120,
    )  # fmt: skip
    return Fragment(**{**values, **changes})


async def computed(app, org: str, assignment: str, pairs, commits) -> int:
    """A report of `org`/`assignment` as a worker stores one; its id."""
    await reports.request_refresh(app.sessions, org, assignment, by="test")
    claimed = await reports.claim_due(app.sessions, worker="w", lease_s=60)
    assert claimed is not None and claimed.assignment == assignment
    done = reports.Computed(
        commits,
        "hw1-template",
        "f" * 40,
        len(commits),
        0.31,
        pairs,
        [["hw1-erin", "no source files"]],
    )
    assert await reports.save(app.sessions, claimed, worker="w", computed=done)
    return claimed.id


async def hw1_report(app) -> list[int]:
    """cs101/hw1: alice and bob alike (96% / 94%), carol's repo (named to look like a
    formula) and bob a little less; the pairs' ids, most similar first."""
    commits = {"hw1-alice": "a" * 40, "hw1-bob": "b" * 40, "-hw1-carol": "c" * 40}
    pairs = [
        Pair("hw1-alice", "hw1-bob", 0.96, 0.94, 300, (fragment(), fragment(first_a=20))),
        Pair("-hw1-carol", "hw1-bob", 0.71, 0.65, 150, (fragment(path_a="main.py"),)),
    ]
    report_id = await computed(app, ORG, "hw1", pairs, commits)
    async with app.sessions() as session:
        found = await session.scalars(
            select(SimilarityPair.id)
            .where(SimilarityPair.report_id == report_id)
            .order_by(SimilarityPair.rank)
        )
        return list(found)


async def test_the_report_lists_the_most_similar_pairs_each_way(teacher, web_db):
    first, second = await hw1_report(web_db)
    answer = await teacher.get(PAGE)
    page = await answer.text()
    assert answer.status == 200
    assert "from the latest graded commit of <strong>3</strong> submissions" in page
    assert "hw1-template</a> left out" in page
    assert page.index("hw1-alice") < page.index("-hw1-carol")  # most similar first
    assert "96%" in page and "94%" in page and "71%" in page and "65%" in page
    assert f'href="{PAGE}/{first}"' in page and f'href="{PAGE}/{second}"' in page
    assert f'href="{PAGE}.csv"' in page
    assert f'action="{PAGE}/refresh"' in page and 'name="csrf"' in page
    assert "up to date" in page and "hw1-erin: no source files" in page
    assert "SECRET-FRAGMENT-B" not in page  # the list shows who, the pair page what


async def test_a_pair_shows_its_fragments_side_by_side_escaped(teacher, web_db):
    first, _ = await hw1_report(web_db)
    answer = await teacher.get(f"{PAGE}/{first}")
    page = await answer.text()
    assert answer.status == 200
    assert page.count('class="side-by-side"') == 2
    assert "&lt;script&gt;alert(&#39;a&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "SECRET-FRAGMENT-B &amp; co" in page
    assert "calc.py</a>, lines 3\u20134" in page and "src/calc.py</a>, lines 10\u201311" in page
    assert f"/{ORG}/hw1-bob/blob/{'b' * 40}/src/calc.py#L10-L11" in page
    assert "96% of <strong>hw1-alice</strong>" in page


async def test_the_csv_has_each_pair_and_keeps_formulas_from_running(teacher, web_db):
    await hw1_report(web_db)
    answer = await teacher.get(f"{PAGE}.csv")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert "cs101-hw1-similarity.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await answer.text())))
    assert rows[0][:6] == ["rank", "repo_a", "repo_b", "a_in_b_percent", "b_in_a_percent",
                           "matched_characters"]  # fmt: skip
    assert rows[1][:7] == ["1", "hw1-alice", "hw1-bob", "96", "94", "300", "a" * 40]
    assert rows[2][:3] == ["2", "'-hw1-carol", "hw1-bob"]
    assert len(rows) == 3


async def test_refresh_now_asks_the_background_work_and_computes_nothing(teacher, web_db):
    await hw1_report(web_db)
    for form in ({}, {"csrf": "guess"}):
        answer = await teacher.post(f"{PAGE}/refresh", form)
        assert answer.status == 403 and "reload the page" in await answer.text()
    answer = await teacher.post(f"{PAGE}/refresh", {"csrf": await teacher.csrf()})
    assert answer.status == 303 and answer.headers["Location"] == f"{PAGE}?asked=1"
    async with web_db.sessions() as session:
        report = await session.scalar(select(SimilarityReport))
        assert report.requested_by == TEACHER and report.requested_at is not None
        assert report.lease_owner is None  # nobody computes it in the request
        assert await session.scalar(select(func.count()).select_from(SimilarityPair)) == 2
    page = await (await teacher.get(answer.headers["Location"])).text()
    assert "Refresh asked." in page and "a refresh is pending" in page
    assert "hw1-alice" in page  # the last report stays until the new one is there


async def test_before_any_report_the_page_says_when_there_will_be_one(teacher, web_db):
    page = await (await teacher.get(PAGE)).text()
    assert "No report yet" in page and "Refresh now" in page
    csv_text = await (await teacher.get(f"{PAGE}.csv")).text()
    assert csv_text.splitlines() == [",".join(reports_columns())]


def reports_columns() -> tuple[str, ...]:
    from web.similarity import CSV_COLUMNS

    return CSV_COLUMNS


async def test_unknown_assignments_and_pairs_of_other_reports_are_not_found(sim, teacher, web_db):
    first, _ = await hw1_report(web_db)
    # cs202's lab1 has a report too; its pair is not hw1's, whatever id is in the path.
    zed = Pair("lab1-zed", "lab1-yan", 0.99, 0.99, 400, (fragment(text_a="ZED-CODE"),))
    other = await computed(
        web_db, OTHER, "lab1", [zed], {"lab1-zed": "9" * 40, "lab1-yan": "8" * 40}
    )
    async with web_db.sessions() as session:
        zed_id = await session.scalar(
            select(SimilarityPair.id).where(SimilarityPair.report_id == other)
        )
    for path in (
        f"{HW1}x/similarity",
        f"/orgs/{ORG}/assignments/..%2F/similarity",
        f"{PAGE}/{zed_id}",
        f"{PAGE}/0",
        f"{PAGE}/{first}0",
        f"{PAGE}/99999999999999999999",
        f"{PAGE}/-1",
        f"{PAGE}/refresh",
    ):
        answer = await teacher.get(path)
        assert answer.status == 404, path
        assert "ZED-CODE" not in await answer.text()
    assert (await teacher.get(f"/orgs/{OTHER}/assignments/lab1/similarity")).status == 403


@pytest.fixture
async def ids(sim, web):
    await seed(web, sim)
    return await hw1_report(web)


def report_pages(ids: list[int]) -> list[str]:
    return [PAGE, f"{PAGE}/{ids[0]}", f"{PAGE}/{ids[1]}", f"{PAGE}.csv", f"{HW1}x/similarity"]


@pytest.mark.parametrize("login", [None, STUDENT, OTHER_TEACHER])
async def test_nobody_but_the_orgs_teachers_reads_a_byte_of_it(sim, web, ids, login):
    client = Client(web.url, sim)
    try:
        if login is not None:
            assert (await client.sign_in(login)).status == 303
        for path in report_pages(ids):
            answer = await client.get(path)
            body = await answer.text()
            if login is None:
                assert answer.status == 303, path
                assert answer.headers["Location"].startswith("/login?next="), path
            else:
                assert answer.status == 403, path  # an unknown assignment too: not theirs
                assert login in body
            for secret in REPORT_SECRETS:
                assert secret not in body, (path, secret)
            assert "text/csv" not in answer.headers.get("Content-Type", "")
        answer = await client.post(f"{PAGE}/refresh", {"csrf": "guess"})
        assert answer.status == (401 if login is None else 403)
        async with web.sessions() as session:
            report = await session.scalar(select(SimilarityReport))
            assert report.requested_at is None  # the press was refused, nothing asked
    finally:
        await client.close()


@pytest.mark.parametrize("login", [TEACHER, TA])
async def test_an_owner_and_the_teachers_team_read_it_all(sim, web, ids, login):
    client = Client(web.url, sim)
    try:
        assert (await client.sign_in(login)).status == 303
        for path in report_pages(ids)[:4]:
            assert (await client.get(path)).status == 200, path
        answer = await client.post(f"{PAGE}/refresh", {"csrf": await client.csrf()})
        assert answer.status == 303
    finally:
        await client.close()
