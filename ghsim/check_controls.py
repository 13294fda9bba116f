"""Playing GitHub's side of check runs: reading what the App wrote, pressing its buttons."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from ghsim import checks, webhooks
from ghsim.shapes import Urls
from ghsim.state import CheckRun, World
from ghsim.webhooks import Delivery


class CheckRunControls:
    """Mixin for `GitHubSimulator`: stored check runs, waiting for them, re-runs and actions."""

    world: World
    urls: Urls
    _changed: asyncio.Event

    if TYPE_CHECKING:

        async def deliver(self, event: str, payload: dict[str, Any]) -> Delivery: ...

    # -- check runs -------------------------------------------------------------------------
    def check_runs_changed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _render(self, run: CheckRun) -> dict[str, Any]:
        return checks.representation(self.urls, run, self.world.app)

    def _run(self, check_run_id: int) -> CheckRun:
        run = self.world.check_runs.get(check_run_id)
        if run is None:
            raise KeyError(f"no check run {check_run_id}")
        return run

    def check_runs(self, owner: str, name: str, head_sha: str | None = None) -> list[dict]:
        """Stored check runs of a repository (oldest first), in their API representation."""
        repo = self.world.require_repo(owner, name)
        runs = [
            r
            for r in self.world.check_runs.values()
            if r.repo is repo and (head_sha is None or r.head_sha == head_sha)
        ]
        return [self._render(r) for r in sorted(runs, key=lambda r: r.id)]

    def check_run(self, check_run_id: int) -> dict[str, Any]:
        return self._render(self._run(check_run_id))

    def check_run_history(self, check_run_id: int) -> list[dict[str, Any]]:
        """Every accepted create/update body for this check run, in order."""
        return list(self._run(check_run_id).history)

    def annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        return list(self._run(check_run_id).annotations)

    async def wait_for_check_run(
        self,
        owner: str,
        name: str,
        sha: str,
        *,
        status: str = "completed",
        timeout: float = 60,
        check_name: str | None = None,
        after: int | None = None,
    ) -> dict[str, Any]:
        """The newest check run on `sha` with `status`, waiting up to `timeout` seconds; with
        `after`, only one created after the check run of that id (a regrade's new check run,
        not the earlier one it replaces)."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            runs = [
                r
                for r in self.check_runs(owner, name, sha)
                if r["status"] == status
                and check_name in (None, r["name"])
                and (after is None or r["id"] > after)
            ]
            if runs:
                return runs[-1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(r["name"], r["status"]) for r in self.check_runs(owner, name, sha)]
                raise TimeoutError(
                    f"no {status} check run on {owner}/{name}@{sha[:7]} after {timeout}s; "
                    f"check runs there: {seen}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def rerequest_check_run(self, check_run_id: int, *, sender: str = "student") -> Delivery:
        """The "Re-run" button: `check_run` `rerequested` to the App."""
        run = self._run(check_run_id)
        payload = webhooks.check_run_payload(
            self.urls, self.world, run, "rerequested", self.world.account(sender)
        )
        return await self.deliver("check_run", payload)

    async def press_action(
        self, check_run_id: int, identifier: str, *, sender: str = "teacher"
    ) -> Delivery:
        """A button the App offered with `actions`: `check_run` `requested_action`."""
        run = self._run(check_run_id)
        if identifier not in [a["identifier"] for a in run.actions]:
            raise ValueError(f"check run {check_run_id} offers no action {identifier!r}")
        payload = webhooks.check_run_payload(
            self.urls,
            self.world,
            run,
            "requested_action",
            self.world.account(sender),
            requested_action=identifier,
        )
        return await self.deliver("check_run", payload)

    async def rerequest_check_suite(
        self, owner: str, name: str, head_sha: str, *, sender: str = "student"
    ) -> Delivery:
        repo = self.world.require_repo(owner, name)
        suite, _ = self.world.suite_for(repo, head_sha, now=time.time())
        payload = webhooks.check_suite_payload(
            self.urls, self.world, suite, "rerequested", self.world.account(sender)
        )
        return await self.deliver("check_suite", payload)
