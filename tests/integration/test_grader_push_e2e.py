"""Pushes to the org's own repos on the simulator: a push to a grader repo builds the new image
at once (and with `on_grader_push: regrade` regrades every student's latest push once); a push
to the org's `.github` repo reads the config again and makes every image ready. Neither repo is
ever graded as a student's."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from ghapp.store.models import JobState, Submission
from ghapp.work import warming
from pushgrade.serve import build_worker
from tests.integration.e2e import ORG, installation, jobs, settled_jobs
from tests.integration.test_graders_e2e import (
    BROKEN,
    DOCKERFILE,
    FAILING,
    OFFLINE,
    PASSING,
    TESTS,
    builds,
    completed,
    pytestmark,  # noqa: F401 -- Docker-backed, as those tests
)

# A hidden test the teacher got wrong: it fails every correct solution.
WRONG_TEST = "\n\ndef test_rounding():\n    assert round(2.5) == 3\n"


def org_file(*, on_grader_push: str | None = None, repos: str = "hw1-*") -> str:
    text = f"assignments:\n  hw1:\n    repos: '{repos}'\n    grader: grader-hw1\n    timeout: 60\n"
    if on_grader_push:
        text += f"    on_grader_push: {on_grader_push}\n"
    return text


def start(sim, org_text: str, tests: str = TESTS) -> str:
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_text})
    repo = sim.create_repo(
        ORG, "grader-hw1", files={"Dockerfile": DOCKERFILE, "tests/test_calc.py": tests}
    )
    return repo.branches["main"]


async def grader_check_run(sim, sha: str) -> dict:
    return await sim.wait_for_check_run(
        ORG, "grader-hw1", sha, check_name="pushgrade grader", timeout=180
    )


async def test_a_fixed_grader_regrades_every_students_latest_push_once(
    sim, app, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    remove_grader_images.append(start(sim, org_file(on_grader_push="regrade"), TESTS + WRONG_TEST))
    latest = {}
    for name in ("hw1-ann", "hw1-bob"):
        sim.create_repo(ORG, name, files={"README.md": "homework\n"})
    first = await sim.push(ORG, "hw1-ann", {"calc.py": FAILING})
    latest["hw1-ann"] = await sim.push(ORG, "hw1-ann", {"calc.py": PASSING})
    latest["hw1-bob"] = await sim.push(ORG, "hw1-bob", {"calc.py": PASSING})
    for name, sha in latest.items():  # the wrong test fails a correct solution
        assert (await completed(sim, name, sha))["conclusion"] == "failure"
        await settled_jobs(app, name, timeout=120)
    before = {job.id for job in await jobs(app)}
    # A regrade's result is a new check run, sent after its job is done (at the lowest priority).
    shown = {name: sim.check_runs(ORG, name, sha)[-1]["id"] for name, sha in latest.items()}

    fixed = await sim.push(
        ORG, "grader-hw1", {"tests/test_calc.py": TESTS}, pusher="teacher", message="Fix test"
    )
    remove_grader_images.append(fixed)
    run = await grader_check_run(sim, fixed)
    assert run["conclusion"] == "success", run["output"]
    assert run["output"]["title"] == "Built for hw1"
    assert "regrading the latest push of 2 repos" in run["output"]["summary"]

    for name in latest:
        await settled_jobs(app, name, timeout=180)
    regrades = [j for j in await jobs(app) if j.id not in before and j.repo != "grader-hw1"]
    assert sorted((j.repo, j.head_sha) for j in regrades) == sorted(latest.items())  # once each
    for job in regrades:
        assert (job.trigger, job.sender, job.state) == ("dashboard", "teacher", JobState.DONE)
        assert "after grader-hw1@" in job.note
    for name, sha in latest.items():  # each commit's newest check run shows the new result
        run = await sim.wait_for_check_run(ORG, name, sha, after=shown[name], timeout=180)
        assert run["conclusion"] == "success", run["output"]
        assert run["output"]["title"] == "5 / 5 — all 5 tests passed"
    assert [r["conclusion"] for r in sim.check_runs(ORG, "hw1-ann", first)] == ["failure"]
    # Graded with the fixed grader's image, pinned by its tag (the grader commit) and id.
    async with app.sessions() as session:
        pins = (
            await session.execute(
                select(Submission.image).where(Submission.job_id.in_([j.id for j in regrades]))
            )
        ).scalars()
        assert set(pins) == {f"pushgrade-grader/i{installation(sim)}-{ORG}-grader-hw1:{fixed}"}
    assert app.worker.graders.builds == 2  # the first commit's, then the fix's: once each


async def test_a_grader_push_builds_before_any_student_needs_it_and_regrades_nothing(
    sim, app, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    # The grader repo matches the assignment's glob: it is still never graded as a student's.
    remove_grader_images.append(start(sim, org_file(repos="*")))
    sim.create_repo(ORG, "hw1-cy", files={"README.md": "homework\n"})
    new = await sim.push(ORG, "grader-hw1", {"README.md": "the hw1 grader\n"}, pusher="teacher")
    remove_grader_images.append(new)
    run = await grader_check_run(sim, new)
    assert run["conclusion"] == "success"
    assert "the next pushes are graded with it" in run["output"]["summary"]
    [build] = await builds(app)
    assert (build.commit_sha, build.state) == (new, "built")  # built ahead of any student push
    [grader_job] = await settled_jobs(app, "grader-hw1")
    assert grader_job.state == JobState.DONE and grader_job.assignment is None
    assert [r["name"] for r in sim.check_runs(ORG, "grader-hw1", new)] == ["pushgrade grader"]

    sha = await sim.push(ORG, "hw1-cy", {"calc.py": PASSING})
    assert (await completed(sim, "hw1-cy", sha))["conclusion"] == "success"
    assert app.worker.graders.builds == 1  # the student's push found it built
    assert [j.repo for j in await jobs(app)] == ["grader-hw1", "hw1-cy"]  # no regrade

    # A push to another branch of the grader repo changes no assignment's image.
    other = await sim.push(ORG, "grader-hw1", {"x": "y"}, branch="draft", pusher="teacher")
    jobs_there = await settled_jobs(app, "grader-hw1")
    assert jobs_there[-1].state == JobState.SKIPPED
    assert "no assignment builds its grader from this branch" in jobs_there[-1].note
    assert sim.check_runs(ORG, "grader-hw1", other) == []


async def test_a_broken_grader_push_fails_on_the_grader_commit_and_regrades_nobody(
    sim, app, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    remove_grader_images.append(start(sim, org_file(on_grader_push="regrade")))
    sim.create_repo(ORG, "hw1-dan", files={"README.md": "homework\n"})
    sha = await sim.push(ORG, "hw1-dan", {"calc.py": PASSING})
    assert (await completed(sim, "hw1-dan", sha))["conclusion"] == "success"
    await settled_jobs(app, "hw1-dan", timeout=60)

    broken = await sim.push(ORG, "grader-hw1", {"Dockerfile": BROKEN}, pusher="teacher")
    remove_grader_images.append(broken)
    run = await grader_check_run(sim, broken)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "The grader could not be built"
    assert "compiling the hidden tests" in run["output"]["summary"]  # the teacher's own repo
    assert "Nothing was regraded" in run["output"]["summary"]
    assert len(await settled_jobs(app, "hw1-dan")) == 1


async def test_a_config_push_reads_the_org_file_again_and_makes_images_ready(
    sim, app, example_grader, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    remove_grader_images.append(start(sim, org_file()))
    two = org_file() + f"  hw2:\n    repos: 'hw2-*'\n    image: {example_grader}\n"
    pushed = await sim.push(ORG, ".github", {".github/pushgrade.yml": two}, pusher="teacher")
    run = await sim.wait_for_check_run(
        ORG, ".github", pushed, check_name="pushgrade config", timeout=180
    )
    assert run["conclusion"] == "success"
    assert run["output"]["title"] == "2 assignments ready"
    [build] = await builds(app)
    assert build.state == "built"  # hw1's grader, built ahead of its first push
    # The check run on a repo orgs often make public names no image.
    assert "grader-hw1" not in str(run["output"]) and example_grader not in str(run["output"])

    bad = await sim.push(
        ORG, ".github", {".github/pushgrade.yml": "assignments: {hw1: {timeout: -1}}\n"}
    )
    run = await sim.wait_for_check_run(ORG, ".github", bad, check_name="pushgrade config")
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "The config has errors"
    assert "timeout" in run["output"]["summary"]
    # A draft branch of it is not the config in force: nothing said there.
    draft = await sim.push(ORG, ".github", {"notes.md": "wip\n"}, branch="draft")
    jobs_there = await settled_jobs(app, ".github")  # the delivery stored its job already
    assert len(jobs_there) == 3 and jobs_there[-1].state == JobState.SKIPPED
    assert sim.check_runs(ORG, ".github", draft) == []
    # Never graded as a student's repo.
    assert {r["name"] for r in sim.check_runs(ORG, ".github")} == {"pushgrade config"}
    assert all(j.assignment is None for j in await jobs(app))


async def test_an_image_that_cannot_be_made_ready_is_named_in_the_note_only(sim, app):
    text = "assignments:\n  hw3:\n    repos: 'hw3-*'\n    image: pushgrade-test/absent:1\n"
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": "assignments: {}\n"})
    pushed = await sim.push(ORG, ".github", {".github/pushgrade.yml": text}, pusher="teacher")
    run = await sim.wait_for_check_run(ORG, ".github", pushed, check_name="pushgrade config")
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "The grader image of hw3 is not ready"
    assert "absent" not in str(run["output"])
    [job] = await settled_jobs(app, ".github")
    assert "pushgrade-test/absent:1" in job.note and "not found" in job.note


async def test_builds_from_one_repo_with_two_dockerfiles_are_two_images(
    sim, app, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    other = DOCKERFILE.replace("COPY tests/", "COPY tests2/")
    assert other != DOCKERFILE
    text = (
        "assignments:\n"
        "  hw1:\n    repos: 'hw1-*'\n    grader: grader-hw1\n"
        "  hw2:\n    repos: 'hw2-*'\n    grader: {repo: grader-hw1, dockerfile: hw2/Dockerfile}\n"
    )
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": text})
    sim.create_repo(
        ORG,
        "grader-hw1",
        files={
            "Dockerfile": DOCKERFILE,
            "tests/test_calc.py": TESTS,
            "hw2/Dockerfile": other,
            "tests2/test_calc.py": TESTS + WRONG_TEST,
        },
    )
    new = await sim.push(ORG, "grader-hw1", {"README.md": "two graders\n"}, pusher="teacher")
    remove_grader_images.append(new)
    assert (await grader_check_run(sim, new))["conclusion"] == "success"
    tags = sorted(b.tag for b in await builds(app))
    assert len(tags) == 2 and tags[0] != tags[1]
    for name, expected in (("hw1-eve", "5 / 5"), ("hw2-eve", "5 / 6")):  # hw2's own tests
        sim.create_repo(ORG, name, files={"README.md": "homework\n"})
        sha = await sim.push(ORG, name, {"calc.py": PASSING})
        assert (await completed(sim, name, sha))["output"]["title"].startswith(expected)
    assert all(
        b.grader.startswith(f"i{installation(sim)}:{ORG}/grader-hw1") for b in await builds(app)
    )


async def test_every_workers_engine_is_warmed_not_only_the_one_that_took_the_push(
    sim, app, sandbox, remove_grader_images
):
    """A deployment whose workers each have a Docker engine of their own: the worker that
    handles the grader push builds on its engine, and asks the others (a row each worker
    follows) to build on theirs. The other worker here is one on an engine with another id."""
    app.worker.tenants.tenancy = OFFLINE
    remove_grader_images.append(start(sim, org_file()))
    other = build_worker(app.sessions, app.worker.github, sandbox=sandbox, name="other-pod:1")
    other.tenants.tenancy = OFFLINE
    other.graders._engine = "engine-of-another-pod"
    stop = asyncio.Event()
    following = asyncio.create_task(warming.follow(other, stop, every_s=0.2))
    try:
        new = await sim.push(ORG, "grader-hw1", {"README.md": "v2\n"}, pusher="teacher")
        remove_grader_images.append(new)
        assert (await grader_check_run(sim, new))["conclusion"] == "success"
        for _ in range(600):
            done = {(b.engine, b.state) for b in await builds(app) if b.commit_sha == new}
            if ("engine-of-another-pod", "built") in done:
                break
            await asyncio.sleep(0.1)
        engines = {b.engine for b in await builds(app) if b.commit_sha == new}
        assert engines == {await app.worker.graders._engine_id(), "engine-of-another-pod"}
        assert other.graders.builds == 1
    finally:
        stop.set()
        await following
