"""Tenants, tried as an attacker would: one deployment, a real private registry on loopback, and
orgs on one App. Org uni-a is the victim (its grader image, in its own registry namespace, holds
hidden tests); uni-b is the attacker, whose student's code prints whatever grader file it can
reach into a `visibility: full` check run. Each attack is refused with an `action_required` (or,
where nothing may be said, no check run at all), and nothing of uni-a reaches uni-b."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from ghapp.core.tenants import load_policy, single_teacher
from ghapp.store.models import GraderBuild, Job, JobState, Submission
from ghsim import GitHubSimulator
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.registries import USER, push

pytestmark = pytest.mark.docker

VICTIM, ATTACKER, STRANGER = "uni-a", "uni-b", "uni-c"
SECRET = "SECRETofUNIa7f3a"  # no punctuation: Markdown escaping leaves it whole
# uni-a's grader: its hidden tests sit in the image; it runs the student's script and names its
# one test after what the script printed (a visible test name, as graders often echo output).
GRADER = (
    f"FROM {BUSYBOX}\n"
    f"RUN mkdir /grader && echo {SECRET} > /grader/hidden_tests.txt\n"
    'CMD ["/bin/sh", "-c", "out=$(sh /submission/solution.sh 2>&1); echo 1..1; '
    'echo ok 1 - ran: $out"]\n'
)
# The attacker's solution: read the hidden tests, print them into the visible log.
STEAL = {"solution.sh": "cat /grader/hidden_tests.txt\n"}
UNSETTLED = (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)


@pytest.fixture(scope="module")
def victim_image(docker_client, registry, build_image) -> str:
    """uni-a's private grader, in uni-a's namespace of the registry (the local build's tag
    stays behind under pushgrade-test/case:…, the registry name does not)."""
    target = f"{registry.host}/{VICTIM}/grader:1"
    push(docker_client, registry, build_image(GRADER), target)
    return target


def policy(registry, tmp_path: Path, *, attacker: str = "{}", victim_ceilings: str = "") -> str:
    secret = tmp_path / "uni-a-registry-password"
    secret.write_text(registry.password + "\n")
    return (
        "defaults:\n"
        "  images: [pushgrade-test/]\n"
        "tenants:\n"
        f"  {VICTIM}: {{{victim_ceilings}}}\n"
        f"  {ATTACKER}: {attacker}\n"
        "registries:\n"
        f"  - registry: {registry.host}\n"
        f"    namespaces: [{VICTIM}/]\n"
        f"    tenants: [{VICTIM}]\n"
        f"    username: {USER}\n"
        f"    password_file: {secret}\n"
    )


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        for org in (VICTIM, ATTACKER, STRANGER):
            simulator.install(org)
        yield simulator


@contextlib.asynccontextmanager
async def deployment(sim, tmp_path: Path, sandbox, policy_text: str | None):
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'pushgrade.sqlite3'}")
    tenancy = (
        load_policy(policy_text, file="policy.yml") if policy_text is not None else single_teacher()
    )
    settings = dataclasses.replace(settings, tenancy=tenancy)
    async with running(settings, sandbox=sandbox, poll_s=0.3) as app:
        sim.webhook_url = f"{app.url}/webhooks/github"
        yield app


def repo_file(image: str, **extra: str) -> str:
    lines = [f"image: {image}", "timeout: 60", "visibility: full"]
    return "\n".join(lines + [f"{k}: {v}" for k, v in extra.items()]) + "\n"


async def pushed(sim, org: str, repo: str, config: str, files: dict[str, str] = STEAL) -> str:
    sim.create_repo(org, repo, files={".github/pushgrade.yml": config, "README.md": "hw\n"})
    return await sim.push(org, repo, files)


async def completed(sim, org: str, repo: str, sha: str) -> dict:
    return await sim.wait_for_check_run(org, repo, sha, status="completed", timeout=120)


def shown(run: dict) -> str:
    output = run.get("output") or {}
    return " ".join(str(output.get(k) or "") for k in ("title", "summary", "text"))


async def jobs_of(app, repo: str, count: int = 1) -> list[Job]:
    """The repo's jobs, once `count` of them have settled."""
    for _ in range(1200):
        async with app.sessions() as session:
            found = list(
                (await session.execute(select(Job).where(Job.repo == repo).order_by(Job.id)))
                .scalars()
                .all()
            )
        if len(found) >= count and all(j.state not in UNSETTLED for j in found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{repo}: {count} jobs did not settle")


async def job_of(app, repo: str) -> Job:
    return (await jobs_of(app, repo))[0]


async def refused(sim, app, repo: str, config: str, files: dict[str, str] = STEAL):
    """uni-b pushes `config` and `files` to a repo of its own: the check run is action_required
    and holds nothing of uni-a's. The check run and the job."""
    sha = await pushed(sim, ATTACKER, repo, config, files)
    run = await completed(sim, ATTACKER, repo, sha)
    assert run["conclusion"] == "action_required", (config, run)
    assert_nothing_of_the_victim(sim, ATTACKER, repo)
    return run, await job_of(app, repo)


def assert_nothing_of_the_victim(sim, org: str, repo: str) -> None:
    for run in sim.check_runs(org, repo):
        assert SECRET not in str(run), run


# -- 1. the operator's login does not serve everyone ---------------------------------------------


async def test_another_tenants_private_image_is_refused_and_its_tests_stay_unread(
    sim, tmp_path, sandbox, registry, victim_image
):
    async with deployment(sim, tmp_path, sandbox, policy(registry, tmp_path)) as app:
        # The channel is real: uni-a's own student, with this code, reads the hidden tests.
        own = await pushed(sim, VICTIM, "hw1-alice", repo_file(victim_image))
        assert SECRET in shown(await completed(sim, VICTIM, "hw1-alice", own))
        # uni-b names uni-a's image in its own repo file.
        run, job = await refused(sim, app, "hw1-mallory", repo_file(victim_image))
        assert "image:" in job.note and "not one this deployment lets uni-b use" in job.note
        assert registry.password not in job.note + str(run)


async def test_a_cached_image_is_not_served_to_a_tenant_that_cannot_pull_it(
    sim, tmp_path, sandbox, registry, victim_image
):
    # The operator let uni-b name the namespace (a mistake, or a shared one) but gave it no
    # login: uni-a's pull put the image on the engine, and uni-b must still prove it may have it.
    text = policy(registry, tmp_path, attacker=f"{{images: [{registry.host}/{VICTIM}/]}}")
    async with deployment(sim, tmp_path, sandbox, text) as app:
        own = await pushed(sim, VICTIM, "hw1-alice", repo_file(victim_image))
        assert (await completed(sim, VICTIM, "hw1-alice", own))["conclusion"] == "success"
        _, job = await refused(sim, app, "hw1-mallory", repo_file(victim_image))
        assert "unauthorized" in job.note and "no login" in job.note


# -- 2. builds do not pull another tenant's base ---------------------------------------------------


def grader_org(sim, org: str, dockerfile: str) -> str:
    org_file = (
        "assignments:\n  hw1:\n    repos: 'hw1-*'\n    grader: grader-hw1\n"
        "    visibility: full\n    timeout: 60\n"
    )
    sim.create_repo(org, ".github", files={".github/pushgrade.yml": org_file})
    return sim.create_repo(org, "grader-hw1", files={"Dockerfile": dockerfile}, private=True)


async def refused_build(sim, app) -> GraderBuild:
    """uni-b's student pushes; the check run is action_required and holds nothing of uni-a's;
    the one grader build, which failed."""
    sim.create_repo(ATTACKER, "hw1-mallory", files={"README.md": "hw\n"})
    sha = await sim.push(ATTACKER, "hw1-mallory", STEAL)
    run = await completed(sim, ATTACKER, "hw1-mallory", sha)
    assert run["conclusion"] == "action_required"
    assert_nothing_of_the_victim(sim, ATTACKER, "hw1-mallory")
    async with app.sessions() as session:
        [build] = (await session.execute(select(GraderBuild))).scalars().all()
    return build


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM {image}\n",
        "ARG BASE={image}\nFROM $BASE\n",
        f"FROM {BUSYBOX}\nCOPY --from={{image}} /grader /grader\n" + 'CMD ["sh", "-c", "true"]\n',
    ],
    ids=["from", "arg", "copy-from"],
)
async def test_a_grader_build_cannot_start_from_another_tenants_image(
    sim, tmp_path, sandbox, registry, victim_image, docker_client, dockerfile
):
    async with deployment(sim, tmp_path, sandbox, policy(registry, tmp_path)) as app:
        grader = grader_org(sim, ATTACKER, dockerfile.format(image=victim_image))
        build = await refused_build(sim, app)
        assert (build.state, build.failed_step) == (
            "failed",
            "checking the Dockerfile's base images",
        )
        assert victim_image in build.error
        head = grader.branches["main"]
        assert docker_client.images.list(filters={"label": f"pushgrade.grader.commit={head}"}) == []


