"""Delivery reconciliation: find the webhooks that never reached pushgrade, and ingest them.

GitHub does not retry a failed delivery. If pushgrade was down or unreachable for a minute,
the pushes of that minute would never be graded. So, at start and every few minutes, the worker
lists the App's recent deliveries (`GET /app/hook/deliveries`, with the App's JWT), picks those
whose GUID was never stored, reads each one's payload from GitHub and ingests it as if it had
arrived. A delivery is stored once, by GUID, however often it is found (and if the original
arrives after all, it is a redelivery). The receive time is GitHub's first attempt to deliver
it: a push sent on time while pushgrade was down is on time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from ghapp import metrics
from ghapp.core import events
from ghapp.core.oneline import said
from ghapp.github import GitHubApp, parse_moment
from ghapp.store import deliveries
from ghapp.store.db import Sessions
from ghapp.store.models import utcnow
from ghapp.work.supervise import backoff
from ghapp.work.waiting import any_set

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=3)  # how far back each pass looks (GitHub keeps 30 days)
# Events whose loss would lose work; anything else (ping, check_run.completed …) is left.
RECOVERED_EVENTS = frozenset(
    {"push", "check_run", "check_suite", "installation", "installation_repositories"}
)


def next_pass_after(every_s: float, failures: int) -> float:
    """Seconds to the next pass after `failures` failed passes in a row: a period after one
    that worked, soon (1, 2, 4 … 30 s) after failures, never later than a period."""
    return every_s if not failures else min(backoff(failures), every_s)


class Reconciler:
    def __init__(
        self,
        sessions: Sessions,
        github: GitHubApp,
        *,
        every_s: float = 300.0,
        lookback: timedelta = LOOKBACK,
        on_new_work: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.github = github
        self.every_s = every_s
        self.lookback = lookback
        self.on_new_work = on_new_work
        self._poked = asyncio.Event()

    def poke(self) -> None:
        """Look now, not at the next period: the database is back after an outage, during which
        the deliveries GitHub sent were answered 500 (and GitHub does not send them again)."""
        self._poked.set()

    async def run(self, stop: asyncio.Event) -> None:
        """A pass now and every `every_s`; a pass that failed (the database refused what it
        recovered, GitHub did not answer) is tried again soon, with backoff, not a period
        later: what it was after are pushes nobody else will send again."""
        failures = 0
        while not stop.is_set():
            self._poked.clear()
            try:
                await self.once()
                failures = 0
            except Exception as err:
                failures += 1
                log.error(
                    "reconciling webhook deliveries failed (%s); trying again in %g s",
                    said(err),
                    next_pass_after(self.every_s, failures),
                )
            await any_set(stop, self._poked, timeout=next_pass_after(self.every_s, failures))

    async def once(self) -> int:
        """One pass: the number of deliveries recovered."""
        first_attempt: dict[str, dict] = {}
        async for item in self.github.deliveries(since=utcnow() - self.lookback):
            guid = item.get("guid")
            if isinstance(guid, str) and item.get("event") in RECOVERED_EVENTS:
                first_attempt[guid] = item  # newest first: the last one seen is the earliest
        if not first_attempt:
            return 0
        stored = await deliveries.stored(self.sessions, list(first_attempt))
        recovered = 0
        for guid, item in first_attempt.items():
            if guid in stored:
                continue
            if await self._recover(guid, item):
                recovered += 1
        if recovered:
            log.warning("recovered %d webhook deliveries that never reached pushgrade", recovered)
            self.on_new_work()
        return recovered

    async def _recover(self, guid: str, item: dict) -> bool:
        detail = await self.github.delivery(item["id"])
        payload = (detail.get("request") or {}).get("payload")
        event = str(item.get("event"))
        try:
            decisions = events.decide(event, payload, app_id=int(self.github.app_id))
        except events.BadPayload as err:
            log.error("delivery %s (%s) cannot be recovered: %s", guid, event, err)
            decisions = [events.Ignore(f"recovered, but unreadable: {err}")]
        action = payload.get("action") if isinstance(payload, dict) else None
        created = await deliveries.ingest(
            self.sessions,
            guid=guid,
            event=event,
            action=action if isinstance(action, str) else None,
            decisions=decisions,
            received_at=parse_moment(item.get("delivered_at")) or utcnow(),
        )
        if created is None:  # it arrived meanwhile
            return False
        metrics.DELIVERIES_RECOVERED.labels(event).inc()
        return True
