"""The teacher's policy end to end: branches, deadlines and late pushes, the daily limit,
coalescing of waiting pushes, and the reveal when the deadline passes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ghapp.store.models import JobState, Submission
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.e2e import EXAMPLE, ORG, new_repo, org_file, settings_for, settled_jobs

pytestmark = pytest.mark.docker

PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()
FAILING = (EXAMPLE / "submission-fail" / "calc.py").read_text()


def moment(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


async def submissions(app, repo: str) -> list[Submission]:
    """The repo's graded runs, once its jobs have settled (a submission is stored just after
    its check run completes)."""
    await settled_jobs(app, repo)
    async with app.sessions() as session:
        found = await session.execute(
            select(Submission).where(Submission.repo == repo).order_by(Submission.id)
        )
        return list(found.scalars())


async def completed(sim, repo: str, sha: str) -> dict:
    return await sim.wait_for_check_run(ORG, repo, sha, status="completed", timeout=120)


# -- branches ------------------------------------------------------------------------------


async def test_only_the_default_branch_is_graded_unless_branches_say_more(sim, app, example_grader):
    new_repo(sim, "hw1-bo", example_grader)
    side = await sim.push(ORG, "hw1-bo", {"calc.py": PASSING}, branch="experiment")
    run = await completed(sim, "hw1-bo", side)
    assert run["conclusion"] == "neutral"
    assert run["output"]["title"] == "Not graded: this branch is not graded"
    assert "`experiment`" in run["output"]["summary"] and "`main`" in run["output"]["summary"]
    new_repo(sim, "hw1-cy", example_grader, branches='[main, "feature/*"]')
    feature = await sim.push(ORG, "hw1-cy", {"calc.py": PASSING}, branch="feature/parser")
    assert (await completed(sim, "hw1-cy", feature))["conclusion"] == "success"
    assert await submissions(app, "hw1-bo") == []


# -- deadlines -----------------------------------------------------------------------------


async def test_a_late_push_is_graded_and_flagged_under_the_grade_policy(sim, app, example_grader):
    new_repo(sim, "hw1-dee", example_grader, due=moment(-timedelta(hours=2)))
    sha = await sim.push(ORG, "hw1-dee", {"calc.py": PASSING})
    run = await completed(sim, "hw1-dee", sha)
    assert run["conclusion"] == "success"
    assert run["output"]["title"].startswith("Late: 5 / 5")
    assert ", 2 hours after the deadline" in run["output"]["summary"]  # received at …
    [graded] = await submissions(app, "hw1-dee")
    assert (graded.late, graded.penalty, graded.score) == (True, 0.0, 5.0)


async def test_a_late_push_loses_the_penalty_for_each_day_or_part(sim, app, example_grader):
    late = "{policy: penalty, penalty_per_day: 0.25}"
    new_repo(sim, "hw1-eve", example_grader, due=moment(-timedelta(days=1, hours=1)), late=late)
    sha = await sim.push(ORG, "hw1-eve", {"calc.py": PASSING})
    run = await completed(sim, "hw1-eve", sha)
    # A day and an hour late: two days begun, half the score.
    assert run["output"]["title"].startswith("Late: 2.5 / 5 after the late penalty")
    assert "A late penalty of 50 % applies" in run["output"]["summary"]
    [graded] = await submissions(app, "hw1-eve")
    assert (graded.late, graded.penalty, graded.score) == (True, 0.5, 2.5)
    assert graded.outcome["score"] == 5.0  # the stored Outcome keeps what the grader gave


@pytest.mark.parametrize(
    ("late", "why"),
    [
        ("{policy: ignore}", "Late pushes are not graded for this assignment"),
        ("{policy: grade, cutoff: CUTOFF}", "after the last moment late pushes were accepted"),
    ],
)
async def test_a_push_past_what_the_policy_grades_gets_a_neutral_run_and_no_grading(
    sim, app, example_grader, late, why
):
    due, cutoff = moment(-timedelta(hours=3)), moment(-timedelta(hours=1))
    new_repo(sim, "hw1-fay", example_grader, due=due, late=late.replace("CUTOFF", cutoff))
    sha = await sim.push(ORG, "hw1-fay", {"calc.py": PASSING})
    run = await completed(sim, "hw1-fay", sha)
    assert run["conclusion"] == "neutral"
    assert run["output"]["title"] == "Not graded: after the deadline"
    assert why in run["output"]["summary"]
    assert "in_progress" not in [body.get("status") for body in sim.check_run_history(run["id"])]
    [job] = await settled_jobs(app, "hw1-fay")
    assert job.state == JobState.DONE and job.timing == "closed"
    assert await submissions(app, "hw1-fay") == []


async def test_a_push_just_before_the_deadline_is_on_time(sim, app, example_grader):
    new_repo(sim, "hw1-gus", example_grader, due=moment(timedelta(minutes=10)))
    sha = await sim.push(ORG, "hw1-gus", {"calc.py": PASSING})
    run = await completed(sim, "hw1-gus", sha)
    assert run["output"]["title"] == "5 / 5 — all 5 tests passed"
    [job] = await settled_jobs(app, "hw1-gus")
    assert job.timing == "on_time"


# -- the daily limit -----------------------------------------------------------------------


async def test_past_the_daily_limit_a_push_waits_for_tomorrow_unless_a_teacher_reruns_it(
    sim, app, example_grader
):
    sim.add_member(ORG, "prof", role="admin")
    sim.add_member(ORG, "student")
    new_repo(sim, "hw1-hal", example_grader, max_graded_per_day=2)
    for attempt in range(2):
        sha = await sim.push(ORG, "hw1-hal", {"calc.py": FAILING + f"# {attempt}\n"})
        assert (await completed(sim, "hw1-hal", sha))["conclusion"] == "failure"
    third = await sim.push(ORG, "hw1-hal", {"calc.py": PASSING})
    refused = await completed(sim, "hw1-hal", third)
    assert refused["conclusion"] == "neutral"
    assert refused["output"]["title"] == "Not graded: daily limit reached"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 00:00 UTC")
    assert f"Grading resumes at {tomorrow}" in refused["output"]["summary"]
    # A student's re-run counts too, and is refused again.
    await sim.rerequest_check_run(refused["id"], sender="student")
    await settled_jobs(app, "hw1-hal")
    runs = sim.check_runs(ORG, "hw1-hal", third)
    assert [r["conclusion"] for r in runs] == ["neutral", "neutral"]
    # A teacher's re-run is not counted: the commit is graded.
    await sim.press_action(refused["id"], "rerun", sender="prof")
    for _ in range(240):
        runs = sim.check_runs(ORG, "hw1-hal", third)
        if len(runs) == 3 and runs[-1]["status"] == "completed":
            break
        await asyncio.sleep(0.25)
    assert runs[-1]["conclusion"] == "success"
    jobs = await settled_jobs(app, "hw1-hal")
    assert [job.counted for job in jobs] == [True, True, False, False, False]


# -- coalescing ----------------------------------------------------------------------------


@pytest.fixture
async def one_slot_app(sim, tmp_path, sandbox):
    settings = dataclasses.replace(settings_for(sim, tmp_path), workers=1)
    async with running(settings, sandbox=sandbox, poll_s=0.5) as started:
        sim.webhook_url = f"{started.url}/webhooks/github"
        yield started


async def test_of_five_quick_pushes_waiting_together_only_the_newest_is_graded(
    sim, one_slot_app, example_grader, build_image
):
    app = one_slot_app
    busy = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "sleep 5; echo graded"]\n')
    new_repo(sim, "hw0-busy", busy)
    new_repo(sim, "hw1-ida", example_grader)
    blocker = await sim.push(ORG, "hw0-busy", {"x": "1"})
    await sim.wait_for_check_run(ORG, "hw0-busy", blocker, status="in_progress", timeout=60)
    # While the only grading slot is busy, five pushes arrive and wait in the queue.
    shas = [await sim.push(ORG, "hw1-ida", {"calc.py": FAILING + f"# try {i}\n"}) for i in range(4)]
    shas.append(await sim.push(ORG, "hw1-ida", {"calc.py": PASSING}))
    runs = [await completed(sim, "hw1-ida", sha) for sha in shas]
    assert [run["conclusion"] for run in runs] == ["skipped"] * 4 + ["success"]
    for run in runs[:4]:
        assert run["output"]["title"] == f"Superseded by {shas[-1][:7]}"
    jobs = await settled_jobs(app, "hw1-ida")
    assert [job.state for job in jobs] == [JobState.SKIPPED] * 4 + [JobState.DONE]
    assert all(f"superseded by {shas[-1]}" == job.note for job in jobs[:4])
    assert [s.head_sha for s in await submissions(app, "hw1-ida")] == [shas[-1]]


# -- the reveal ----------------------------------------------------------------------------


async def test_runs_graded_before_the_deadline_are_revealed_at_after_due_once_it_passes(
    sim, app, example_grader
):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    new_repo(
        sim, "hw1-jo", example_grader, due=due.isoformat(), visibility="score", after_due="full"
    )
    sha = await sim.push(ORG, "hw1-jo", {"calc.py": FAILING})
    run = await completed(sim, "hw1-jo", sha)
    assert datetime.now(UTC) < due, "graded too slowly for this test's deadline"
    assert run["output"]["title"] == "3 / 5" and not run["output"].get("text")
    [graded] = await submissions(app, "hw1-jo")
    assert graded.level == "score" and graded.reveal_at == due
    # Once the deadline passes the same check run shows everything: output and annotations.
    for _ in range(120):
        run = sim.check_run(run["id"])
        if run["output"].get("text"):
            break
        await asyncio.sleep(0.25)
    assert "assert" in run["output"]["text"]
    assert run["output"]["title"] != "3 / 5" and "3 / 5" in run["output"]["title"]
    assert len(sim.check_runs(ORG, "hw1-jo", sha)) == 1
    await asyncio.sleep(2)  # several more reveal polls: nothing is sent twice
    patches = [body for body in sim.check_run_history(run["id"]) if "completed_at" not in body]
    assert len([b for b in patches if b.get("status") == "completed"]) == 1
    [graded] = await submissions(app, "hw1-jo")
    assert graded.level == "full" and graded.revealed_at is not None


async def test_a_push_graded_after_the_reveal_is_shown_at_the_after_due_level(
    sim, app, example_grader
):
    new_repo(
        sim,
        "hw1-kai",
        example_grader,
        due=moment(-timedelta(minutes=5)),
        visibility="hidden",
        after_due="tests",
    )
    sha = await sim.push(ORG, "hw1-kai", {"calc.py": FAILING})
    run = await completed(sim, "hw1-kai", sha)
    assert run["output"]["title"] == "Late: 3 / 5 — 2 tests failing"
    [graded] = await submissions(app, "hw1-kai")
    assert graded.level == "tests" and graded.reveal_at is None


# -- reading the policy --------------------------------------------------------------------


async def test_the_org_file_is_read_once_and_equal_files_are_parsed_once(sim, app, example_grader):
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file(example_grader)})
    names = [f"hw1-class-{i}" for i in range(4)]
    for name in names:  # each with the template's copy of the same repo file
        sim.create_repo(ORG, name, files={".github/pushgrade.yml": "branches: [main]\n"})
    shas = [await sim.push(ORG, name, {"calc.py": PASSING}) for name in names]
    for name, sha in zip(names, shas, strict=True):
        run = await completed(sim, name, sha)
        assert (run["name"], run["conclusion"]) == ("hw1 autograder", "success")
    org_reads = [r for r in sim.requests if r.path.startswith(f"/repos/{ORG}/.github/contents")]
    assert len(org_reads) == 1
    assert app.worker.configs.parses == 2  # the org file, and the one repo file they share


async def test_a_reveal_due_while_pushgrade_was_down_happens_when_it_is_back(
    sim, tmp_path, sandbox, example_grader
):
    settings = settings_for(sim, tmp_path)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    new_repo(
        sim, "hw1-lu", example_grader, due=due.isoformat(), visibility="score", after_due="full"
    )
    async with running(settings, sandbox=sandbox, poll_s=0.5) as first:
        sim.webhook_url = f"{first.url}/webhooks/github"
        sha = await sim.push(ORG, "hw1-lu", {"calc.py": FAILING})
        run = await completed(sim, "hw1-lu", sha)
        await settled_jobs(first, "hw1-lu")
    assert datetime.now(UTC) < due, "graded too slowly for this test's deadline"
    await asyncio.sleep((due - datetime.now(UTC)).total_seconds() + 0.5)
    assert not sim.check_run(run["id"])["output"].get("text")  # nobody was there to reveal it
    async with running(settings, sandbox=sandbox, poll_s=0.5) as second:
        for _ in range(60):
            if sim.check_run(run["id"])["output"].get("text"):
                break
            await asyncio.sleep(0.25)
        [graded] = await submissions(second, "hw1-lu")
    assert "assert" in sim.check_run(run["id"])["output"]["text"]
    assert graded.revealed_at is not None and graded.level == "full"


async def test_a_rerun_by_a_member_of_the_org_files_teachers_team_is_not_counted(
    sim, app, example_grader
):
    sim.add_team_member(ORG, "staff", "ta-tim")
    sim.create_repo(
        ORG,
        ".github",
        files={
            ".github/pushgrade.yml": "teachers: staff\n"
            + org_file(example_grader).replace(
                "    visibility: tests\n", "    visibility: tests\n    max_graded_per_day: 1\n"
            )
        },
    )
    sim.create_repo(ORG, "hw1-ula", files={"README.md": "hw\n"})
    sha = await sim.push(ORG, "hw1-ula", {"calc.py": PASSING})
    first = await completed(sim, "hw1-ula", sha)
    assert first["conclusion"] == "success"
    await sim.press_action(first["id"], "rerun", sender="ta-tim")
    for _ in range(240):
        runs = sim.check_runs(ORG, "hw1-ula", sha)
        if len(runs) == 2 and runs[-1]["status"] == "completed":
            break
        await asyncio.sleep(0.25)
    assert runs[-1]["conclusion"] == "success"  # graded, not "daily limit reached"
    assert [job.counted for job in await settled_jobs(app, "hw1-ula")] == [True, False]