async def test_a_base_images_onbuild_cannot_copy_from_another_tenants_image(
    sim, tmp_path, sandbox, registry, victim_image, docker_client, build_image
):
    # uni-b may use its own namespace, with a login; its base image there carries a trigger that
    # would copy uni-a's tests (cached on the engine by uni-a's pull) into uni-b's build.
    base = f"{registry.host}/{ATTACKER}/base:1"
    trojan = f"FROM {BUSYBOX}\nONBUILD COPY --from={victim_image} /grader /grader\n"
    push(docker_client, registry, build_image(trojan), base)
    secret = tmp_path / "uni-b-registry-password"
    secret.write_text(registry.password)
    text = policy(registry, tmp_path) + (
        f"  - registry: {registry.host}\n    namespaces: [{ATTACKER}/]\n"
        f"    tenants: [{ATTACKER}]\n    username: {USER}\n    password_file: {secret}\n"
    )
    async with deployment(sim, tmp_path, sandbox, text) as app:
        own = await pushed(sim, VICTIM, "hw1-alice", repo_file(victim_image))
        assert SECRET in shown(await completed(sim, VICTIM, "hw1-alice", own))
        grader_org(sim, ATTACKER, f'FROM {base}\nCMD ["sh", "-c", "cat /grader/*"]\n')
        build = await refused_build(sim, app)
        assert build.state == "failed" and "ONBUILD" in build.error and victim_image in build.error


