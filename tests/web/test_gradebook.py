"""The gradebook's rows and CSV, the cookie codec, the sign-in's `next` and the short forms of
image ids and digests: pure functions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from web.dashboard import short_digest, short_image_id
from web.gradebook import GradedRun, JobSeen, Standing, csv_text, leaderboard, number, rows
from web.sessions import Cookies, LoginAttempt, safe_next

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def run(sid: int, repo: str, score: float | None, *, sha: str = "a", late: bool = False):
    return GradedRun(sid, 100 + sid, repo, sha * 40, score, 5.0, late, "passed", T)


def job(jid: int, repo: str, *, trigger="push", sender="alice", state="done", minutes=0):
    return JobSeen(jid, repo, state, trigger, sender, T + timedelta(minutes=minutes), "f" * 40)


def test_latest_is_what_stands_best_is_the_highest_attempts_count_commits():
    [row] = rows(
        [run(1, "hw1-a", 4, sha="a"), run(2, "hw1-a", 2, sha="b"), run(3, "hw1-a", 2, sha="b")],
        [job(1, "hw1-a"), job(2, "hw1-a", minutes=5), job(3, "hw1-a", trigger="dashboard",
                                                        sender="prof", minutes=9)],
    )  # fmt: skip
    assert row.latest.submission_id == 3 and row.best.score == 4
    assert row.attempts == 2  # a teacher's regrade of the same commit is not an attempt
    assert row.login == "alice"  # who pushed, not the teacher who re-ran
    assert row.last_push == T + timedelta(minutes=5)
    assert row.last_job_id == 3 and not row.in_flight


def test_a_repo_with_jobs_but_nothing_graded_still_has_a_row():
    [row] = rows([], [job(7, "hw1-b", state="queued")])
    assert row.latest is None and row.best is None and row.attempts == 0 and row.in_flight


def test_the_csv_keeps_spreadsheets_from_running_formulas():
    table = rows([run(1, "hw1-=cmd", 2.5, late=True)], [job(1, "hw1-=cmd", sender="-2+3")])
    [line] = list(csv.DictReader(io.StringIO(csv_text(table))))
    assert line == {
        "repo": "hw1-=cmd",
        "login": "'-2+3",
        "score": "2.5",
        "max": "5",
        "late": "yes",
        "attempts": "1",
        "graded_at": "2026-12-01T09:00:00Z",
    }


def test_numbers_are_written_as_people_write_them():
    assert [number(v) for v in (5.0, 2.5, 1 / 3, None, 0)] == ["5", "2.5", "0.3333", "", "0"]


@given(st.text(max_size=60))
def test_next_is_always_a_local_path(path):
    kept = safe_next(path)
    assert kept.startswith("/") and not kept.startswith("//") and "\\" not in kept
    assert kept == "/" or kept == path


def test_cookies_of_one_kind_are_not_taken_for_the_other():
    cookies = Cookies("s" * 40, secure=False)
    login = cookies.sign_login(LoginAttempt(state="x" * 40, next="/orgs/cs101"))
    session = cookies.sign_session("y" * 43)
    assert cookies.read_session(session) == "y" * 43
    assert cookies.read_session(login) is None
    assert cookies.read_login(session) is None
    assert cookies.read_login(login) == LoginAttempt(state="x" * 40, next="/orgs/cs101")
    other = Cookies("t" * 40, secure=False)
    assert other.read_session(session) is None  # another secret: another key
    assert cookies.read_session(cookies.sign_session("y" * 43, now=0)) is None  # long expired
    assert other.unseal(cookies.seal("ghu_token")) is None
    assert cookies.unseal(cookies.seal("ghu_token")) == "ghu_token"


def test_image_ids_and_digests_are_shortened_as_docker_shows_them():
    assert short_image_id("sha256:" + "0123456789abcdef" * 4) == "0123456789ab"
    assert short_image_id("0123456789abcdef") == "0123456789ab"
    assert short_image_id(None) == short_image_id("") == ""
    pinned = "sha256:" + "f" * 64
    for image, digest, short in (
        ("ghcr.io/cs101/hw1:2026", f"ghcr.io/cs101/hw1@{pinned}", "sha256:ffffffffffff"),
        ("localhost:5000/hw1", f"localhost:5000/hw1@{pinned}", "sha256:ffffffffffff"),
        ("grader:1", f"grader@{pinned}", "sha256:ffffffffffff"),
        (f"ghcr.io/a/b@{pinned}", f"ghcr.io/a/b@{pinned}", "sha256:ffffffffffff"),
        ("ghcr.io/a/b:1", f"mirror.example/a/b@{pinned}", "mirror.example/a/b@sha256:ffffffffffff"),
        (None, f"ghcr.io/a/b@{pinned}", "ghcr.io/a/b@sha256:ffffffffffff"),
        ("x", pinned, "sha256:ffffffffffff"),
    ):
        assert short_digest(digest, image) == short, (image, digest)
    assert short_digest(None, "x") == ""


def standing(repo: str, *entries: tuple) -> Standing:
    return Standing(
        repo,
        len(repo),
        [{"name": n, "value": v, **({"order": o} if o else {})} for n, v, o in entries],
    )


def test_a_leaderboard_ranks_by_its_first_column_high_first_then_text_then_nothing():
    board = leaderboard(
        [
            standing("b", ("Accuracy", 0.5, None), ("Time", 3.0, "asc")),
            standing("a", ("Accuracy", 0.9, None)),
            standing("c", ("Accuracy", "n/a", None)),
            standing("d", ("Time", 1.0, "asc")),
            standing("e", ("Accuracy", 0.5, None)),
        ],
        {"a": "alice"},
    )
    assert (board.columns, board.ascending) == (["Accuracy", "Time"], False)
    assert [(rank, s.repo, login) for rank, s, login, _ in board.rows] == [
        (1, "a", "alice"),
        (2, "b", ""),
        (3, "e", ""),  # a tie: by repo
        (4, "c", ""),  # text after numbers
        (5, "d", ""),  # no value in the ranked column
    ]


def test_a_leaderboard_whose_first_entry_is_asc_ranks_low_first_and_skips_junk_entries():
    board = leaderboard(
        [
            standing("slow", ("Time", 9, "asc")),
            standing("fast", ("Time", 2, "asc")),
            Standing("junk", 1, ["x", {"name": "Time", "value": True}, {"value": 3}]),
        ],
        {},
    )
    assert board.ascending
    assert [s.repo for _, s, _, _ in board.rows] == ["fast", "slow"]
    assert leaderboard([], {}).rows == []


def test_the_gradebook_by_student_ties_repos_to_the_roster_and_shows_who_is_missing():
    from ghapp.store.roster import Listed
    from web.gradebook import by_student

    table = rows(
        [run(1, "hw1-alice", 4), run(2, "hw1-team-x", 3), run(3, "hw1-old", 1)],
        [
            job(1, "hw1-alice", sender="alice"),
            job(2, "hw1-team-x", sender="bob"),
            job(3, "hw1-old", sender="zed"),
        ],
    )
    roster = [
        Listed("s1", "Alice", "A", "alice", None, None),
        Listed("s2", "Bob", "A", "bob", None, None),  # pushed to a repo not handed out to him
        Listed("s3", "Carol", "B", "carol", None, None),  # accepted, nothing pushed
        Listed("s4", "Dan", "B", "dan", None, None),  # never accepted
        Listed("s5", "Eve", "B", None, None, None),  # not linked to GitHub
    ]
    students, others = by_student(table, roster, {"alice": "hw1-alice", "carol": "hw1-carol"})
    assert [(s.identifier, s.row.repo if s.row else None, s.handed) for s in students] == [
        ("s1", "hw1-alice", None),
        ("s2", "hw1-team-x", None),
        ("s3", None, "hw1-carol"),
        ("s4", None, None),
        ("s5", None, None),
    ]
    assert [r.repo for r in others] == ["hw1-old"]


def test_a_teams_repository_shows_on_each_of_its_members_rows():
    from ghapp.store.roster import Listed
    from web.gradebook import by_student

    table = rows([run(1, "duo-owls", 4)], [job(1, "duo-owls", sender="bob")])
    roster = [
        Listed("s1", "Bob", "", "bob", None, None),
        Listed("s2", "Carol", "", "carol", None, None),
    ]
    students, others = by_student(table, roster, {"bob": "duo-owls", "carol": "duo-owls"})
    assert [s.row.repo for s in students] == ["duo-owls", "duo-owls"]
    assert others == []
