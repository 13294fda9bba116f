"""End to end over loopback: the GitHub simulator pushes, pushgrade grades in a real container,
the check run moves queued → in_progress → completed on the simulator."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from ghapp.store.models import Job, JobState, Submission
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.e2e import (
    EXAMPLE,
    ORG,
    head,
    jobs,
    new_repo,
    org_file,
    orphaned_job,
    settings_for,
    settled_jobs,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def slow_grader(build_image) -> str:
    return build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "sleep 6; echo graded"]\n')


async def test_a_push_is_graded_and_the_check_run_evolves_to_success(sim, app, example_grader):
    new_repo(sim, "hw1-alice", example_grader)
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-alice", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-alice", sha, status="completed", timeout=120)
    assert run["conclusion"] == "success", run["output"]
    assert run["name"] == "pushgrade"
    assert "5 / 5" in run["output"]["title"]
    assert run["external_id"] == str((await jobs(app))[-1].id)
    # A quick run costs two writes: "in progress" is sent only if the run lasts more than
    # 3 s (a first run on a cold engine may), and replaces a "queued" not sent yet.
    statuses = [body.get("status") for body in sim.check_run_history(run["id"])]
    assert statuses in (
        ["queued", "completed"],
        ["in_progress", "completed"],
        ["queued", "in_progress", "completed"],
    )
    await settled_jobs(app, "hw1-alice")
    async with app.sessions() as session:
        submission = (await session.execute(select(Submission))).scalar_one()
    assert (submission.score, submission.max_score, submission.head_sha) == (5, 5, sha)
    assert submission.outcome["status"] == "passed"


async def test_a_long_run_shows_in_progress_while_it_runs(sim, app, slow_grader):
    new_repo(sim, "hw1-abe", slow_grader)
    sha = await sim.push(ORG, "hw1-abe", {"calc.py": "\n"})
    run = await sim.wait_for_check_run(ORG, "hw1-abe", sha, status="completed", timeout=120)
    history = sim.check_run_history(run["id"])
    statuses = [body.get("status") for body in history]
    # "Queued" is replaced by "in progress" when grading starts before it was sent.
    assert statuses in (["queued", "in_progress", "completed"], ["in_progress", "completed"])
    assert history[statuses.index("in_progress")]["started_at"]


async def test_a_failing_push_completes_as_failure_naming_the_failing_tests(
    sim, app, example_grader
):
    new_repo(sim, "hw1-bob", example_grader)
    calc = (EXAMPLE / "submission-fail" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-bob", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-bob", sha, status="completed", timeout=120)
    assert run["conclusion"] == "failure"
    assert "3 / 5" in run["output"]["title"] and "2 tests failing" in run["output"]["title"]
    # Names are Markdown-escaped in the payload (test\_median\_even); read them as rendered.
    assert "test_median_even" in run["output"]["summary"].replace("\\", "")
    assert "test_median_even" in (run["output"].get("text") or "").replace("\\", "")


async def test_redelivered_push_creates_one_job_and_one_check_run(sim, app, example_grader):
    new_repo(sim, "hw1-carol", example_grader)
    sha = await sim.push(ORG, "hw1-carol", {"calc.py": "def add(a, b):\n    return a + b\n"})
    await sim.wait_for_check_run(ORG, "hw1-carol", sha, status="completed", timeout=120)
    push_delivery = [d for d in sim.deliveries if d.event == "push"][-1]
    again = await sim.redeliver(push_delivery.id)
    assert again.status_code == 200
    await asyncio.sleep(1.5)
    assert len([j for j in await jobs(app) if j.repo == "hw1-carol"]) == 1
    assert len(sim.check_runs(ORG, "hw1-carol", sha)) == 1


async def test_a_delivery_with_a_bad_signature_is_refused_and_stores_nothing(
    sim, app, example_grader
):
    new_repo(sim, "hw1-dave", example_grader)
    delivery = await sim.deliver("ping", {"zen": "Keep it logically awesome."}, secret="wrong")
    assert delivery.status_code == 401
    assert await jobs(app) == []


async def test_branch_deletion_and_tags_are_not_graded(sim, app, example_grader):
    new_repo(sim, "hw1-erin", example_grader)
    await sim.push_tag(ORG, "hw1-erin", "v1")
    await sim.delete_branch(ORG, "hw1-erin", "main")
    await asyncio.sleep(1.5)
    assert await jobs(app) == []
    assert sim.check_runs(ORG, "hw1-erin") == []


async def test_a_repo_without_config_is_not_graded_and_gets_no_check_run(sim, app):
    sim.create_repo(ORG, "notes", files={"README.md": "not an assignment\n"})
    sha = await sim.push(ORG, "notes", {"todo.txt": "x\n"})
    [job] = await settled_jobs(app, "notes")
    assert job.state == JobState.SKIPPED and ".github/pushgrade.yml" in job.note
    assert sim.check_runs(ORG, "notes", sha) == []


async def test_an_invalid_config_asks_the_teacher_to_act(sim, app):
    sim.create_repo(ORG, "hw1-frank", files={".github/pushgrade.yml": "imgae: x\n"})
    sha = await sim.push(ORG, "hw1-frank", {"calc.py": "\n"})
    run = await sim.wait_for_check_run(ORG, "hw1-frank", sha, status="completed", timeout=60)
    assert run["conclusion"] == "action_required"
    assert run["details_url"]
    assert "did you mean 'image'" in run["output"]["text"]
    [job] = await settled_jobs(app, "hw1-frank")
    assert "did you mean 'image'" in job.note


async def test_the_rerun_button_grades_again_in_a_new_check_run(sim, app, example_grader):
    new_repo(sim, "hw1-grace", example_grader)
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-grace", {"calc.py": calc})
    first = await sim.wait_for_check_run(ORG, "hw1-grace", sha, status="completed", timeout=120)
    await sim.press_action(first["id"], "rerun")
    for _ in range(240):
        runs = sim.check_runs(ORG, "hw1-grace", sha)
        if len(runs) == 2 and all(r["status"] == "completed" for r in runs):
            break
        await asyncio.sleep(0.5)
    assert len(runs) == 2 and all(r["conclusion"] == "success" for r in runs)
    assert [j.trigger for j in await settled_jobs(app, "hw1-grace")] == ["push", "requested_action"]


async def test_a_server_stopped_mid_run_hands_its_job_to_the_next_at_once(
    sim, tmp_path, sandbox, slow_grader
):
    settings = settings_for(sim, tmp_path)
    new_repo(sim, "hw1-heidi", slow_grader)
    # The first server is stopped mid-run with no grace: the run is killed, the job handed back.
    async with running(settings, sandbox=sandbox, poll_s=0.5, lease_s=60, grace_s=0) as first:
        sim.webhook_url = f"{first.url}/webhooks/github"
        sha = await sim.push(ORG, "hw1-heidi", {"calc.py": "\n"})
        await sim.wait_for_check_run(ORG, "hw1-heidi", sha, status="in_progress", timeout=60)
    async with first.sessions() as session:
        [job] = list((await session.execute(select(Job))).scalars())
    assert job.state == JobState.RUNNING and job.lease_owner is None
    assert sandbox.leftovers() == []  # its container was killed and removed
    # The next server takes it at once, though the lease it had would hold for a minute.
    started = asyncio.get_running_loop().time()
    async with running(settings, sandbox=sandbox, poll_s=0.5, lease_s=60) as second:
        sim.webhook_url = f"{second.url}/webhooks/github"
        run = await sim.wait_for_check_run(ORG, "hw1-heidi", sha, status="completed", timeout=60)
        assert run["conclusion"] == "success", run["output"]
        [job] = await settled_jobs(second, "hw1-heidi")
        assert job.state == JobState.DONE and job.attempts == 2
    assert asyncio.get_running_loop().time() - started < 30
    assert len(sim.check_runs(ORG, "hw1-heidi", sha)) == 1


async def test_an_expired_lease_is_claimed_again(sim, app, example_grader):
    """A job whose worker vanished (lease in the past) is taken by a live worker."""
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    new_repo(sim, "hw1-ivan", example_grader, files={"calc.py": calc})
    await orphaned_job(app, sim, "hw1-ivan", example_grader, attempts=1)
    app.worker.wake()
    run = await sim.wait_for_check_run(
        ORG, "hw1-ivan", head(sim, "hw1-ivan"), status="completed", timeout=120
    )
    assert run["conclusion"] == "success"


async def test_github_answering_502_loses_no_result_and_makes_no_second_check_run(
    sim, app, example_grader
):
    new_repo(sim, "hw1-judy", example_grader)
    sim.set_fault(fail_ratio=1.0, status=502, times=3)  # the next three calls fail, whatever
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-judy", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-judy", sha, status="completed", timeout=180)
    sim.clear_fault()
    assert run["conclusion"] == "success"
    assert len(sim.check_runs(ORG, "hw1-judy", sha)) == 1  # retries never made a second one
    assert sum(r.status == 502 for r in sim.requests) == 3


async def test_a_tarball_download_answering_502_is_retried(sim, app, example_grader):
    new_repo(sim, "hw1-sven", example_grader)
    sim.set_fault(fail_ratio=1.0, status=502, times=2, path_prefix=f"/repos/{ORG}/hw1-sven/tarball")
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    started = asyncio.get_running_loop().time()
    sha = await sim.push(ORG, "hw1-sven", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-sven", sha, status="completed", timeout=120)
    assert run["conclusion"] == "success"
    assert sum(r.status == 502 for r in sim.requests) == 2
    # Retried in place (seconds), not handed back to the queue with a long backoff.
    assert asyncio.get_running_loop().time() - started < 30
    [job] = await settled_jobs(app, "hw1-sven")
    assert job.attempts == 2


async def test_a_secondary_rate_limit_is_waited_out_not_dropped(sim, app, example_grader):
    new_repo(sim, "hw1-ken", example_grader)
    sim.set_fault(
        fail_ratio=1.0,
        status=403,
        retry_after=1,
        times=2,
        methods=["POST", "PATCH"],
        path_prefix=f"/repos/{ORG}/hw1-ken/check-runs",
    )
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-ken", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-ken", sha, status="completed", timeout=120)
    assert run["conclusion"] == "success"
    assert [r.status for r in sim.requests if r.status == 403] == [403, 403]


async def test_failing_tests_with_a_file_and_line_become_annotations(sim, app, build_image):
    # A grader whose JUnit points into the student's own file, as a linter-style grader does.
    junit = (
        '<testsuite name="style" tests="1" failures="1">'
        '<testcase classname="style" name="line too long" file="calc.py" line="2">'
        '<failure message="E501 line too long (120 > 100)">calc.py:2</failure></testcase>'
        "</testsuite>"
    )
    image = build_image(
        f"FROM {BUSYBOX}\nCOPY junit.xml /junit.xml\n"
        'CMD ["sh", "-c", "cp /junit.xml /results/junit.xml; exit 1"]\n',
        {"junit.xml": junit},
        mode=0o644,
    )
    new_repo(sim, "hw1-lara", image)
    sha = await sim.push(ORG, "hw1-lara", {"calc.py": "x = 1\n" + "y = 2  # " + "z" * 120 + "\n"})
    run = await sim.wait_for_check_run(ORG, "hw1-lara", sha, status="completed", timeout=60)
    assert run["conclusion"] == "failure"
    [note] = sim.annotations(run["id"])
    assert (note["path"], note["start_line"], note["annotation_level"]) == ("calc.py", 2, "failure")
    assert "line too long" in note["message"]


async def test_secrets_and_tokens_never_reach_the_logs(sim, app, example_grader, caplog):
    caplog.set_level("DEBUG")
    new_repo(sim, "hw1-mia", example_grader)
    sim.set_fault(fail_ratio=0.3, status=502)  # the retry paths log too
    sha = await sim.push(ORG, "hw1-mia", {"calc.py": "def add(a, b):\n    return a - b\n"})
    await sim.wait_for_check_run(ORG, "hw1-mia", sha, status="completed", timeout=180)
    sim.clear_fault()
    logged = caplog.text
    assert sim.webhook_secret not in logged
    key_body = sim.private_key_pem.decode().splitlines()[1]
    assert key_body not in logged
    assert sim.world.tokens and not any(token in logged for token in sim.world.tokens)


async def test_a_job_whose_workers_keep_dying_is_given_up_visibly(sim, app, example_grader):
    """After every attempt was used up by workers that vanished, the student is told (neutral),
    the teacher's record says why, and nothing loops forever."""
    from ghapp.work.finish import MAX_ATTEMPTS

    new_repo(sim, "hw1-nina", example_grader)
    await orphaned_job(app, sim, "hw1-nina", example_grader, attempts=MAX_ATTEMPTS)
    app.worker.wake()
    run = await sim.wait_for_check_run(
        ORG, "hw1-nina", head(sim, "hw1-nina"), status="completed", timeout=60
    )
    assert run["conclusion"] == "neutral"
    assert "re-run" in run["output"]["summary"].lower()
    [job] = await settled_jobs(app, "hw1-nina")
    assert job.state == JobState.FAILED and "gave up" in job.note


