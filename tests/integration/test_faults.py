"""Faults, with real processes (`pushgrade web` and `pushgrade worker` through the command line),
real Docker, and SQLite or PostgreSQL: workers killed mid-run again and again, a GitHub that
answers 502 to a third of the calls, SIGTERM with jobs in flight, a Docker engine restarting
under a running job. Whatever happens, every push ends with exactly one completed check run."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

from ghapp.store.models import Job, JobState, OutboxWrite, Submission
from tests.conftest import BUSYBOX
from tests.integration.e2e import ORG, new_repo
from tests.integration.processes import (
    MANAGED,
    OWNER,
    Cluster,
    EngineUnavailable,
    PrivateEngine,
    containers_of,
    leftovers_of,
    rows,
    wait_until,
)

pytestmark = pytest.mark.docker


@dataclass
class Engine:
    """The Docker engine the workers of a test use: a private dockerd (see `PrivateEngine`),
    or the machine's shared one where a private one cannot run."""

    client: Any
    env: dict[str, str]
    private: PrivateEngine | None
    main: Any

    def bring(self, *images: str) -> None:
        if self.private is not None:
            self.private.load(self.main, *images)

    def leftovers(self, owners) -> list[str]:
        """What pushgrade left on the engine: everything labelled on a private one (nobody
        else uses it), what these workers made on the shared one."""
        owners = set(owners)
        if self.private is not None:
            containers = self.client.containers.list(all=True, filters={"label": MANAGED})
            volumes = self.client.volumes.list(filters={"label": MANAGED})
            return [c.name for c in containers] + [v.name for v in volumes]
        return leftovers_of(self.client, owners)

    def clean(self, owners) -> None:
        """Remove what the assertion saw, so the next test starts from a clean engine."""
        for container in (
            containers_of(self.client, owners)
            if self.private is None
            else (self.client.containers.list(all=True, filters={"label": MANAGED}))
        ):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for volume in self.client.volumes.list(filters={"label": MANAGED}):
            owner = ((volume.attrs or {}).get("Labels") or {}).get(OWNER)
            if self.private is not None or owner in set(owners):
                with contextlib.suppress(Exception):
                    volume.remove(force=True)


@pytest.fixture(scope="module")
def engine(docker_client):
    """A private dockerd for this module's workers: what they do cannot touch other test runs
    on the machine's engine (a worker's orphan sweep removes the runs of workers its own
    database does not know, which on a shared engine are other runs' live ones), nor theirs
    ours. Where no private dockerd can run, the machine's engine is used instead."""
    try:
        private = PrivateEngine().start()
    except EngineUnavailable as err:
        warnings.warn(f"the workers use the machine's Docker engine: {err}", stacklevel=1)
        yield Engine(docker_client, {}, None, docker_client)
        return
    try:
        yield Engine(private.client, {"DOCKER_HOST": private.host}, private, docker_client)
    finally:
        private.close()


def grader(build_image, script: str) -> str:
    """A busybox grader image whose command is `script` (TAP on stdout)."""
    return build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "{script}"]\n')


async def running_container(client, worker, *, timeout: float = 60) -> None:
    """Wait until `worker` has a grading container running: the job is mid-run."""
    await wait_until(
        lambda: asyncio.to_thread(containers_of, client, [worker.name], running=True),
        timeout=timeout,
        what=f"a running container of worker {worker.name}",
    )


async def completed(sim, repo: str, sha: str, cluster: Cluster, timeout: float) -> dict:
    try:
        return await sim.wait_for_check_run(ORG, repo, sha, status="completed", timeout=timeout)
    except TimeoutError as err:
        state = await database_state(cluster.database_url)
        raise AssertionError(
            f"{err}\n{check_run_writes(sim, repo, sha)}\n{state}\n{cluster.logs()}"
        ) from None


def check_run_writes(sim, repo: str, sha: str) -> str:
    """What the simulator was asked to do to `repo`'s check runs, for a failure's message."""
    lines = ["check-run requests (time, method, path, answer):"]
    for r in sim.requests:
        if f"/{repo}/check-runs" in r.path:
            lines.append(f"  {r.at:.3f} {r.method} {r.path} → {r.status}")
    for run in sim.check_runs(ORG, repo, sha):
        lines.append(f"check run {run['id']} on {sha[:7]}, its accepted bodies in order:")
        for body in sim.check_run_history(run["id"]):
            shown = {k: body.get(k) for k in ("status", "conclusion", "started_at", "completed_at")}
            lines.append(f"  {shown}")
    return "\n".join(lines)


