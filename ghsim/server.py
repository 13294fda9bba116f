"""`GitHubSimulator`: the REST API on loopback plus the Python calls tests drive it with."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Coroutine, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from ghsim import (
    manifests,
    oauth,
    routes_app,
    routes_checks,
    routes_handout,
    routes_orgs,
    routes_repos,
    webhooks,
)
from ghsim.api import SIM, Fault, github_middleware
from ghsim.auth import generate_private_key, public_key_of
from ghsim.check_controls import CheckRunControls
from ghsim.gitobj import ZERO_SHA
from ghsim.installing import InstallationControls
from ghsim.limits import Refusal, SecondaryLimits, Window
from ghsim.shapes import Urls
from ghsim.state import App, Invitation, RecordedRequest, Repo, World
from ghsim.webhooks import Delivery

_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


class GitHubSimulator(InstallationControls, CheckRunControls):
    """A GitHub double: one GitHub App, its installations, repositories and webhook.

    The REST API runs on `url` once started; the methods play GitHub's other side (an owner
    installing the App, students pushing, people pressing buttons) and deliver webhooks to
    `webhook_url`. Check runs: see `CheckRunControls`; installations: `InstallationControls`."""

    def __init__(
        self,
        *,
        app_id: int = 4242,
        webhook_secret: str = "ghsim-webhook-secret",  # noqa: S107 - a test double's default
        private_key_pem: bytes | None = None,
        app_slug: str = "pushgrade",
        token_ttl: float = 3600.0,
        webhook_timeout: float = 10.0,
        seed: int | None = None,
    ) -> None:
        self.app_id = app_id
        self.webhook_secret = webhook_secret
        self.private_key_pem = private_key_pem or generate_private_key()
        self.public_key = public_key_of(self.private_key_pem)
        self.client_id = f"Iv1.{app_id:016x}"
        self.oauth = oauth.OAuthUsers(client_id=self.client_id)  # people signing in to the App
        self.token_ttl = token_ttl
        self.webhook_timeout = webhook_timeout
        self.webhook_url: str | None = None
        self.hook_id = 400_000_000 + app_id
        self.world = World(app_id=app_id, app_slug=app_slug)
        self.deliveries: list[Delivery] = []
        self.requests: list[RecordedRequest] = []
        self.fault: Fault | None = None
        self.secondary_limits: SecondaryLimits | None = None
        self.limit_refusals: dict[int, list[Refusal]] = {}  # per installation, oldest first
        # Drives fault injection and token shapes only; tokens' secret parts come from `secrets`.
        self.rng = random.Random(seed)  # noqa: S311
        self.rate_used: dict[int, int] = {}
        self.url = ""
        self._delivery_ids = itertools.count(30_000_000_001)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        # Codes of manifest registrations not yet converted (ghsim.manifests).
        self.manifest_codes: dict[str, manifests.Registration] = {}
        self.manifest: dict[str, Any] | None = None  # the one the App was registered from

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[github_middleware])
        app[SIM] = self
        # Check-run routes first: `commits/{ref}/check-runs` must win over `commits/{ref}`.
        for table in (
            routes_checks.routes,
            routes_app.routes,
            routes_repos.routes,
            routes_orgs.routes,
            routes_handout.routes,
            oauth.routes,
            manifests.routes,
        ):
            app.add_routes(table)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"

    async def close(self) -> None:
        await self.drain()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GitHubSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def register(self, manifest: dict[str, Any], *, owner: str | None = None) -> App:
        """The App registered from `manifest` (ghsim.manifests): its name, permissions and
        events, and where its webhook and its sign-in go, as the manifest says."""
        app = self.world.app
        app.name = str(manifest.get("name") or app.name)
        if isinstance(manifest.get("default_permissions"), dict):
            app.permissions = {str(k): str(v) for k, v in manifest["default_permissions"].items()}
        if isinstance(manifest.get("default_events"), list):
            app.events = [str(event) for event in manifest["default_events"]]
        if owner is not None:
            app.owner = self.world.account(owner, "Organization")
        hook = manifest.get("hook_attributes") or {}
        if hook.get("url") and hook.get("active", True):
            self.webhook_url = str(hook["url"])
        callbacks = manifest.get("callback_urls") or []
        if callbacks:
            self.oauth.callback_url = str(callbacks[0])
        self.manifest = manifest
        return app

    @property
    def urls(self) -> Urls:
        return Urls(api=self.url, html=self.url)

    def in_background(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait until background work (redeliveries asked for over the API) has finished."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- repositories and pushes ------------------------------------------------------------
    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        files: dict[str, str | bytes] | None = None,
        default_branch: str = "main",
        private: bool = True,
        owner_type: str = "Organization",
        join_installation: bool = True,
        author: str = "teacher",
        template: bool = False,
    ) -> Repo:
        """A repository with one initial commit holding `files`. It joins the owner's
        installation (when there is one and `join_installation`). Sends nothing."""
        now = time.time()
        repo = self.world.add_repo(
            self.world.account(owner, owner_type),
            name,
            private=private,
            default_branch=default_branch,
            now=now,
        )
        changes = {p: _as_bytes(c) for p, c in (files or {}).items()}
        commit = self.world.commit(
            repo,
            parent=None,
            changes=changes,
            message="Initial commit",
            author=self.world.account(author),
            now=now,
        )
        repo.branches[default_branch] = commit.sha
        repo.is_template = template
        inst = self.world.installation_for(owner)
        if inst is not None and join_installation and inst.repository_selection == "selected":
            inst.repo_names.add(name.lower())
        return repo

    def add_member(self, org: str, login: str, *, role: str = "member") -> None:
        """Make `login` a member of `org`; role "admin" is an owner (a teacher to pushgrade)."""
        if role not in ("admin", "member"):
            raise ValueError("role is admin or member")
        self.world.account(login)
        self.world.memberships[(org.lower(), login.lower())] = role

    def create_user(self, login: str) -> None:
        """A GitHub user the simulator knows (a student who has an account, say)."""
        self.world.account(login)

    def invitations_for(self, login: str) -> list[Invitation]:
        """The repository invitations waiting for `login`."""
        return [
            i for i in self.world.invitations.values() if i.invitee.login.lower() == login.lower()
        ]

    def accept_invitation(self, login: str, owner: str, name: str) -> None:
        """`login` accepts the invitation to `owner/name`: a collaborator from now on."""
        repo = self.world.require_repo(owner, name)
        for invitation in self.invitations_for(login):
            if invitation.repo is repo:
                repo.collaborators[login.lower()] = routes_handout.INVITED_AS[
                    invitation.permissions
                ]
                del self.world.invitations[invitation.id]
                return
        raise KeyError(f"no invitation for {login} to {owner}/{name}")

    def permission_of(self, repo: Repo, login: str) -> str | None:
        """The strongest of `login`'s roles on `repo` (pull, triage, push, maintain, admin):
        as an org owner, a direct collaborator, or through a team; None without any."""
        login = login.lower()
        order = list(routes_handout.PERMISSIONS)
        found: list[str] = []
        owner = repo.owner.login.lower()
        if self.world.memberships.get((owner, login)) == "admin":
            found.append("admin")
        if login in repo.collaborators:
            found.append(repo.collaborators[login])
        for (org, slug), team in self.world.teams.items():
            granted = team.repos.get(repo.full_name.lower())
            if org == owner and granted and login in self.world.team_members.get((org, slug), {}):
                found.append(granted)
        return max(found, key=order.index) if found else None

    def add_team_member(self, org: str, team: str, login: str, *, role: str = "member") -> None:
        """Put `login` in the org's team `team` (a slug); role "member" or "maintainer"."""
        if role not in ("member", "maintainer"):
            raise ValueError("a team role is member or maintainer")
        self.world.account(login)
        members = self.world.team_members.setdefault((org.lower(), team.lower()), {})
        members[login.lower()] = role

    async def push(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes | None],
        *,
        branch: str = "main",
        message: str = "Update submission",
        pusher: str = "student",
    ) -> str:
        """Commit `files` (None deletes a path) on `branch` (a new branch starts from the
        default branch), deliver the `push` webhook, then `check_suite` `requested` as GitHub
        does for an App subscribed to check suites. Returns the new commit's sha."""
        repo = self.world.require_repo(owner, name)
        author = self.world.account(pusher)
        before = repo.branches.get(branch, ZERO_SHA)
        parent = repo.commits.get(before) or repo.resolve(repo.default_branch)
        commit = self.world.commit(
            repo,
            parent=parent,
            changes={p: None if c is None else _as_bytes(c) for p, c in files.items()},
            message=message,
            author=author,
            now=time.time(),
        )
        repo.branches[branch] = commit.sha
        payload = webhooks.push_payload(
            self.urls,
            self.world,
            repo,
            ref=f"refs/heads/{branch}",
            before=before,
            after=commit.sha,
            commits=[(commit, parent)],
            pusher=author,
        )
        if await self._deliver_repo_event(repo, "push", payload) is not None:
            suite, created = self.world.suite_for(repo, commit.sha, now=time.time())
            if created and "check_suite" in self.world.app.events:
                await self.deliver(
                    "check_suite",
                    webhooks.check_suite_payload(self.urls, self.world, suite, "requested", author),
                )
        return commit.sha

    async def delete_branch(
        self, owner: str, name: str, branch: str, *, pusher: str = "student"
    ) -> None:
        repo = self.world.require_repo(owner, name)
        before = repo.branches.pop(branch)
        payload = webhooks.push_payload(
            self.urls,
            self.world,
            repo,
            ref=f"refs/heads/{branch}",
            before=before,
            after=ZERO_SHA,
            commits=[],
            pusher=self.world.account(pusher),
        )
        await self._deliver_repo_event(repo, "push", payload)

    async def push_tag(
        self, owner: str, name: str, tag: str, *, sha: str | None = None, pusher: str = "student"
    ) -> None:
        """A lightweight tag on `sha` (default: the default branch's head)."""
        repo = self.world.require_repo(owner, name)
        commit = repo.resolve(sha or repo.default_branch)
        if commit is None:
            raise KeyError(f"no commit {sha} in {repo.full_name}")
        repo.tags[tag] = commit.sha
        branch = repo.branch_for(commit.sha)
        payload = webhooks.push_payload(
            self.urls,
            self.world,
            repo,
            ref=f"refs/tags/{tag}",
            before=ZERO_SHA,
            after=commit.sha,
            commits=[],
            pusher=self.world.account(pusher),
            base_ref=f"refs/heads/{branch}" if branch else None,
        )
        await self._deliver_repo_event(repo, "push", payload)

    async def _deliver_repo_event(
        self, repo: Repo, event: str, payload: dict[str, Any]
    ) -> Delivery | None:
        """GitHub sends a repository's events to the App only where it is installed."""
        if self.world.installation_covering(repo) is None:
            return None
        return await self.deliver(event, payload)

    # -- webhook deliveries -----------------------------------------------------------------
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery_id: str | None = None,
        secret: str | None = None,
    ) -> Delivery:
        """Sign and POST `payload` to `webhook_url`; the outcome is recorded, never raised.
        `delivery_id` is the X-GitHub-Delivery GUID (a fresh uuid4 by default)."""
        return await self._send(event, payload, delivery_id or webhooks.new_guid(), secret, False)

    async def redeliver(self, delivery_id: int | str) -> Delivery:
        """Deliver again, with the same GUID and `redelivery: true`, as GitHub's redelivery.
        Takes a delivery's numeric id, or a GUID (its latest delivery)."""
        original = next(
            (d for d in reversed(self.deliveries) if delivery_id in (d.id, d.guid)), None
        )
        if original is None:
            raise KeyError(f"no delivery {delivery_id}")
        return await self._send(original.event, original.payload, original.guid, None, True)

    async def _send(
        self,
        event: str,
        payload: dict[str, Any],
        guid: str,
        secret: str | None,
        redelivery: bool,
    ) -> Delivery:
        delivery = Delivery(
            id=next(self._delivery_ids),
            guid=guid,
            event=event,
            action=payload.get("action"),
            installation_id=(payload.get("installation") or {}).get("id"),
            repository_id=(payload.get("repository") or {}).get("id"),
            payload=payload,
            url=self.webhook_url,
            redelivery=redelivery,
        )
        self.deliveries.append(delivery)
        return await webhooks.send(
            self._client(),
            delivery,
            secret=self.webhook_secret if secret is None else secret,
            hook_id=self.hook_id,
            app_id=self.app_id,
            timeout=self.webhook_timeout,
        )

    # -- observation and faults -------------------------------------------------------------
    def writes(self, installation_id: int | None = None) -> list[RecordedRequest]:
        """Accepted content-creating requests (POST/PATCH/PUT/DELETE on repositories)."""
        return [
            r
            for r in self.requests
            if r.method in _WRITE_METHODS
            and r.path.startswith("/repos/")
            and r.status < 400
            and (installation_id is None or r.installation_id == installation_id)
        ]

    def set_fault(
        self,
        *,
        fail_ratio: float = 0.0,
        status: int = 502,
        delay: float = 0.0,
        path_prefix: str | None = None,
        methods: Iterable[str] | None = None,
        times: int | None = None,
        retry_after: int = 60,
    ) -> Fault:
        """Make matching API requests slow (`delay` seconds) and/or fail: a `fail_ratio` share
        of them (at most `times`) answer `status`; 403/429 come as a secondary rate limit
        with `retry-after`. One fault at a time; `clear_fault()` ends it."""
        self.fault = Fault(
            fail_ratio=fail_ratio,
            status=status,
            delay=delay,
            path_prefix=path_prefix,
            methods=frozenset(m.upper() for m in methods) if methods else None,
            times=times,
            retry_after=retry_after,
        )
        return self.fault

    def clear_fault(self) -> None:
        self.fault = None

    def set_secondary_limits(
        self,
        *,
        per_minute: int = 80,
        per_hour: int = 500,
        concurrent: int = 100,
        clock_scale: float = 1.0,
        status: int = 403,
    ) -> SecondaryLimits:
        """Enforce GitHub's secondary rate limits per installation token (see `ghsim.limits`):
        at most `per_minute` / `per_hour` accepted writes in sliding windows and `concurrent`
        requests in flight; past one, `status` (403 or 429) with `retry-after` in real seconds,
        and nothing changes. `clock_scale` compresses time: at 60 a minute lasts a second.
        Writes already accepted still count. Independent of `set_fault`; off by default."""
        limits = SecondaryLimits(
            per_minute=per_minute,
            per_hour=per_hour,
            concurrent=concurrent,
            clock_scale=clock_scale,
            status=status,
        )
        limits.seed(self.writes())
        self.secondary_limits = limits
        return limits

    def clear_secondary_limits(self) -> None:
        self.secondary_limits = None

    def writes_in_window(
        self, installation_id: int, window: Window = "minute"
    ) -> list[RecordedRequest]:
        """The installation's accepted writes answered in the last (scaled) minute or hour:
        what the secondary limits count against it, in-flight writes aside."""
        limits = self.secondary_limits
        seconds = limits.seconds(window) if limits else SecondaryLimits().seconds(window)
        cutoff = time.time() - seconds
        return [r for r in self.writes(installation_id) if r.at > cutoff]