# -- 3 and 4. no image of pushgrade's own, no image ID ---------------------------------------------


async def test_built_graders_and_image_ids_cannot_be_named(
    sim, tmp_path, sandbox, registry, docker_client, remove_grader_images
):
    text = policy(registry, tmp_path, attacker="{images: ['*']}")  # even an operator's '*'
    async with deployment(sim, tmp_path, sandbox, text) as app:
        grader = grader_org(sim, VICTIM, GRADER)
        remove_grader_images.append(grader.branches["main"])
        sim.create_repo(VICTIM, "hw1-alice", files={"README.md": "hw\n"})
        own = await sim.push(VICTIM, "hw1-alice", STEAL)
        assert SECRET in shown(await completed(sim, VICTIM, "hw1-alice", own))
        async with app.sessions() as session:
            [build] = (await session.execute(select(GraderBuild))).scalars().all()
        image_id = docker_client.images.get(build.tag).id.removeprefix("sha256:")
        attempts = {
            "hw1-tag": build.tag,
            "hw1-hub": f"docker.io/{build.tag}",
            "hw1-prefix": image_id[:12],
            "hw1-short": image_id[:3],
            "hw1-sha": f"sha256:{image_id}",
        }
        for repo, image in attempts.items():
            await refused(sim, app, repo, repo_file(image))
        async with app.sessions() as session:
            graded = await session.scalar(
                select(Submission).where(Submission.owner == ATTACKER).limit(1)
            )
        assert graded is None  # nothing of uni-b ever ran


# -- 5. one org: a repo no assignment matches ------------------------------------------------------