async def database_state(database_url: str) -> str:
    lines = ["jobs (id, state, attempts, lease owner, lease until, check run) and unsent writes:"]
    for job in await rows(database_url, Job):
        lines.append(
            f"  job {job.id} {job.state} {job.attempts} {job.lease_owner} "
            f"{job.lease_expires_at} {job.check_run_id} {job.note[:200]!r}"
        )
    for write in await rows(database_url, OutboxWrite):
        lines.append(
            f"  write {write.id} job {write.job_id} {write.kind} {write.body.get('status')} "
            f"not before {write.not_before} lease {write.lease_until} sent {write.sent} "
            f"attempts {write.attempts} {write.last_error[:200]!r}"
        )
    if database_url.startswith("postgresql"):
        lines.append("PostgreSQL sessions (pid, state, waiting on, since, query) and who blocks:")
        lines += await sessions_state(database_url)
    return "\n".join(lines)


async def sessions_state(database_url: str) -> list[str]:
    """What each connection to the database does: a transaction left open, a lock waited on."""
    from sqlalchemy import text

    from ghapp.store.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text(
                    "SELECT pid, state, wait_event_type, wait_event, xact_start, query, "
                    "pg_blocking_pids(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [
                f"  {pid} {state} {kind}:{event} {started} {query[:160]!r} blocked by {blockers}"
                for pid, state, kind, event, started, query, blockers in found
            ]
    finally:
        await engine.dispose()


def one_check_run(sim, repo: str, sha: str, cluster: Cluster | None = None) -> dict:
    """The commit's only check run: completed, and successful."""
    logs = f"\n{cluster.logs()}" if cluster is not None else ""
    runs = sim.check_runs(ORG, repo, sha)
    assert len(runs) == 1, f"{repo}@{sha[:7]} has {len(runs)} check runs: {runs}{logs}"
    [run] = runs
    assert run["status"] == "completed", f"{run}{logs}"
    assert run["conclusion"] == "success", f"{run['conclusion']}: {run['output']}{logs}"
    return run


async def one_submission_per_job(database_url: str, shas: dict[str, str]) -> list[Job]:
    """One job per push (repo → sha), each done, each with exactly one stored Submission."""
    jobs = await rows(database_url, Job)
    submissions = await rows(database_url, Submission)
    pushed = sorted((repo, sha) for repo, sha in shas.items())
    assert sorted((j.repo, j.head_sha) for j in jobs) == pushed, [
        (j.repo, j.head_sha[:7], j.state) for j in jobs
    ]
    for job in jobs:
        assert job.state == JobState.DONE, (job.id, job.state, job.note)
        mine = [s for s in submissions if s.job_id == job.id]
        assert len(mine) == 1, f"job {job.id} has {len(mine)} submissions"
    assert len(submissions) == len(jobs)
    return jobs


async def _all_done(database_url: str, count: int) -> bool:
    jobs = await rows(database_url, Job)
    return len(jobs) == count and all(j.state == JobState.DONE for j in jobs)


# -- a. workers killed with SIGKILL mid-run ----------------------------------------------------

KILLS = 10


