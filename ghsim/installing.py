"""Playing the account owner's side: installing the App, changing its repositories."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ghsim import webhooks
from ghsim.shapes import Urls
from ghsim.state import DEFAULT_EVENTS, DEFAULT_PERMISSIONS, Installation, World


class InstallationControls:
    """Mixin for `GitHubSimulator`: installations, their webhooks, and token expiry."""

    world: World
    urls: Urls

    if TYPE_CHECKING:

        async def deliver(self, event: str, payload: dict[str, Any]) -> Any: ...

    # -- installations ----------------------------------------------------------------------
    def install(
        self,
        account: str,
        *,
        account_type: str = "Organization",
        repos: Iterable[str] = (),
        permissions: dict[str, str] | None = None,
    ) -> Installation:
        """Install the App on `account`: on the named repositories, or on all when none are
        named. Sends nothing; `install_and_notify` also delivers the webhook."""
        if self.world.installation_for(account) is not None:
            raise ValueError(f"the App is already installed on {account}")
        names = {r.lower() for r in repos}
        now = time.time()
        inst = Installation(
            id=self.world.next_id("installation"),
            account=self.world.account(account, account_type),
            repository_selection="selected" if names else "all",
            repo_names=names,
            permissions=dict(permissions or DEFAULT_PERMISSIONS),
            events=[e for e in DEFAULT_EVENTS if not e.startswith("installation")],
            created_at=now,
            updated_at=now,
        )
        self.world.installations[inst.id] = inst
        return inst

    async def install_and_notify(
        self,
        account: str,
        *,
        account_type: str = "Organization",
        repos: Iterable[str] = (),
        permissions: dict[str, str] | None = None,
        sender: str = "teacher",
    ) -> Installation:
        inst = self.install(
            account, account_type=account_type, repos=repos, permissions=permissions
        )
        payload = webhooks.installation_payload(
            self.urls, self.world, inst, "created", self.world.account(sender)
        )
        await self.deliver("installation", payload)
        return inst

    async def uninstall_and_notify(self, account: str, *, sender: str = "teacher") -> None:
        inst = self._installation(account)
        payload = webhooks.installation_payload(
            self.urls, self.world, inst, "deleted", self.world.account(sender)
        )
        del self.world.installations[inst.id]
        await self.deliver("installation", payload)

    async def add_repos_and_notify(
        self, account: str, names: Iterable[str], *, sender: str = "teacher"
    ) -> None:
        await self._change_selection(account, list(names), "added", sender)

    async def remove_repos_and_notify(
        self, account: str, names: Iterable[str], *, sender: str = "teacher"
    ) -> None:
        await self._change_selection(account, list(names), "removed", sender)

    async def _change_selection(
        self, account: str, names: list[str], action: str, sender: str
    ) -> None:
        inst = self._installation(account)
        if inst.repository_selection == "all":
            inst.repository_selection = "selected"
            inst.repo_names = {r.name.lower() for r in self.world.installed_repos(inst)}
        repos = [self.world.require_repo(account, n) for n in names]
        for repo in repos:
            if action == "added":
                inst.repo_names.add(repo.name.lower())
            else:
                inst.repo_names.discard(repo.name.lower())
        inst.updated_at = time.time()
        payload = webhooks.installation_repositories_payload(
            self.urls,
            self.world,
            inst,
            action,
            self.world.account(sender),
            added=repos if action == "added" else (),
            removed=repos if action == "removed" else (),
        )
        await self.deliver("installation_repositories", payload)

    def _installation(self, account: str) -> Installation:
        inst = self.world.installation_for(account)
        if inst is None:
            raise KeyError(f"the App is not installed on {account}")
        return inst

    def expire_tokens(self, installation_id: int | None = None) -> None:
        """Make issued installation tokens expire now (all, or one installation's)."""
        for issued in self.world.tokens.values():
            if installation_id is None or issued.installation_id == installation_id:
                issued.expires_at = min(issued.expires_at, time.time() - 1)
