"""A worker's housekeeping: heartbeats in the database, and a sweep of the containers and
volumes that dead workers left on the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

from ghapp.core.oneline import said
from ghapp.store import queue

if TYPE_CHECKING:
    from ghapp.work.worker import Worker

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # a worker silent for three of these is dead: its containers are swept
SWEEP_EVERY = 6  # heartbeats between sweeps (and one at start)


def every(worker: Worker) -> float:
    """How often a heartbeat is stored."""
    return max(1.0, min(HEARTBEAT_S, worker.lease_s / 3))


def stale_after(worker: Worker) -> float:
    """How long without a heartbeat stored before the worker counts as not working."""
    return every(worker) * 3


async def heartbeats(worker: Worker, stop: asyncio.Event) -> None:
    """Heartbeats, and every few of them a sweep of the containers of dead workers."""
    beats = 0
    try:
        while not stop.is_set():
            try:
                await queue.heartbeat(worker.sessions, worker.name, slots=worker.slots)
            except Exception as err:
                if worker.outage.refused(err):
                    log.warning("a heartbeat failed: %s", said(err))
            else:
                worker.last_beat = time.monotonic()
                worker.outage.took()
                if beats % SWEEP_EVERY == 0:
                    try:
                        await sweep(worker, within_s=every(worker) * 3)
                    except Exception as err:
                        log.warning("the orphan sweep failed: %s", said(err))
            beats += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every(worker))
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(queue.gone(worker.sessions, worker.name))


async def sweep(worker: Worker, *, within_s: float) -> None:
    known = await queue.known_workers(worker.sessions, fresh_s=within_s)
    known[worker.name] = True
    removed = await asyncio.to_thread(worker.sandbox.sweep, lambda owner: alive(owner, known))
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