async def test_ten_workers_killed_mid_run_each_push_graded_once(
    sim, tmp_path, db_url, engine, build_image
):
    """Ten times: a push is being graded, its worker gets SIGKILL, a fresh worker takes the job
    over once the (3 s) lease lapses and completes it. Every push: one check run, a success;
    every job: done, one Submission. The dead workers' containers are swept."""
    image = grader(build_image, "sleep 2; echo 1..1; echo ok 1 - survived")
    engine.bring(image)
    repo = "hw5-kills"
    new_repo(sim, repo, image)
    shas: list[str] = []
    started = time.monotonic()
    cluster = Cluster(sim, tmp_path, database_url=db_url, PUSHGRADE_LEASE_SECONDS=3, **engine.env)
    names: list[str] = []
    try:
        await cluster.web()
        worker = await cluster.worker()
        for i in range(KILLS):
            sha = await sim.push(ORG, repo, {"main.sh": f"echo attempt {i}\n"})
            shas.append(sha)
            await running_container(engine.client, worker)
            worker.kill()
            await worker.wait(10)
            worker = await cluster.worker()
            await completed(sim, repo, sha, cluster, timeout=60)
        # The last dead worker's container goes too (the survivor's sweep), before it stops.
        names = [w.name for w in cluster.workers()]
        with contextlib.suppress(AssertionError):
            await wait_until(
                lambda: asyncio.to_thread(lambda: not engine.leftovers(names)),
                timeout=30,
                what="the sweep",
            )
    finally:
        names = [w.name for w in cluster.workers()]
        await cluster.close()
        left = await asyncio.to_thread(engine.leftovers, names)
        await asyncio.to_thread(engine.clean, names)
    elapsed = time.monotonic() - started
    assert worker.returncode == 0, cluster.logs()
    for sha in shas:
        one_check_run(sim, repo, sha, cluster)
    jobs = await rows(db_url, Job)
    assert sorted(j.head_sha for j in jobs) == sorted(shas), [
        (j.head_sha[:7], j.state) for j in jobs
    ]
    submissions = await rows(db_url, Submission)
    for job in jobs:
        assert job.state == JobState.DONE, (job.id, job.state, job.note)
        assert [s.job_id for s in submissions].count(job.id) == 1, f"job {job.id}"
        # Intake, the grading run killed, the grading run taken over: three claims.
        assert job.attempts == 3, f"job {job.id} was claimed {job.attempts} times"
    assert len(submissions) == KILLS
    assert left == [], f"the killed workers' containers were not swept: {left}"
    print(f"{KILLS} workers killed mid-run, every push graded once, in {elapsed:.1f} s")


# -- b. GitHub answering 502 to 30 % of the calls -----------------------------------------------


async def test_check_runs_complete_when_github_fails_a_third_of_the_calls(
    sim, tmp_path, engine, build_image
):
    """Every API call pushgrade makes (tokens, config files, tarballs, check-run writes) fails
    with 502 three times in ten: six pushes still get one completed, successful check run each."""
    image = grader(build_image, "echo 1..1; echo ok 1 - fine")
    engine.bring(image)
    repos = [f"hw5-flaky-{i}" for i in range(6)]
    for repo in repos:
        new_repo(sim, repo, image)
    started = time.monotonic()
    async with Cluster(sim, tmp_path, **engine.env) as cluster:
        await cluster.web()
        await cluster.worker(PUSHGRADE_WORKERS=2)
        sim.set_fault(fail_ratio=0.3, status=502)
        shas = {}
        for i, repo in enumerate(repos):
            shas[repo] = await sim.push(ORG, repo, {"main.sh": f"echo {i}\n"})
        for repo, sha in shas.items():
            await completed(sim, repo, sha, cluster, timeout=150)
        sim.clear_fault()
        elapsed = time.monotonic() - started
        failed = [r for r in sim.requests if r.status == 502]
        # The job rows end just after the results are staged; give them a moment.
        await wait_until(
            lambda: _all_done(cluster.database_url, len(repos)), timeout=30, what="every job done"
        )
    assert len(failed) >= 5, f"only {len(failed)} calls failed: the fault was not exercised"
    for repo, sha in shas.items():
        one_check_run(sim, repo, sha, cluster)
    await one_submission_per_job(cluster.database_url, shas)
    print(f"{len(failed)} of {len(sim.requests)} API calls failed; all graded in {elapsed:.1f} s")


# -- c. SIGTERM with jobs in flight -------------------------------------------------------------


