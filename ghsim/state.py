"""The simulated world: accounts, repositories with real git commit ids, installations, tokens,
check suites and runs. Plain data plus the few operations that keep it consistent; no I/O."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ghsim.gitobj import ZERO_SHA, commit_sha, tree_sha

DEFAULT_PERMISSIONS = {"checks": "write", "contents": "read", "metadata": "read", "members": "read"}
DEFAULT_EVENTS = ["check_run", "check_suite", "installation", "installation_repositories", "push"]
_HEX = re.compile(r"[0-9a-f]{4,40}")


@dataclass
class Account:
    """A user, organization or bot, as GitHub identifies it."""

    login: str
    id: int
    type: str = "User"  # "User" | "Organization" | "Bot"

    @property
    def email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: Account
    permissions: dict[str, str]
    events: list[str]
    created_at: float


@dataclass
class Installation:
    id: int
    account: Account
    repository_selection: str  # "all" | "selected"
    repo_names: set[str]  # lower-case names, used when the selection is "selected"
    permissions: dict[str, str]
    events: list[str]
    created_at: float
    updated_at: float

    def covers(self, repo: Repo) -> bool:
        if repo.owner.login.lower() != self.account.login.lower():
            return False
        return self.repository_selection == "all" or repo.name.lower() in self.repo_names


@dataclass
class Commit:
    sha: str
    tree_sha: str
    parents: tuple[str, ...]
    files: dict[str, bytes]
    message: str
    author: Account
    timestamp: int


@dataclass
class Repo:
    id: int
    owner: Account
    name: str
    private: bool
    default_branch: str
    created_at: int
    pushed_at: int
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    is_template: bool = False
    archived: bool = False
    description: str | None = None
    # Direct collaborators, lower-case login → pull | triage | push | maintain | admin.
    collaborators: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def resolve(self, ref: str) -> Commit | None:
        """A commit from a sha (full or unique prefix), branch, tag or `refs/heads|tags/...`."""
        for prefix, table in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if ref.startswith(prefix):
                sha = table.get(ref[len(prefix) :])
                return self.commits.get(sha) if sha else None
        for table in (self.branches, self.tags):
            if ref in table:
                return self.commits[table[ref]]
        if _HEX.fullmatch(ref):
            if ref in self.commits:
                return self.commits[ref]
            found = [c for sha, c in self.commits.items() if sha.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def branch_for(self, sha: str) -> str | None:
        """A branch whose head is `sha` (the default branch first), as check suites name it."""
        if self.branches.get(self.default_branch) == sha:
            return self.default_branch
        return next((b for b, s in self.branches.items() if s == sha), None)


@dataclass
class IssuedToken:
    token: str
    installation_id: int
    expires_at: float
    permissions: dict[str, str]
    repository_ids: set[int] | None  # None: every repository of the installation

    def valid(self, now: float) -> bool:
        return now < self.expires_at


@dataclass
class CheckSuite:
    id: int
    repo: Repo
    head_sha: str
    head_branch: str | None
    before: str
    created_at: float
    updated_at: float


@dataclass
class CheckRun:
    id: int
    repo: Repo
    suite: CheckSuite
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    details_url: str | None = None
    external_id: str = ""
    output: dict[str, Any] = field(default_factory=dict)  # title, summary, text, images
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # accepted request bodies
    updated_at: float = 0.0


@dataclass
class RecordedRequest:
    """One API request the simulator answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    installation_id: int | None
    app_auth: bool
    body: Any
    at: float
    api_version: str | None = None  # the X-GitHub-Api-Version it named, if any


@dataclass
class Invitation:
    """An invitation to collaborate on a repository, waiting for the invitee."""

    id: int
    repo: Repo
    invitee: Account
    inviter: Account
    permissions: str  # read | triage | write | maintain | admin (GitHub's names in invitations)
    created_at: float


@dataclass
class Team:
    id: int
    org: str  # lower-case login
    name: str
    slug: str
    privacy: str
    # lower-case "owner/name" → pull | triage | push | maintain | admin
    repos: dict[str, str] = field(default_factory=dict)


