"""Waiting for whichever of several events comes first (a worker's or the publisher's wake-up,
or the stop)."""

from __future__ import annotations

import asyncio


async def any_set(*events: asyncio.Event) -> None:
    """Return once any of `events` is set; the waits on the others are cancelled."""
    tasks = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