async def test_sigterm_lets_a_short_job_finish_and_claims_nothing_more(
    sim, tmp_path, db_url, engine, build_image
):
    """SIGTERM while a 3 s job runs (grace 30 s): the job finishes and its check run is
    completed before the process exits 0; a push arriving meanwhile is left to another
    worker, which grades it."""
    image = grader(build_image, "sleep 3; echo 1..1; echo ok 1 - finished")
    engine.bring(image)
    new_repo(sim, "hw5-short", image)
    new_repo(sim, "hw5-later", image)
    async with Cluster(
        sim,
        tmp_path,
        database_url=db_url,
        PUSHGRADE_GRACE_SECONDS=30,
        PUSHGRADE_LEASE_SECONDS=5,
        **engine.env,
    ) as cluster:
        await cluster.web()
        worker = await cluster.worker()
        sha = await sim.push(ORG, "hw5-short", {"main.sh": "echo short\n"})
        await running_container(engine.client, worker)
        worker.terminate()
        signalled = time.monotonic()
        await asyncio.sleep(0.5)  # the signal is handled: the worker has stopped claiming
        later = await sim.push(ORG, "hw5-later", {"main.sh": "echo later\n"})
        code = await worker.wait(30 + 15)
        took = time.monotonic() - signalled
        # Completed on GitHub before the process was gone, not left for another worker.
        runs = sim.check_runs(ORG, "hw5-short", sha)
        assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "success")], (
            f"{runs}\n{cluster.logs()}"
        )
        assert code == 0, cluster.logs()
        assert sim.check_runs(ORG, "hw5-later", later) == [], "the stopping worker claimed it"
        [waiting] = await rows(cluster.database_url, Job, Job.repo == "hw5-later")
        assert waiting.state == JobState.RECEIVED and waiting.attempts == 0, (
            waiting.state,
            waiting.attempts,
            waiting.lease_owner,
        )
        assert await asyncio.to_thread(engine.leftovers, [worker.name]) == []
        successor = await cluster.worker()
        await completed(sim, "hw5-later", later, cluster, timeout=60)
        await wait_until(
            lambda: _all_done(cluster.database_url, 2), timeout=30, what="both jobs done"
        )
        assert await successor.stop() == 0
    print(f"SIGTERM → exit in {took:.1f} s, the running job's check run completed first")
    one_check_run(sim, "hw5-short", sha, cluster)
    one_check_run(sim, "hw5-later", later, cluster)
    await one_submission_per_job(cluster.database_url, {"hw5-short": sha, "hw5-later": later})


GRACE_S = 2
LEASE_S = 60


async def test_sigterm_hands_a_long_job_back_at_once(sim, tmp_path, db_url, engine, build_image):
    """SIGTERM while a 60 s job runs, with a 2 s grace: the worker kills the container, releases
    the job's lease and exits 0 within a few seconds of the grace; a second worker takes the
    job at once (not after the 60 s lease) and completes it. The teacher's image tag is moved
    to a quick grader before the second worker starts, so "completes" takes seconds, not 60."""
    slow = grader(build_image, "sleep 60; echo 1..1; echo ok 1 - slow")
    quick = grader(build_image, "echo 1..1; echo ok 1 - quick")
    engine.bring(slow, quick)
    tag = f"pushgrade-test/handback:{uuid.uuid4().hex[:12]}"
    engine.client.images.get(slow).tag(tag)
    config = f"image: {tag}\ntimeout: 120\n"
    sim.create_repo(ORG, "hw5-long", files={".github/pushgrade.yml": config})
    try:
        async with Cluster(
            sim,
            tmp_path,
            database_url=db_url,
            PUSHGRADE_GRACE_SECONDS=GRACE_S,
            PUSHGRADE_LEASE_SECONDS=LEASE_S,
            **engine.env,
        ) as cluster:
            await cluster.web()
            first = await cluster.worker()
            sha = await sim.push(ORG, "hw5-long", {"main.sh": "echo long\n"})
            await running_container(engine.client, first)
            first.terminate()
            signalled = time.monotonic()
            code = await first.wait(GRACE_S + 30)
            took = time.monotonic() - signalled
            assert code == 0, cluster.logs()
            assert took <= GRACE_S + 6, f"exited {took:.1f} s after SIGTERM\n{cluster.logs()}"
            left = await asyncio.to_thread(engine.leftovers, [first.name])
            assert left == [], f"the stopped worker left {left}"
            [job] = await rows(cluster.database_url, Job)
            assert job.state != JobState.DONE, job.state
            assert job.lease_owner is None and job.lease_expires_at is None, (
                f"the lease was not released: held by {job.lease_owner} until "
                f"{job.lease_expires_at}\n{cluster.logs()}"
            )
            engine.client.images.get(quick).tag(tag)
            second = await cluster.worker()
            handed = time.monotonic()
            await completed(sim, "hw5-long", sha, cluster, timeout=LEASE_S)
            taken = time.monotonic() - handed
            assert taken < LEASE_S / 3, f"the second worker needed {taken:.1f} s"
            await wait_until(
                lambda: _all_done(cluster.database_url, 1), timeout=30, what="the job done"
            )
            assert await second.stop() == 0
        print(f"SIGTERM → exit in {took:.1f} s; the second worker completed it in {taken:.1f} s")
        run = one_check_run(sim, "hw5-long", sha, cluster)
        assert "quick" in str(run["output"]), run["output"]
        await one_submission_per_job(cluster.database_url, {"hw5-long": sha})
    finally:
        with contextlib.suppress(Exception):
            engine.client.images.remove(tag)


