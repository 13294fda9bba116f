"""Tarballs and zipballs: a 302 to a short-lived download, one top folder, the sha recorded."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass

import pytest

from .conftest import ORG, REPO, STARTER


async def download(sim, session, token, kind: str, ref: str | None = None) -> tuple[str, bytes]:
    url = f"{sim.url}/repos/{ORG}/{REPO}/{kind}" + (f"/{ref}" if ref else "")
    headers = {"Authorization": f"token {token}"}
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    # The download host needs no Authorization header, as codeload does not.
    async with session.get(location) as response:
        assert response.status == 200
        return location, await response.read()


@dataclass
class Tarball:
    names: list[str]
    pax_headers: dict[str, str]
    files: dict[str, bytes]


def read_tarball(data: bytes) -> Tarball:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        files = {}
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[member.name] = extracted.read()
        return Tarball(tar.getnames(), dict(tar.pax_headers), files)


async def test_tarball_after_a_deleting_push_holds_exactly_the_pushed_tree(sim, session, token):
    await sim.push(ORG, REPO, {"solution.py": "print('v1')\n", "notes.txt": "draft"})
    sha = await sim.push(ORG, REPO, {"notes.txt": None, "solution.py": "print('v2')\n"})
    location, data = await download(sim, session, token, "tarball", sha)
    assert f"/legacy.tar.gz/{sha}?token=" in location
    tar = read_tarball(data)
    top = f"{ORG}-{REPO}-{sha[:7]}"
    assert {name.split("/")[0] for name in tar.names} == {top}
    assert tar.pax_headers["comment"] == sha
    expected = {**STARTER, "solution.py": "print('v2')\n"}
    assert {n.removeprefix(top + "/"): c.decode() for n, c in tar.files.items()} == expected


@pytest.mark.parametrize("ref", [None, "main", "refs/heads/main"])
async def test_tarball_ref_may_be_a_branch_or_omitted(sim, session, token, ref):
    head = sim.world.repo(ORG, REPO).branches["main"]
    location, data = await download(sim, session, token, "tarball", ref)
    assert location.split("?")[0].endswith(head)
    assert read_tarball(data).pax_headers["comment"] == head


async def test_zipball_has_the_same_layout(sim, session, token):
    sha = await sim.push(ORG, REPO, {"pkg/mod.py": "x = 1\n"})
    location, data = await download(sim, session, token, "zipball", sha)
    assert f"/legacy.zip/{sha}" in location
    archive = zipfile.ZipFile(io.BytesIO(data))
    top = f"{ORG}-{REPO}-{sha[:7]}/"
    assert all(name.startswith(top) for name in archive.namelist())
    assert archive.read(top + "pkg/mod.py") == b"x = 1\n"
    assert archive.comment == sha.encode()


async def test_unknown_ref_is_404(sim, session, token):
    async with session.get(
        f"{sim.url}/repos/{ORG}/{REPO}/tarball/no-such-branch",
        headers={"Authorization": f"token {token}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 404
        assert (await response.json())["message"] == "Not Found"


async def test_download_link_needs_its_token(sim, session, token):
    location, _ = await download(sim, session, token, "tarball")
    async with session.get(location.split("?")[0]) as response:
        assert response.status == 404
    async with session.get(location.split("?")[0] + "?token=forged") as response:
        assert response.status == 404


async def test_gidgethub_style_redirect_following_works(sim, session, token):
    # aiohttp follows the 302 by itself, dropping nothing the download needs.
    async with session.get(
        f"{sim.url}/repos/{ORG}/{REPO}/tarball/main", headers={"Authorization": f"token {token}"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-gzip"
        tar = read_tarball(await response.read())
    assert len(tar.files) == len(STARTER)
