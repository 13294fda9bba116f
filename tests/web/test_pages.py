"""The pages a teacher reads, over HTTP with a seeded database: orgs, assignments, the gradebook
and its CSV, a submission with every hidden detail, the queue and its buttons, bad input."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest
from sqlalchemy import select, update

from ghapp.core.tenants import single_teacher
from ghapp.store.models import Job, JobState, RosterStudent, Submission
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from tests.web.dash import ORG, SESSION_SECRET, TEACHER, Client, signed_in_teacher


@pytest.fixture
async def teacher(sim, web):
    client = await signed_in_teacher(web, sim)
    yield client
    await client.close()


async def text_of(client: Client, path: str, status: int = 200) -> str:
    answer = await client.get(path)
    assert answer.status == status, (path, answer.status)
    return await answer.text()


async def test_the_org_page_counts_each_assignment_and_shows_config_errors_first(teacher):
    page = await text_of(teacher, f"/orgs/{ORG}")
    assert page.index("Config error in hw1-dave") < page.index("Assignments")
    assert "line 2 timeout: not a number" in page
    row = page.split('href="/orgs/cs101/assignments/hw1">hw1</a>', 1)[1].split("</tr>", 1)[0]
    # repos, graded, late, failing; due; what students see
    cells = [c.split("</td>")[0].strip() for c in row.split('<td class="num">')[1:]]
    assert cells == ["4", "2", "1", "1"]  # dave's push met the config error: no assignment
    assert "2026-11-21 00:00:00 UTC" in row and "tests" in row


async def test_the_gradebook_has_one_row_per_repo_with_latest_best_late_and_links(teacher, sim):
    page = await text_of(teacher, f"/orgs/{ORG}/assignments/hw1")
    assert page.index("The grader image could not run") < page.index("Download CSV")
    assert "the image grader:1 was not found" in page
    by_repo = page.split('<table class="gradebook">', 1)[1]
    alice = by_repo.split(">hw1-alice</a>", 1)[1].split("</tr>", 1)[0]
    assert f'href="/jobs/{teacher.ids["alice2"]}">5 / 5</a>' in alice
    assert 'class="badge late"' in alice and '<td class="num">2</td>' in alice
    assert f"{sim.url}/cs101/hw1-alice/commit/{'b' * 40}" in alice
    assert "2026-11-21 03:00:00 UTC" in alice  # the last push
    carol = by_repo.split(">hw1-carol</a>", 1)[1].split("</tr>", 1)[0]
    assert "grading" in carol and "—" in carol  # waiting, nothing graded yet
    assert "hw1-dave" in page.split("<table", 1)[0]  # its config error, above the table


async def test_the_gradebook_csv_is_ready_for_a_spreadsheet(teacher):
    answer = await teacher.get(f"/orgs/{ORG}/assignments/hw1/gradebook.csv")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="cs101-hw1-gradebook.csv"'
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [r["repo"] for r in rows] == ["hw1-alice", "hw1-bob", "hw1-carol", "hw1-erin"]
    alice, bob, carol, _ = rows
    assert alice == {
        "repo": "hw1-alice",
        "login": "alice",
        "score": "5",
        "max": "5",
        "late": "yes",
        "attempts": "2",
        "graded_at": "2026-11-21T03:01:00Z",
    }
    assert (bob["score"], bob["late"], bob["attempts"]) == ("", "no", "1")  # graded, no score
    assert (carol["score"], carol["attempts"], carol["graded_at"]) == ("", "0", "")


async def test_a_submission_shows_every_test_the_log_the_config_and_the_check_run(teacher, sim):
    page = await text_of(teacher, f"/jobs/{teacher.ids['alice1']}")
    assert "hidden: the answer" in page and "HIDDEN-ANSWER-42" in page
    assert 'class="badge vis-hidden"' in page
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in page  # escaped, in a <pre>
    assert "<script>alert" not in page
    assert "&#34;image&#34;: &#34;grader:1&#34;" in page  # the config used
    assert f'href="{sim.url}/cs101/hw1-alice/runs/77"' in page
    assert "3 / 5" in page and "1.5 s" in page
    live = await teacher.get(f"/jobs/{teacher.ids['alice1']}?part=live")
    assert live.headers["X-Pushgrade-Settled"] == "1" and "<html" not in await live.text()
    waiting = await teacher.get(f"/jobs/{teacher.ids['carol1']}?part=live")
    assert waiting.headers["X-Pushgrade-Settled"] == "0"
    assert f'action="/jobs/{teacher.ids["carol1"]}/cancel"' in await waiting.text()


async def test_a_config_error_and_a_teachers_note_show_on_the_submission(teacher, web):
    page = await text_of(teacher, f"/jobs/{teacher.ids['dave1']}")
    assert 'class="problem"' in page and "invalid config: .github/pushgrade.yml" in page
    async with web.sessions() as session, session.begin():
        job = await session.get(Job, teacher.ids["alice1"])
        job.note = "image: the org file sets image 'grader:1'; the repo file's 'evil' has no effect"
    page = await text_of(teacher, f"/jobs/{teacher.ids['alice1']}")
    assert "the repo file&#39;s &#39;evil&#39; has no effect" in page


async def test_the_queue_lists_waiting_running_and_failed_jobs_with_their_buttons(teacher):
    page = await text_of(teacher, f"/orgs/{ORG}/queue")
    assert 'class="count-waiting">1<' in page and 'class="count-failed">1<' in page
    assert f'action="/jobs/{teacher.ids["carol1"]}/cancel"' in page
    assert f'action="/jobs/{teacher.ids["failed1"]}/rerun"' in page
    assert 'data-live="/orgs/cs101/queue?part=live"' in page


async def test_re_run_and_cancel_ask_the_queue_and_come_back(teacher, web):
    token = await teacher.csrf()
    rerun = await teacher.post(f"/jobs/{teacher.ids['failed1']}/rerun", {"csrf": token})
    assert rerun.status == 303
    new_id = int(rerun.headers["Location"].removeprefix("/jobs/"))
    back = await teacher.post(
        f"/jobs/{teacher.ids['alice1']}/rerun", {"csrf": token, "next": "/orgs/cs101/queue"}
    )
    assert back.status == 303 and back.headers["Location"] == "/orgs/cs101/queue"
    cancel = await teacher.post(f"/jobs/{teacher.ids['carol1']}/cancel", {"csrf": token})
    assert cancel.status == 303
    again = await teacher.post(f"/jobs/{teacher.ids['alice1']}/cancel", {"csrf": token})
    assert again.status == 409  # it had finished
    async with web.sessions() as session:
        new = await session.get(Job, new_id)
        carol = await session.get(Job, teacher.ids["carol1"])
        reruns = (await session.execute(select(Job).where(Job.trigger == "dashboard"))).scalars()
        assert len(list(reruns)) == 2
    assert (new.trigger, new.sender, new.state, new.repo) == (
        "dashboard",
        TEACHER,
        JobState.RECEIVED,
        "hw1-erin",
    )
    assert carol.cancel_requested and carol.note == f"cancel requested by {TEACHER}"
    # The new job shows at once, waiting, with a cancel button.
    assert "received" in await text_of(teacher, f"/jobs/{new_id}")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/jobs/999999", 404),
        ("/jobs/99999999999999999999", 404),
        ("/jobs/0", 404),
        ("/jobs/-1", 404),
        ("/jobs/abc", 404),
        (f"/orgs/{ORG}/assignments/nope", 404),
        (f"/orgs/{ORG}/assignments/..%2F..%2Fetc", 404),
        (f"/orgs/{ORG}/assignments/%00/gradebook.csv", 404),
        ("/orgs/no-such-org", 403),
        ("/orgs/%3Cscript%3E", 403),
        ("/orgs/" + "x" * 300, 403),
        ("/static/../ghapp/settings.py", 404),
        ("/static/%2e%2e/dashboard.py", 404),
    ],
)
async def test_bad_input_is_a_clear_4xx(teacher, path, status):
    answer = await teacher.get(path)
    assert answer.status == status, path
    assert "<script>" not in await answer.text()


async def test_bad_posts_are_a_clear_4xx(teacher):
    token = await teacher.csrf()
    huge = await teacher.post(
        f"/jobs/{teacher.ids['alice1']}/rerun", {"csrf": token, "pad": "x" * 100_000}
    )
    assert huge.status == 413
    assert (await teacher.post("/jobs/99999/rerun", {"csrf": token})).status == 404
    assert (await teacher.post("/jobs/abc/cancel", {"csrf": token})).status == 404
    assert (await teacher.get(f"/jobs/{teacher.ids['alice1']}/rerun")).status == 405


async def test_pages_go_out_with_headers_that_keep_them_private(teacher):
    answer = await teacher.get(f"/orgs/{ORG}")
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    script = await teacher.get("/static/live.js")
    assert script.status == 200 and "X-Pushgrade-Settled" in await script.text()


async def test_without_an_oauth_client_the_dashboard_is_off(sim, tmp_path):
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'off.sqlite3'}")
    settings = dataclasses.replace(settings, workers=0, oauth_client_id="")
    async with running(settings) as started:
        client = Client(started.url, sim)
        try:
            home = await client.get("/")
            assert home.status == 200 and "not configured" in await home.text()
            for path in ("/login", "/login/callback", "/orgs/cs101", "/jobs/1", "/static/live.js"):
                assert (await client.get(path)).status == 404, path
            assert (await client.get("/healthz")).status == 200
        finally:
            await client.close()


async def test_an_org_the_operator_does_not_serve_says_so_to_its_teachers(sim, tmp_path, teacher):
    served = await text_of(teacher, f"/orgs/{ORG}")
    assert "does not serve" not in served  # the single-teacher default serves the first org
    # The same database under an operator who serves only cs202.
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'dash.sqlite3'}")
    settings = dataclasses.replace(
        settings,
        workers=0,
        session_secret=SESSION_SECRET,
        tenancy=single_teacher(("cs202",)),
    )
    async with running(settings) as other:
        client = Client(other.url, sim)
        try:
            assert (await client.sign_in(TEACHER)).status == 303
            page = await text_of(client, f"/orgs/{ORG}")
            assert f"This deployment does not serve {ORG}" in page
            assert "not served by this deployment" in await text_of(client, "/")
        finally:
            await client.close()


async def test_the_gradebook_ranks_each_repos_latest_leaderboard_and_no_other_orgs(teacher, web):
    boards = {
        "alice1": [{"name": "Time", "value": 1.0, "order": "asc"}],  # superseded by alice2
        "alice2": [
            {"name": "Time", "value": 9.5, "order": "asc"},
            {"name": "Stars", "value": "**"},
        ],
        "bob1": [{"name": "Time", "value": 3, "order": "asc"}],
        "zed1": [{"name": "Time", "value": 0.1, "order": "asc"}],  # cs202's
    }
    async with web.sessions() as session, session.begin():
        for name, board in boards.items():
            await session.execute(
                update(Submission)
                .where(Submission.job_id == teacher.ids[name])
                .values(leaderboard=board)
            )
    page = await text_of(teacher, f"/orgs/{ORG}/assignments/hw1")
    board = page.split('id="leaderboard"', 1)[1]
    assert "ranked by Time, lowest first" in board
    ranks = re.findall(
        r'<td class="num">(\d+)</td>\s*<td><a href="/jobs/(\d+)">([\w-]+)</a>', board
    )
    assert ranks == [
        ("1", str(teacher.ids["bob1"]), "hw1-bob"),
        ("2", str(teacher.ids["alice2"]), "hw1-alice"),
    ]
    alice = board.split(">hw1-alice</a>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">9.5</td><td class="num">**</td>' in alice
    assert "lab1-zed" not in page


async def test_an_assignment_without_leaderboards_shows_none(teacher):
    page = await text_of(teacher, f"/orgs/{ORG}/assignments/hw1")
    assert 'id="leaderboard"' not in page


async def test_with_a_roster_the_gradebook_lists_students_first_and_who_is_missing(teacher, web):
    async with web.sessions() as session, session.begin():
        session.add(
            RosterStudent(
                org="cs101", identifier="S-0077-DAN", identifier_key="s-0077-dan", name="Dan D"
            )
        )
    page = await text_of(teacher, f"/orgs/{ORG}/assignments/hw1")
    students = page.split('id="by-student"', 1)[1].split("</table>", 1)[0]
    alice = students.split("S-0042-ALICE", 1)[1].split("</tr>", 1)[0]
    assert "Alice Liddell" in alice and f'href="/jobs/{teacher.ids["alice2"]}">5 / 5</a>' in alice
    dan = students.split("S-0077-DAN", 1)[1].split("</tr>", 1)[0]
    assert "not linked to GitHub" in dan
    assert "1 of 2 roster students" in page
    assert page.index('id="by-student"') < page.index("By repository")