# -- d. the Docker engine restarting mid-run ----------------------------------------------------


async def test_the_docker_engine_restarting_mid_run(sim, tmp_path, docker_client, build_image):
    """A worker on a dockerd of the test's own, which is restarted while a job runs (the
    running container is killed after 1 s): the push still ends with exactly one completed
    check run, either graded after a retry or with a conclusion that names the engine, never
    a "failure" that blames the student for the killed container; and nothing of the run is
    left on the engine."""
    try:
        private = await asyncio.to_thread(PrivateEngine().start)
    except EngineUnavailable as err:
        pytest.skip(f"no Docker engine of the test's own can run here: {err}")
    try:
        image = grader(build_image, "sleep 8; echo 1..1; echo ok 1 - outlived the engine")
        await asyncio.to_thread(private.load, docker_client, image)
        new_repo(sim, "hw5-engine", image)
        async with Cluster(
            sim, tmp_path, PUSHGRADE_LEASE_SECONDS=5, DOCKER_HOST=private.host
        ) as cluster:
            await cluster.web()
            worker = await cluster.worker()
            sha = await sim.push(ORG, "hw5-engine", {"main.sh": "echo engine\n"})
            await running_container(private.client, worker)
            restarting = time.monotonic()
            await asyncio.to_thread(private.restart)
            restarted = time.monotonic() - restarting
            run = await completed(sim, "hw5-engine", sha, cluster, timeout=150)
            took = time.monotonic() - restarting
            await wait_until(
                lambda: _all_done(cluster.database_url, 1), timeout=30, what="the job done"
            )
            [job] = await rows(cluster.database_url, Job)

            def labelled() -> list[str]:
                containers = private.client.containers.list(all=True, filters={"label": MANAGED})
                volumes = private.client.volumes.list(filters={"label": MANAGED})
                return [c.name for c in containers] + [v.name for v in volumes]

            # The worker is still running: time enough to clear up after the failed attempt.
            with contextlib.suppress(AssertionError):
                await wait_until(
                    lambda: asyncio.to_thread(lambda: not labelled()), timeout=15, what="clean"
                )
            left = await asyncio.to_thread(labelled)
            logs = cluster.logs()
        runs = sim.check_runs(ORG, "hw5-engine", sha)
        print(
            f"engine restarted in {restarted:.1f} s; check run {run['conclusion']} "
            f"({run['output']['title']}) {took:.1f} s after the restart began, "
            f"{job.attempts} claims; note: {job.note!r}"
        )
        assert len(runs) == 1, runs
        if run["conclusion"] != "success":  # not graded: then it must say why, truthfully
            said = f"{run['output'].get('title')} {run['output'].get('summary')}"
            assert run["conclusion"] != "failure", f"the student is blamed: {said}\n{logs}"
            assert "engine" in said.lower() or "docker" in said.lower(), f"{said}\n{logs}"
        assert left == [], f"left on the engine after the restart: {left}\n{logs}"
    finally:
        await asyncio.to_thread(private.close)


# -- e. two pushgrades sharing one Docker engine ------------------------------------------------


async def test_a_worker_of_another_database_leaves_our_runs_alone(
    sim, tmp_path, engine, build_image
):
    """Two pushgrade installations (or two test runs) with databases of their own share one
    Docker engine. A worker of the other one starts — and sweeps orphans — while ours grades:
    our running container is not its orphan, and our push is graded."""
    image = grader(build_image, "sleep 6; echo 1..1; echo ok 1 - undisturbed")
    engine.bring(image)
    new_repo(sim, "hw5-neighbour", image)
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    theirs = Cluster(sim, tmp_path / "theirs", **engine.env)
    async with Cluster(sim, tmp_path / "ours", **engine.env) as ours:
        try:
            await ours.web()
            worker = await ours.worker()
            sha = await sim.push(ORG, "hw5-neighbour", {"main.sh": "echo hi\n"})
            await running_container(engine.client, worker)
            await theirs.worker()  # its first orphan sweep runs as it starts
            await asyncio.sleep(2)
            alive = await asyncio.to_thread(
                containers_of, engine.client, [worker.name], running=True
            )
            await completed(sim, "hw5-neighbour", sha, ours, timeout=60)
        finally:
            await theirs.close()
        assert alive, (
            f"our running container was removed by the other database's worker\n{theirs.logs()}"
        )
        one_check_run(sim, "hw5-neighbour", sha, ours)
