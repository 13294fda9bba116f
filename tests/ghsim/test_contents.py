"""The contents API answers as GitHub's: base64 in 60-character lines, git blob shas."""

from __future__ import annotations

import base64
import subprocess

import pytest
from gidgethub import BadRequest

from .conftest import ORG, REPO, STARTER


def git_hash_object(content: bytes) -> str:
    """What `git hash-object` prints (it only hashes: nothing is written anywhere)."""
    return (
        subprocess.run(
            ["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )


async def test_file_content_round_trips_through_base64(sim, gh, token):
    answer = await gh.getitem(f"/repos/{ORG}/{REPO}/contents/calc.py", oauth_token=token)
    assert answer["type"] == "file"
    assert answer["encoding"] == "base64"
    assert answer["name"] == "calc.py" and answer["path"] == "calc.py"
    assert base64.b64decode(answer["content"]).decode() == STARTER["calc.py"]
    assert answer["size"] == len(STARTER["calc.py"])
    assert answer["url"].endswith("/contents/calc.py?ref=main")


async def test_base64_comes_in_lines_of_60_characters(sim, gh, token):
    sha = await sim.push(ORG, REPO, {"big.txt": "x" * 500})
    answer = await gh.getitem(
        f"/repos/{ORG}/{REPO}/contents/big.txt{{?ref}}", {"ref": sha}, oauth_token=token
    )
    lines = answer["content"].split("\n")
    assert lines[-1] == ""
    assert {len(line) for line in lines[:-2]} == {60}
    assert base64.b64decode(answer["content"]) == b"x" * 500


async def test_blob_sha_equals_git_hash_object(sim, gh, token):
    binary = bytes(range(256)) * 3
    sha = await sim.push(ORG, REPO, {"data/blob.bin": binary})
    answer = await gh.getitem(
        f"/repos/{ORG}/{REPO}/contents/data/blob.bin{{?ref}}", {"ref": sha}, oauth_token=token
    )
    assert answer["sha"] == git_hash_object(binary)
    assert base64.b64decode(answer["content"]) == binary


async def test_directory_lists_files_and_subdirectories(sim, gh, token):
    await sim.push(ORG, REPO, {".github/pushgrade.yml": "assignments: {}\n", "src/a.py": ""})
    root = await gh.getitem(f"/repos/{ORG}/{REPO}/contents/", oauth_token=token)
    assert [(e["name"], e["type"]) for e in root] == [
        (".github", "dir"),
        ("README.md", "file"),
        ("calc.py", "file"),
        ("src", "dir"),
    ]
    assert all("content" not in e for e in root)
    config = await gh.getitem(f"/repos/{ORG}/{REPO}/contents/.github", oauth_token=token)
    assert [e["path"] for e in config] == [".github/pushgrade.yml"]


async def test_ref_selects_the_commit(sim, gh, token):
    first = sim.world.repo(ORG, REPO).branches["main"]
    await sim.push(ORG, REPO, {"calc.py": "changed\n"})
    old = await gh.getitem(
        f"/repos/{ORG}/{REPO}/contents/calc.py{{?ref}}", {"ref": first}, oauth_token=token
    )
    new = await gh.getitem(f"/repos/{ORG}/{REPO}/contents/calc.py", oauth_token=token)
    assert base64.b64decode(old["content"]).decode() == STARTER["calc.py"]
    assert base64.b64decode(new["content"]) == b"changed\n"


@pytest.mark.parametrize("path", ["missing.txt", "calc.py/inner", "src"])
async def test_absent_path_is_404(sim, gh, token, path):
    with pytest.raises(BadRequest) as caught:
        await gh.getitem(f"/repos/{ORG}/{REPO}/contents/{path}", oauth_token=token)
    assert caught.value.status_code == 404


async def test_deleted_file_is_404_at_the_new_commit(sim, gh, token):
    sha = await sim.push(ORG, REPO, {"calc.py": None})
    with pytest.raises(BadRequest) as caught:
        await gh.getitem(
            f"/repos/{ORG}/{REPO}/contents/calc.py{{?ref}}", {"ref": sha}, oauth_token=token
        )
    assert caught.value.status_code == 404


async def test_raw_media_type_returns_the_bytes(sim, session, token):
    async with session.get(
        f"{sim.url}/repos/{ORG}/{REPO}/contents/README.md",
        headers={"Authorization": f"token {token}", "Accept": "application/vnd.github.raw+json"},
    ) as response:
        assert response.status == 200
        assert await response.read() == STARTER["README.md"].encode()


async def test_commit_endpoint_resolves_branches_and_shas(sim, gh, token):
    sha = await sim.push(ORG, REPO, {"a.txt": "a"}, message="add a")
    by_branch = await gh.getitem(f"/repos/{ORG}/{REPO}/commits/main", oauth_token=token)
    by_ref = await gh.getitem(f"/repos/{ORG}/{REPO}/commits/refs/heads/main", oauth_token=token)
    by_short = await gh.getitem(f"/repos/{ORG}/{REPO}/commits/{sha[:7]}", oauth_token=token)
    assert by_branch["sha"] == by_ref["sha"] == by_short["sha"] == sha
    assert by_branch["commit"]["message"] == "add a"
    assert len(by_branch["parents"]) == 1
