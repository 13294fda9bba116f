"""A real browser for the dashboard's tests: Debian's Chromium driven by Playwright (never a
browser Playwright downloads). Without /usr/bin/chromium these tests skip, except under CI,
where they fail: `./dev test` installs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The dashboard's seeded web side (no worker, no Docker), for pages that need no grading run; a
# test module with a `sim` of its own (the end-to-end one) uses that instead.
from tests.web.dash import sim, web  # noqa: F401 (fixtures, found by pytest by name)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (Debian's chromium): ./dev test installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()