async def test_a_repo_no_org_assignment_matches_is_not_graded_from_its_own_file(
    sim, tmp_path, sandbox, registry, victim_image
):
    async with deployment(sim, tmp_path, sandbox, policy(registry, tmp_path)) as app:
        org_file = f"assignments:\n  hw1:\n    repos: 'hw1-*'\n    image: {victim_image}\n"
        sim.create_repo(VICTIM, ".github", files={".github/pushgrade.yml": org_file})
        # Made before the teacher added hw2; its own file names hw1's grader at full visibility.
        sha = await pushed(sim, VICTIM, "hw2-mallory", repo_file(victim_image))
        run = await completed(sim, VICTIM, "hw2-mallory", sha)
        assert run["conclusion"] == "action_required"
        assert "none of its assignments names hw2-mallory" in shown(run)
        assert_nothing_of_the_victim(sim, VICTIM, "hw2-mallory")
        job = await job_of(app, "hw2-mallory")
        assert job.state == JobState.DONE and "is not used" in job.note
        async with app.sessions() as session:
            assert await session.scalar(select(Submission).limit(1)) is None  # nothing ran


# -- 6. the ceilings -------------------------------------------------------------------------------


async def test_a_config_above_the_ceilings_is_refused_naming_each_field_and_ceiling(
    sim, tmp_path, sandbox, registry
):
    greedy = repo_file(
        BUSYBOX,
        network="true",
        limits="{memory: 900g, cpus: 64, pids: 32768}",
    ).replace("timeout: 60", "timeout: 3600")
    async with deployment(sim, tmp_path, sandbox, policy(registry, tmp_path)) as app:
        run, job = await refused(sim, app, "hw1-miner", greedy, {"main.sh": "true\n"})
        for field, ceiling in [
            ("timeout", "600 s"),
            ("limits.memory", "2 GiB"),
            ("limits.cpus", "ceiling of 2"),
            ("limits.pids", "ceiling of 1024"),
            ("network", "network: false"),
        ]:
            assert field in job.note and ceiling in job.note, (field, job.note)
        # The student reads it too: it is their own repo file.
        assert "limits.memory" in shown(run)
        assert job.attempts == 1


async def test_more_cpus_than_the_engine_has_is_refused_on_the_first_try(
    sim, tmp_path, sandbox, registry, docker_client
):
    cpus = int(docker_client.info()["NCPU"])
    text = policy(registry, tmp_path, attacker="{ceilings: {cpus: 1024}}")
    async with deployment(sim, tmp_path, sandbox, text) as app:
        config = repo_file(BUSYBOX, limits=f"{{cpus: {cpus + 2}}}")
        _, job = await refused(sim, app, "hw1-wide", config, {"main.sh": "true\n"})
        assert job.attempts == 2, job.note  # one intake, one grading run: never retried
        assert f"engine has {cpus}" in job.note


# -- who is served ---------------------------------------------------------------------------------


async def test_an_account_the_operator_does_not_serve_gets_no_check_run(
    sim, tmp_path, sandbox, registry, caplog
):
    async with deployment(sim, tmp_path, sandbox, policy(registry, tmp_path)) as app:
        sha = await pushed(sim, STRANGER, "hw1-x", repo_file(BUSYBOX), {"main.sh": "true\n"})
        job = await job_of(app, "hw1-x")
        assert job.state == JobState.SKIPPED and "not served" in job.note
        await sim.push(STRANGER, "hw1-x", {"main.sh": "true # again\n"})
        both = await jobs_of(app, "hw1-x", 2)
        assert [j.state for j in both] == [JobState.SKIPPED, JobState.SKIPPED]
        assert sim.check_runs(STRANGER, "hw1-x") == [] and sha
        said = [r.message for r in caplog.records if "is not served" in r.message]
        assert len(said) == 1 and STRANGER in said[0]  # one line for the operator


async def test_without_a_policy_file_only_the_first_installation_is_served(sim, tmp_path, sandbox):
    async with deployment(sim, tmp_path, sandbox, None) as app:
        first = await pushed(sim, VICTIM, "hw1-alice", repo_file(BUSYBOX), {"main.sh": "true\n"})
        assert (await completed(sim, VICTIM, "hw1-alice", first))["status"] == "completed"
        await pushed(sim, ATTACKER, "hw1-mallory", repo_file(BUSYBOX), {"main.sh": "true\n"})
        job = await job_of(app, "hw1-mallory")
        assert job.state == JobState.SKIPPED and "not served" in job.note
        assert sim.check_runs(ATTACKER, "hw1-mallory") == []
