"""The App's GitHub client against the simulator: the API version it pins, check runs found past
the first page, refs and paths that must be encoded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from ghapp.github import API_VERSION, GitHubApp, InstallationClient
from ghsim import GitHubSimulator
from ghsim.auth import generate_private_key

ORG, REPO = "cs101", "hw1-alice"


@pytest.fixture(scope="module")
def key() -> bytes:
    return generate_private_key()


@pytest.fixture
async def sim(key: bytes) -> AsyncIterator[GitHubSimulator]:
    async with GitHubSimulator(private_key_pem=key, seed=3) as simulator:
        simulator.install(ORG, repos=[REPO])
        simulator.create_repo(ORG, REPO, files={"pushgrade.yml": "image: x\n"})
        yield simulator


@pytest.fixture
async def client(sim: GitHubSimulator) -> AsyncIterator[InstallationClient]:
    async with aiohttp.ClientSession() as http:
        app = GitHubApp(
            app_id=sim.app_id, private_key=sim.private_key_pem, base_url=sim.url, session=http
        )
        yield app.installation(sim.world.installation_for(ORG).id)


def head(sim: GitHubSimulator, branch: str = "main") -> str:
    commit = sim.world.require_repo(ORG, REPO).resolve(branch)
    assert commit is not None
    return commit.sha


async def test_every_request_the_client_makes_pins_the_api_version(sim, client, tmp_path):
    sha = head(sim)
    run = await client.create_check_run(ORG, REPO, {"name": "grade", "head_sha": sha})
    await client.update_check_run(ORG, REPO, run["id"], {"status": "in_progress"})
    await client.find_check_run(ORG, REPO, sha, "job-1")
    await client.file(ORG, REPO, "pushgrade.yml", None)
    await client.commit_sha(ORG, REPO, "main")
    await client.org_role(ORG, "nobody")
    await client.download_tarball(ORG, REPO, sha, tmp_path / "a.tar.gz", cap=10**7)

    assert len(sim.requests) >= 8  # the token, then each call
    assert {(r.path, r.api_version) for r in sim.requests if r.api_version != API_VERSION} == set()


async def test_the_simulator_refuses_a_version_github_does_not_know(sim):
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{sim.url}/meta", headers={"X-GitHub-Api-Version": "2099-01-01"})
        assert answer.status == 400
        assert (await answer.json())["message"] == "API version 2099-01-01 is not supported."


async def test_our_check_run_is_found_past_the_first_page(sim, client):
    sha = head(sim)
    ours = await client.create_check_run(
        ORG, REPO, {"name": "grade", "head_sha": sha, "external_id": "job-wanted"}
    )
    for number in range(230):  # newer runs, listed before ours
        await client.create_check_run(
            ORG, REPO, {"name": f"other {number}", "head_sha": sha, "external_id": f"x{number}"}
        )
    assert await client.find_check_run(ORG, REPO, sha, "job-wanted") == ours["id"]
    assert await client.find_check_run(ORG, REPO, sha, "job-never-made") is None
    pages = [r for r in sim.requests if r.path.endswith(f"/commits/{sha}/check-runs")]
    assert len(pages) == 3 + 3  # three pages, read through twice


@pytest.mark.parametrize("branch", ["feat/a&b", "hw#2", "what?now", "50%off", "a b"])
async def test_a_file_is_read_at_a_ref_whose_name_needs_encoding(sim, client, branch):
    await sim.push(ORG, REPO, {"pushgrade.yml": f"# on {branch}\n"}, branch=branch)
    assert await client.file(ORG, REPO, "pushgrade.yml", branch) == f"# on {branch}\n".encode()
    assert await client.file(ORG, REPO, "pushgrade.yml", "main") == b"image: x\n"


async def test_a_path_with_spaces_and_hashes_is_read(sim, client):
    await sim.push(ORG, REPO, {"docs/notes #1.md": "hello\n"})
    assert await client.file(ORG, REPO, "docs/notes #1.md", None) == b"hello\n"
