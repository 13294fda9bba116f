"""Waiting for whichever of several events comes first (a worker's or the publisher's wake-up,
or the stop)."""

from __future__ import annotations

import asyncio


async def any_set(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Return once any of `events` is set, or after `timeout` seconds; the waits still under way
    are cancelled."""
    tasks = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
