"""A worker's housekeeping: heartbeats in the database, and a sweep of the containers and
volumes that dead workers left on the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from ghapp.core.oneline import said
from ghapp.store import workers
from ghapp.work.crew import Crew
from ghapp.work.supervise import Outage

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # a worker silent for three of these is dead: its containers are swept
SWEEP_EVERY = 6  # heartbeats between sweeps (and one at start)


class Heartbeats:
    """A worker's heartbeats: stored every `every` seconds; a write the database refuses
    starts an `Outage`, one it takes ends it."""

    def __init__(self, crew: Crew, *, slots: int, outage: Outage) -> None:
        self.crew = crew
        self.slots = slots
        self.outage = outage
        self.last = time.monotonic()  # the last heartbeat the database took

    @property
    def every(self) -> float:
        """How often a heartbeat is stored."""
        return max(1.0, min(HEARTBEAT_S, self.crew.lease_s / 3))

    @property
    def stale_after(self) -> float:
        """How long without a heartbeat stored before the worker counts as not working."""
        return self.every * 3

    async def beat(self) -> bool:
        """Store one heartbeat; whether the database took it."""
        try:
            await workers.heartbeat(self.crew.sessions, self.crew.name, slots=self.slots)
        except Exception as err:
            if self.outage.refused(err):
                log.warning("a heartbeat failed: %s", said(err))
            return False
        self.last = time.monotonic()
        self.outage.took()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeats, and every few of them a sweep of the containers of dead workers."""
        beats = 0
        try:
            while not stop.is_set():
                if await self.beat() and beats % SWEEP_EVERY == 0:
                    try:
                        await sweep(self.crew, within_s=self.every * 3)
                    except Exception as err:
                        log.warning("the orphan sweep failed: %s", said(err))
                beats += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(workers.gone(self.crew.sessions, self.crew.name))


async def sweep(crew: Crew, *, within_s: float) -> None:
    known = await workers.known_workers(crew.sessions, fresh_s=within_s)
    known[crew.name] = True
    removed = await asyncio.to_thread(crew.sandbox.sweep, lambda owner: alive(owner, known))
    if removed:
        log.warning("removed %d orphaned containers and volumes: %s", len(removed), removed)


def alive(owner: str, known: dict[str, bool]) -> bool:
    """Whether the owner of a container is alive: a worker of ours by its heartbeat; one on this
    host by its process; anyone else (another deployment sharing the engine) is not ours to
    judge, so alive."""
    if owner in known:
        return known[owner]
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return True
