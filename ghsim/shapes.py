"""JSON representations with GitHub's field names, for REST answers and webhook payloads alike."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from ghsim.state import Account, App, CheckSuite, Commit, Installation, Repo, World


@dataclass(frozen=True)
class Urls:
    """Where API and web URLs point: the simulator serves the API; web pages are only links."""

    api: str
    html: str

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{self.html}/{repo.full_name}"


def node_id(kind: str, number: int) -> str:
    """GitHub's legacy global node id: base64 of "0<len>:<Kind><id>"."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def user(urls: Urls, account: Account) -> dict[str, Any]:
    base = f"{urls.api}/users/{account.login}"
    return {
        "login": account.login,
        "id": account.id,
        "node_id": node_id(account.type, account.id),
        "avatar_url": f"{urls.html}/avatars/u/{account.id}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{urls.html}/{account.login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": account.type,
        "site_admin": False,
    }


def organization(urls: Urls, account: Account) -> dict[str, Any]:
    base = f"{urls.api}/orgs/{account.login}"
    return {
        "login": account.login,
        "id": account.id,
        "node_id": node_id("Organization", account.id),
        "url": base,
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events",
        "hooks_url": f"{base}/hooks",
        "issues_url": f"{base}/issues",
        "members_url": f"{base}/members{{/member}}",
        "public_members_url": f"{base}/public_members{{/member}}",
        "avatar_url": f"{urls.html}/avatars/u/{account.id}?v=4",
        "description": "",
    }


_REPO_TEMPLATES = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def repository(urls: Urls, repo: Repo, *, push_event: bool = False) -> dict[str, Any]:
    """The full repository object. `push_event` gives the push payload's variant: epoch
    timestamps, an owner with name and email, and the legacy `master_branch`/`stargazers`."""
    api = urls.repo_api(repo)
    html = urls.repo_html(repo)
    host = urls.html.split("://", 1)[-1]
    owner = user(urls, repo.owner)
    if push_event:
        owner = {"name": repo.owner.login, "email": repo.owner.email, **owner}
    data: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": owner,
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": html if push_event else api,
    }
    data.update({key: api + suffix for key, suffix in _REPO_TEMPLATES.items()})
    data.update(
        {
            "created_at": repo.created_at if push_event else iso(repo.created_at),
            "updated_at": iso(repo.pushed_at),
            "pushed_at": repo.pushed_at if push_event else iso(repo.pushed_at),
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": sum(len(c) for c in _head_files(repo).values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": 0,
            "license": None,
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
    )
    if push_event:
        data["stargazers"] = 0
        data["master_branch"] = repo.default_branch
        if repo.owner.type == "Organization":
            data["organization"] = repo.owner.login
    data.update(
        {
            "is_template": repo.is_template,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "web_commit_signoff_required": False,
            "custom_properties": {},
        }
    )
    if not push_event and repo.owner.type == "Organization":
        data["organization"] = user(urls, repo.owner)
    return data


def _head_files(repo: Repo) -> dict[str, bytes]:
    sha = repo.branches.get(repo.default_branch)
    return repo.commits[sha].files if sha else {}


def repository_brief(repo: Repo) -> dict[str, Any]:
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
    }


def app(urls: Urls, the_app: App, installations_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": the_app.id,
        "slug": the_app.slug,
        "node_id": node_id("App", the_app.id),
        "client_id": f"Iv1.{the_app.id:016x}",
        "owner": user(urls, the_app.owner),
        "name": the_app.name,
        "description": "",
        "external_url": urls.html,
        "html_url": f"{urls.html}/apps/{the_app.slug}",
        "created_at": iso(the_app.created_at),
        "updated_at": iso(the_app.created_at),
        "permissions": dict(the_app.permissions),
        "events": list(the_app.events),
    }
    if installations_count is not None:
        data["installations_count"] = installations_count
    return data