class World:
    """Everything the simulator knows. Ids come from per-kind counters, so runs are repeatable."""

    def __init__(self, *, app_id: int, app_slug: str) -> None:
        self._counters = {
            kind: itertools.count(start)
            for kind, start in (
                ("account", 5_000_001),
                ("repo", 700_000_001),
                ("installation", 40_000_001),
                ("check_suite", 9_000_000_001),
                ("check_run", 20_000_000_001),
                ("invitation", 300_000_001),
                ("team", 8_000_001),
            )
        }
        self.accounts: dict[str, Account] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.download_tokens: dict[str, tuple[int, float]] = {}  # token -> (repo id, expiry)
        self.check_suites: dict[int, CheckSuite] = {}
        self.check_runs: dict[int, CheckRun] = {}
        # (org login, user login), lower-case → "admin" (an owner) or "member"
        self.memberships: dict[tuple[str, str], str] = {}
        # (org login, team slug), lower-case → {user login, lower-case: "member" | "maintainer"}
        self.team_members: dict[tuple[str, str], dict[str, str]] = {}
        self.teams: dict[tuple[str, str], Team] = {}  # (org, slug), lower-case
        self.invitations: dict[int, Invitation] = {}
        owner = Account(login=f"{app_slug}-dev", id=self.next_id("account"), type="Organization")
        self.app = App(
            id=app_id,
            slug=app_slug,
            name=app_slug,
            owner=owner,
            permissions=dict(DEFAULT_PERMISSIONS),
            events=list(DEFAULT_EVENTS),
            created_at=time.time(),
        )
        self.bot = Account(login=f"{app_slug}[bot]", id=self.next_id("account"), type="Bot")

    def next_id(self, kind: str) -> int:
        return next(self._counters[kind])

    # -- accounts and installations ---------------------------------------------------------
    def account(self, login: str, account_type: str = "User") -> Account:
        found = self.accounts.get(login.lower())
        if found is None:
            found = Account(login=login, id=self.next_id("account"), type=account_type)
            self.accounts[login.lower()] = found
        return found

    def installation_for(self, login: str) -> Installation | None:
        return next(
            (i for i in self.installations.values() if i.account.login.lower() == login.lower()),
            None,
        )

    def installation_covering(self, repo: Repo) -> Installation | None:
        return next((i for i in self.installations.values() if i.covers(repo)), None)

    def installed_repos(self, installation: Installation) -> list[Repo]:
        return [r for r in self.repos.values() if installation.covers(r)]

    # -- repositories and commits -----------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get((owner.lower(), name.lower()))

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def require_repo(self, owner: str, name: str) -> Repo:
        repo = self.repo(owner, name)
        if repo is None:
            raise KeyError(f"no repository {owner}/{name} in the simulator")
        return repo

    def add_repo(
        self, owner: Account, name: str, *, private: bool, default_branch: str, now: float
    ) -> Repo:
        if self.repo(owner.login, name) is not None:
            raise ValueError(f"repository {owner.login}/{name} already exists")
        repo = Repo(
            id=self.next_id("repo"),
            owner=owner,
            name=name,
            private=private,
            default_branch=default_branch,
            created_at=int(now),
            pushed_at=int(now),
        )
        self.repos[(owner.login.lower(), name.lower())] = repo
        return repo

    def commit(
        self,
        repo: Repo,
        *,
        parent: Commit | None,
        changes: dict[str, bytes | None],
        message: str,
        author: Account,
        now: float,
    ) -> Commit:
        """Record a commit whose tree is the parent's tree with `changes` (None deletes)."""
        files = dict(parent.files) if parent else {}
        for path, content in changes.items():
            path = path.strip("/")
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content
        tree = tree_sha(files)
        parents = (parent.sha,) if parent else ()
        timestamp = int(now)
        sha = commit_sha(
            tree=tree,
            parents=parents,
            author=author.login,
            email=author.email,
            timestamp=timestamp,
            message=message,
        )
        commit = Commit(sha, tree, parents, files, message, author, timestamp)
        repo.commits[sha] = commit
        repo.pushed_at = timestamp
        return commit

    # -- checks -----------------------------------------------------------------------------
    def suite_for(self, repo: Repo, head_sha: str, *, now: float) -> tuple[CheckSuite, bool]:
        """The app's check suite for this commit, and whether it was just created."""
        for suite in self.check_suites.values():
            if suite.repo is repo and suite.head_sha == head_sha:
                return suite, False
        commit = repo.commits[head_sha]
        suite = CheckSuite(
            id=self.next_id("check_suite"),
            repo=repo,
            head_sha=head_sha,
            head_branch=repo.branch_for(head_sha),
            before=commit.parents[0] if commit.parents else ZERO_SHA,
            created_at=now,
            updated_at=now,
        )
        self.check_suites[suite.id] = suite
        return suite, True

    def runs_of_suite(self, suite: CheckSuite) -> list[CheckRun]:
        return [r for r in self.check_runs.values() if r.suite is suite]