async def test_the_org_file_wins_over_a_students_repo_file(sim, app, example_grader):
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file(example_grader)})
    # The student tries to see everything, and to swap in an image of their own.
    sim.create_repo(
        ORG,
        "hw1-quinn",
        files={
            ".github/pushgrade.yml": "image: evil/grader:1\nvisibility: full\n",
        },
    )
    calc = (EXAMPLE / "submission-fail" / "calc.py").read_text()
    sha = await sim.push(ORG, "hw1-quinn", {"calc.py": calc})
    run = await sim.wait_for_check_run(ORG, "hw1-quinn", sha, status="completed", timeout=120)
    assert run["name"] == "hw1 autograder"
    assert run["conclusion"] == "failure" and "3 / 5" in run["output"]["title"]
    assert not run["output"].get("text")  # `tests` shows names and points, never output
    assert "assert" not in run["output"]["summary"]
    [job] = await settled_jobs(app, "hw1-quinn")
    assert "visibility" in job.note and "image" in job.note and "no effect" in job.note


async def test_an_org_file_alone_grades_matching_repos_and_only_those(sim, app, example_grader):
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file(example_grader)})
    sim.create_repo(ORG, "hw1-rosa", files={"README.md": "no config of my own\n"})
    sim.create_repo(ORG, "lecture-notes", files={"README.md": "not an assignment\n"})
    calc = (EXAMPLE / "submission-pass" / "calc.py").read_text()
    graded = await sim.push(ORG, "hw1-rosa", {"calc.py": calc})
    ignored = await sim.push(ORG, "lecture-notes", {"notes.md": "x\n"})
    run = await sim.wait_for_check_run(ORG, "hw1-rosa", graded, status="completed", timeout=120)
    assert run["conclusion"] == "success"
    [job] = await settled_jobs(app, "lecture-notes")
    assert job.state == JobState.SKIPPED and "no assignment" in job.note
    assert sim.check_runs(ORG, "lecture-notes", ignored) == []
