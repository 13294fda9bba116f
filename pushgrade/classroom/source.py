"""Reading the template: a folder, or ORG/REPO through the App (its default branch's newest
commit, as a tarball). Either way it is copied by `runner.archive`, with its caps on sizes and
counts and its refusal of links out of the tree, into a scratch folder the conversion reads."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from pushgrade.classroom.model import TemplateError
from runner.archive import UnsafeArchive, extract_submission

REPO = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")
MAX_TARBALL_BYTES = 200 * 1024 * 1024


class CannotReach(Exception):
    """GitHub could not be reached or answered with a failure: the command could not run."""


@dataclass(frozen=True)
class Source:
    root: Path  # the copied tree
    name: str  # the repository's (or folder's) name
    shown: str  # for the notes: the folder, or ORG/REPO@sha
    repo: str | None  # ORG/REPO when read through the App


def read(source: str, scratch: Path) -> Source:
    """Copy the template named by `source` into `scratch`/template."""
    tree = scratch / "template"
    path = Path(source)
    if path.is_dir():
        _extract(path, tree, source)
        name = path.resolve().name
        if name.lower() in ("template", "starter", "src", "repo") and path.resolve().parent.name:
            name = path.resolve().parent.name  # examples/hw1/template: hw1
        return Source(tree, name, str(path), None)
    if path.exists():
        raise TemplateError(f"{source} is a file: give the template's folder, or ORG/REPO")
    found = REPO.match(source)
    if found is None or found[2] in (".", ".."):
        raise TemplateError(f"{source} is neither a folder nor ORG/REPO")
    owner, name = found[1], found[2]
    tarball = scratch / "template.tar.gz"
    sha = asyncio.run(_download(owner, name, tarball))
    _extract(tarball, tree, f"{owner}/{name}")
    return Source(tree, name, f"{owner}/{name}@{sha[:12]}", f"{owner}/{name}")


def _extract(source: Path, tree: Path, shown: str) -> None:
    try:
        extract_submission(source, tree)
    except UnsafeArchive as err:
        raise TemplateError(f"{shown}: {err}") from None


async def _download(owner: str, name: str, dest: Path) -> str:
    """The default branch's head, as a tarball in `dest`, read as the App's installation on the
    repository; its sha."""
    import aiohttp
    import gidgethub
    import gidgethub.aiohttp

    from ghapp.github import DownloadTooLarge, GitHubApp, GitHubRefused
    from ghapp.settings import SettingsError, from_env

    full = f"{owner}/{name}"
    try:
        settings = from_env(web=False, worker=True)
    except SettingsError as err:
        raise TemplateError(f"reading {full} through the App needs its settings: {err}") from None
    timeout = aiohttp.ClientTimeout(total=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            app = GitHubApp(
                app_id=settings.app_id,
                private_key=settings.private_key,
                base_url=settings.github_api_url,
                session=http,
            )
            api = gidgethub.aiohttp.GitHubAPI(http, "pushgrade", base_url=app.base_url)
            try:
                token = app.jwt()
            except Exception as err:  # a key that is not an RSA private key: never shown
                raise TemplateError(
                    f"the App's private key cannot sign its token ({type(err).__name__})"
                ) from None
            try:
                found = await api.getitem(f"/repos/{owner}/{name}/installation", jwt=token)
            except gidgethub.BadRequest as err:
                if int(err.status_code) == 404:
                    raise TemplateError(
                        f"the App is not installed on {full}, or {full} does not exist: install "
                        "it on the template's repository (or give a folder)"
                    ) from None
                raise CannotReach(f"GitHub refused to find {full}'s installation: {err}") from None
            client = app.installation(int(found["id"]))
            sha = await client.commit_sha(owner, name, None)
            if sha is None:
                raise TemplateError(f"{full} has no commit the App can read")
            await client.download_tarball(owner, name, sha, dest, cap=MAX_TARBALL_BYTES)
            return sha
    except (DownloadTooLarge, GitHubRefused) as err:
        raise TemplateError(f"{full}: {err}") from None
    except (aiohttp.ClientError, TimeoutError, gidgethub.GitHubException) as err:
        raise CannotReach(
            f"could not read {full} from GitHub ({err or type(err).__name__})"
        ) from None
