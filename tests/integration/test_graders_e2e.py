"""Grader images built from the teacher's private grader repo, end to end on the simulator:
built once per grader commit, reused, and a failed build is the teacher's to read."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from ghapp.core.tenants import Ceilings, single_teacher
from ghapp.store.models import GraderBuild, JobState, Submission
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from runner.build import GRADER_LABEL
from tests.conftest import BUSYBOX, PYTHON
from tests.integration.e2e import EXAMPLE, ORG, installation, settled_jobs
from tests.integration.processes import Cluster, rows

pytestmark = pytest.mark.docker

PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()
FAILING = (EXAMPLE / "submission-fail" / "calc.py").read_text()
TESTS = (EXAMPLE / "grader" / "tests" / "test_calc.py").read_text()
# The example's own grader Dockerfile, on the offline Python base (pytest is already in it).
DOCKERFILE = (
    (EXAMPLE / "grader" / "Dockerfile")
    .read_text()
    .replace("FROM python:3.11-slim", f"FROM {PYTHON}")
)
# Builds in the tests never reach a network.
OFFLINE = single_teacher(ceilings=Ceilings(build_network=False))
BROKEN = f'FROM {BUSYBOX}\nRUN echo compiling the hidden tests && exit 3\nCMD ["true"]\n'


def org_file(grader: str) -> str:
    return f"assignments:\n  hw1:\n    repos: 'hw1-*'\n    grader: {grader}\n    timeout: 60\n"


def setup(sim, grader_files: dict[str, str], grader: str = "grader-hw1") -> str:
    """The org file naming a private grader repo, and that repo; its head commit."""
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file(grader)})
    repo = sim.create_repo(ORG, "grader-hw1", files=grader_files, private=True)
    return repo.branches["main"]


def student(sim, name: str) -> None:
    sim.create_repo(ORG, name, files={"README.md": "homework\n"})


async def completed(sim, repo: str, sha: str) -> dict:
    return await sim.wait_for_check_run(ORG, repo, sha, status="completed", timeout=180)


async def builds(app) -> list[GraderBuild]:
    async with app.sessions() as session:
        return list((await session.execute(select(GraderBuild))).scalars())


async def test_a_grader_repo_is_built_and_grades_pushes_with_one_build(
    sim, app, docker_client, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    grader_sha = setup(sim, {"Dockerfile": DOCKERFILE, "tests/test_calc.py": TESTS})
    remove_grader_images.append(grader_sha)
    student(sim, "hw1-ann")
    good = await sim.push(ORG, "hw1-ann", {"calc.py": PASSING})
    run = await completed(sim, "hw1-ann", good)
    assert run["conclusion"] == "success", run["output"]
    assert run["output"]["title"] == "5 / 5 — all 5 tests passed"
    bad = await sim.push(ORG, "hw1-ann", {"calc.py": FAILING})
    assert (await completed(sim, "hw1-ann", bad))["conclusion"] == "failure"

    [build] = await builds(app)
    assert (build.grader, build.commit_sha, build.state, build.attempts) == (
        f"i{installation(sim)}:{ORG}/grader-hw1",
        grader_sha,
        "built",
        1,
    )
    # The tag carries the installation: no other tenant's build finds it, no config names it.
    assert build.tag == f"pushgrade-grader/i{installation(sim)}-{ORG}-grader-hw1:{grader_sha}"
    image = docker_client.images.get(build.tag)
    assert image.labels["pushgrade.managed"] == "1"
    assert image.labels[GRADER_LABEL] == f"{ORG}/grader-hw1"
    assert app.worker.graders.builds == 1  # the second push reused the image
    # Pinned: each submission records the exact image it ran with.
    async with app.sessions() as session:
        ran = list((await session.execute(select(Submission.image_id))).scalars())
    assert ran == [image.id, image.id]


async def test_a_broken_grader_dockerfile_asks_the_teacher_to_act_with_the_log_tail(
    sim, app, remove_grader_images
):
    app.worker.tenants.tenancy = OFFLINE
    remove_grader_images.append(setup(sim, {"Dockerfile": BROKEN}))
    student(sim, "hw1-bob")
    sha = await sim.push(ORG, "hw1-bob", {"calc.py": PASSING})
    run = await completed(sim, "hw1-bob", sha)
    assert run["conclusion"] == "action_required"
    assert run["output"]["title"] == "Not graded yet: the grader could not be built"
    assert "Your teacher has been notified" in run["output"]["summary"]
    shown = str(run["output"])
    assert "compiling the hidden tests" not in shown and "exit 3" not in shown
    [job] = await settled_jobs(app, "hw1-bob")
    assert job.state == JobState.DONE
    assert "could not be built" in job.note
    assert "RUN echo compiling the hidden tests && exit 3" in job.note  # the failing step
    assert "returned a non-zero code: 3" in job.note
    assert "\ncompiling the hidden tests" in job.note  # the build log's tail
    [build] = await builds(app)
    assert build.state == "failed" and "compiling the hidden tests" in build.log_tail


async def test_a_missing_grader_repo_asks_the_teacher_to_act(sim, app):
    sim.create_repo(ORG, ".github", files={".github/pushgrade.yml": org_file("no-such-grader")})
    student(sim, "hw1-cy")
    sha = await sim.push(ORG, "hw1-cy", {"calc.py": PASSING})
    run = await completed(sim, "hw1-cy", sha)
    assert run["conclusion"] == "action_required"
    [job] = await settled_jobs(app, "hw1-cy")
    assert f"grader repository {ORG}/no-such-grader was not found" in job.note
    assert await builds(app) == []


async def test_twenty_pushes_needing_one_unbuilt_grader_cause_exactly_one_build(
    sim, sandbox, tmp_path, remove_grader_images
):
    grader_sha = setup(sim, {"Dockerfile": DOCKERFILE, "tests/test_calc.py": TESTS})
    remove_grader_images.append(grader_sha)
    names = [f"hw1-s{i:02d}" for i in range(20)]
    for name in names:
        student(sim, name)
    settings = simulator_settings(
        sim, f"sqlite+aiosqlite:///{tmp_path / 'pushgrade.sqlite3'}", workers=8
    )
    async with running(settings, sandbox=sandbox, poll_s=0.5) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        app.worker.tenants.tenancy = OFFLINE
        shas = await asyncio.gather(*(sim.push(ORG, n, {"calc.py": PASSING}) for n in names))
        runs = await asyncio.gather(
            *(completed(sim, name, sha) for name, sha in zip(names, shas, strict=True))
        )
        assert [run["conclusion"] for run in runs] == ["success"] * 20
        [build] = await builds(app)
        assert (build.state, build.attempts) == ("built", 1)
        assert app.worker.graders.builds == 1


async def test_two_worker_processes_sharing_a_database_build_one_grader_once(
    sim, tmp_path, db_url, docker_client, remove_grader_images
):
    """The claim is a database row, not a lock in one process: two `pushgrade worker`
    processes (on PostgreSQL, as a deployment runs them, and on SQLite) grading six pushes that
    all need one unbuilt grader run one build between them."""
    slow = f'FROM {BUSYBOX}\nRUN sleep 3\nCOPY grade.sh /grade.sh\nCMD ["sh", "/grade.sh"]\n'
    script = "echo 1..1; echo ok 1 - graded by the one build\n"
    grader_sha = setup(sim, {"Dockerfile": slow, "grade.sh": script})
    remove_grader_images.append(grader_sha)
    names = [f"hw1-p{i}" for i in range(6)]
    for name in names:
        student(sim, name)
    async with Cluster(sim, tmp_path, database_url=db_url, PUSHGRADE_WORKERS=3) as cluster:
        await cluster.web()
        workers = [await cluster.worker(), await cluster.worker()]
        shas = await asyncio.gather(*(sim.push(ORG, n, {"calc.py": PASSING}) for n in names))
        runs = await asyncio.gather(
            *(completed(sim, name, sha) for name, sha in zip(names, shas, strict=True))
        )
        assert [run["conclusion"] for run in runs] == ["success"] * 6, cluster.logs()
        names = {worker.name for worker in workers}
    # One claim, never taken over (a second build would have to take it: attempts 2).
    [build] = await rows(db_url, GraderBuild)
    assert (build.commit_sha, build.state, build.attempts) == (grader_sha, "built", 1)
    assert build.builder in names
    labelled = {"label": f"pushgrade.grader.commit={grader_sha}"}
    assert [image.id for image in docker_client.images.list(filters=labelled)] == [build.image_id]
    submissions = await rows(db_url, Submission)
    assert len(submissions) == 6 and {s.image_id for s in submissions} == {build.image_id}
