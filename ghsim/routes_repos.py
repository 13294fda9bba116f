"""Repository endpoints read with an installation token: repo, contents, commits, archives."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from aiohttp import web

from ghsim import shapes
from ghsim.api import SIM, not_found, repo_for
from ghsim.archives import tarball, zipball
from ghsim.gitobj import blob_sha, directories, tree_sha
from ghsim.state import Commit, Repo

routes = web.RouteTableDef()
DOWNLOAD_TTL = 300  # GitHub's archive links for private repositories expire after five minutes
INLINE_LIMIT = 1024 * 1024  # larger files come back without inline content


@routes.get("/repos/{owner}/{repo}")
async def get_repo(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "metadata")
    return web.json_response(shapes.repository(sim.urls, repo))


def _commit(repo: Repo, ref: str | None) -> Commit:
    commit = repo.resolve(ref or repo.default_branch)
    if commit is None:
        raise not_found()
    return commit


def _github_base64(content: bytes) -> str:
    """Base64 in lines of 60 characters, each ending in a newline, as the contents API sends."""
    encoded = base64.b64encode(content).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def _download_query(sim: Any, repo: Repo) -> str:
    """`?token=...` for private repositories, whose download links are short-lived."""
    if not repo.private:
        return ""
    token = secrets.token_urlsafe(24)
    sim.world.download_tokens[token] = (repo.id, time.time() + DOWNLOAD_TTL)
    return f"?token={token}"


def _download_allowed(sim: Any, repo: Repo, request: web.Request) -> bool:
    if not repo.private:
        return True
    grant = sim.world.download_tokens.get(request.query.get("token", ""))
    return grant is not None and grant[0] == repo.id and grant[1] >= time.time()


def _content_entry(
    sim: Any, repo: Repo, commit: Commit, ref: str, path: str, kind: str, download: str = ""
) -> dict[str, Any]:
    api, html = sim.urls.repo_api(repo), sim.urls.repo_html(repo)
    if kind == "file":
        sha, size = blob_sha(commit.files[path]), len(commit.files[path])
        git_url = f"{api}/git/blobs/{sha}"
        html_url = f"{html}/blob/{ref}/{path}"
        download_url: str | None = f"{sim.url}/_raw/{repo.full_name}/{commit.sha}/{path}{download}"
    else:
        sha, size = tree_sha(commit.files, path + "/" if path else ""), 0
        git_url = f"{api}/git/trees/{sha}"
        html_url = f"{html}/tree/{ref}/{path}"
        download_url = None
    url = f"{api}/contents/{path}?ref={ref}"
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "size": size,
        "url": url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": download_url,
        "type": kind,
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


@routes.get("/repos/{owner}/{repo}/contents/{path:.*}")
@routes.get("/repos/{owner}/{repo}/contents")
async def get_contents(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM]
    repo = repo_for(request, "contents")
    ref = request.query.get("ref") or repo.default_branch
    commit = _commit(repo, ref)
    path = request.match_info.get("path", "").strip("/")
    if path in commit.files:
        content = commit.files[path]
        if "vnd.github.raw" in request.headers.get("Accept", ""):
            return web.Response(body=content, content_type="application/vnd.github.raw")
        entry = _content_entry(sim, repo, commit, ref, path, "file", _download_query(sim, repo))
        if len(content) <= INLINE_LIMIT:
            entry.update(content=_github_base64(content), encoding="base64")
        else:
            entry.update(content="", encoding="none")
        return web.json_response(entry)
    dirs = directories(commit.files)
    if path and path not in dirs:
        raise not_found()
    prefix = path + "/" if path else ""
    children: dict[str, str] = {}
    for name in commit.files:
        if name.startswith(prefix) and "/" not in name[len(prefix) :]:
            children[name] = "file"
    for name in dirs:
        if name.startswith(prefix) and "/" not in name[len(prefix) :]:
            children[name] = "dir"
    download = _download_query(sim, repo)
    listing = [
        _content_entry(sim, repo, commit, ref, p, children[p], download) for p in sorted(children)
    ]
    return web.json_response(listing)


@routes.get("/repos/{owner}/{repo}/commits/{ref:.+}")
async def get_commit(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "contents")
    commit = _commit(repo, request.match_info["ref"])
    return web.json_response(shapes.rest_commit(sim.urls, repo, commit))


@routes.get("/repos/{owner}/{repo}/{kind:tarball|zipball}/{ref:.+}")
@routes.get("/repos/{owner}/{repo}/{kind:tarball|zipball}")
async def archive_link(request: web.Request) -> web.Response:
    """302 to a short-lived download URL for the commit, like codeload's `?token=` links."""
    sim = request.app[SIM]
    repo = repo_for(request, "contents")
    commit = _commit(repo, request.match_info.get("ref"))
    kind = "legacy.tar.gz" if request.match_info["kind"] == "tarball" else "legacy.zip"
    location = f"{sim.url}/_codeload/{repo.full_name}/{kind}/{commit.sha}"
    return web.Response(status=302, headers={"Location": location + _download_query(sim, repo)})


@routes.get("/_codeload/{owner}/{repo}/{kind:legacy\\.tar\\.gz|legacy\\.zip}/{sha}")
async def codeload(request: web.Request) -> web.Response:
    """The download host: no Authorization header, a token in the query for private repos."""
    sim = request.app[SIM]
    repo = sim.world.repo(request.match_info["owner"], request.match_info["repo"])
    if repo is None or not _download_allowed(sim, repo, request):
        raise not_found()
    commit = repo.commits.get(request.match_info["sha"])
    if commit is None:
        raise not_found()
    tar = request.match_info["kind"] == "legacy.tar.gz"
    data = tarball(repo, commit) if tar else zipball(repo, commit)
    filename = f"{repo.owner.login}-{repo.name}-{commit.sha[:7]}.{'tar.gz' if tar else 'zip'}"
    return web.Response(
        body=data,
        content_type="application/x-gzip" if tar else "application/zip",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@routes.get("/_raw/{owner}/{repo}/{sha}/{path:.+}")
async def raw_file(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = sim.world.repo(request.match_info["owner"], request.match_info["repo"])
    if repo is None or not _download_allowed(sim, repo, request):
        raise not_found()
    commit = repo.commits.get(request.match_info["sha"])
    if commit is None or request.match_info["path"] not in commit.files:
        raise not_found()
    return web.Response(body=commit.files[request.match_info["path"]], content_type="text/plain")