def installation(
    urls: Urls, inst: Installation, the_app: App, *, webhook: bool = False
) -> dict[str, Any]:
    """REST answers carry ISO timestamps; webhook payloads carry epoch seconds."""
    stamp = (lambda t: int(t)) if webhook else iso
    return {
        "id": inst.id,
        "account": user(urls, inst.account),
        "repository_selection": inst.repository_selection,
        "access_tokens_url": f"{urls.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.html}/organizations/{inst.account.login}/settings/installations/"
        f"{inst.id}",
        "app_id": the_app.id,
        "app_slug": the_app.slug,
        "target_id": inst.account.id,
        "target_type": inst.account.type,
        "permissions": dict(inst.permissions),
        "events": list(inst.events),
        "created_at": stamp(inst.created_at),
        "updated_at": stamp(inst.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def installation_ref(inst: Installation) -> dict[str, Any]:
    """The `installation` object of repository events: id and node id only."""
    return {"id": inst.id, "node_id": node_id("IntegrationInstallation", inst.id)}


def git_actor(account: Account, ts: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": account.login, "email": account.email}
    if ts is not None:
        data["date"] = iso(ts)
    return data


def push_commit(urls: Urls, repo: Repo, commit: Commit, parent: Commit | None) -> dict[str, Any]:
    """A `commits[]` entry (and `head_commit`) of a push payload."""
    before = parent.files if parent else {}
    actor = {**git_actor(commit.author), "username": commit.author.login}
    return {
        "id": commit.sha,
        "tree_id": commit.tree_sha,
        "distinct": True,
        "message": commit.message,
        "timestamp": iso(commit.timestamp).replace("Z", "+00:00"),
        "url": f"{urls.repo_html(repo)}/commit/{commit.sha}",
        "author": actor,
        "committer": actor,
        "added": sorted(p for p in commit.files if p not in before),
        "removed": sorted(p for p in before if p not in commit.files),
        "modified": sorted(p for p in commit.files if p in before and before[p] != commit.files[p]),
    }


def rest_commit(urls: Urls, repo: Repo, commit: Commit) -> dict[str, Any]:
    """`GET /repos/{owner}/{repo}/commits/{ref}`, without the diff."""
    api = urls.repo_api(repo)
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", int(commit.sha[:12], 16)),
        "commit": {
            "author": git_actor(commit.author, commit.timestamp),
            "committer": git_actor(commit.author, commit.timestamp),
            "message": commit.message,
            "tree": {"sha": commit.tree_sha, "url": f"{api}/git/trees/{commit.tree_sha}"},
            "url": f"{api}/git/commits/{commit.sha}",
            "comment_count": 0,
        },
        "url": f"{api}/commits/{commit.sha}",
        "html_url": f"{urls.repo_html(repo)}/commit/{commit.sha}",
        "author": user(urls, commit.author),
        "committer": user(urls, commit.author),
        "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in commit.parents],
    }


def check_suite(urls: Urls, world: World, suite: CheckSuite) -> dict[str, Any]:
    runs = world.runs_of_suite(suite)
    commit = suite.repo.commits[suite.head_sha]
    status, conclusion = suite_state([(r.status, r.conclusion) for r in runs])
    return {
        "id": suite.id,
        "node_id": node_id("CheckSuite", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": status,
        "conclusion": conclusion,
        "url": f"{urls.repo_api(suite.repo)}/check-suites/{suite.id}",
        "before": suite.before,
        "after": suite.head_sha,
        "pull_requests": [],
        "app": app(urls, world.app),
        "created_at": iso(suite.created_at),
        "updated_at": iso(suite.updated_at),
        "rerequestable": True,
        "runs_rerequestable": True,
        "latest_check_runs_count": len({r.name for r in runs}),
        "check_runs_url": f"{urls.repo_api(suite.repo)}/check-suites/{suite.id}/check-runs",
        "head_commit": {
            "id": commit.sha,
            "tree_id": commit.tree_sha,
            "message": commit.message,
            "timestamp": iso(commit.timestamp),
            "author": git_actor(commit.author),
            "committer": git_actor(commit.author),
        },
    }


_CONCLUSION_RANK = [
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
]


def suite_state(runs: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """A suite's status and conclusion from its runs' (status, conclusion) pairs."""
    if not runs:
        return "queued", None
    if any(status != "completed" for status, _ in runs):
        in_progress = any(status == "in_progress" for status, _ in runs)
        return ("in_progress" if in_progress else "queued"), None
    conclusions = [c for _, c in runs if c]
    return "completed", min(conclusions, key=_CONCLUSION_RANK.index) if conclusions else None
