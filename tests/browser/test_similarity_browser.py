"""The similarity report in a real browser, computed for real from the 30 samples of one small
task (tests/unit/samples/similarity: 26 independent solutions, 4 planted copies, a template):
the page lists exactly the planted pairs, most similar first, and a pair's page shows the
matching fragments side by side, on a desktop and at a phone's width. Screenshots in
test-artifacts/. No Docker: the comparison is the worker's own function, run here."""

from __future__ import annotations

import re
from dataclasses import replace

from playwright.async_api import expect

from ghapp.core.similarity import compare
from ghapp.store import similarity as reports
from tests.browser.test_insights_browser import PHONE, signed_in_page
from tests.unit.test_similarity import PLANTED, SUBMISSIONS, TEMPLATE
from tests.web.dash import ORG, artifacts, seed

PAGE = f"/orgs/{ORG}/assignments/hw1/similarity"


async def stored_report(web) -> None:
    """The report a worker would store for cs101/hw1, its 30 repos named hw1-<student>."""
    report = compare(SUBMISSIONS, TEMPLATE)
    named = [replace(p, a=f"hw1-{p.a}", b=f"hw1-{p.b}") for p in report.pairs]
    commits = {f"hw1-{s.key}": f"{n:040x}" for n, s in enumerate(SUBMISSIONS, start=1)}
    await reports.request_refresh(web.sessions, ORG, "hw1", by="test")
    claimed = await reports.claim_due(web.sessions, worker="w", lease_s=60)
    assert claimed is not None
    done = reports.Computed(
        commits, "hw1-template", "e" * 40, report.compared, report.below, named, []
    )
    assert await reports.save(web.sessions, claimed, worker="w", computed=done)


async def test_a_teacher_finds_the_planted_copies_and_reads_them_side_by_side(sim, web, browser):
    await seed(web, sim)
    await stored_report(web)
    context, page, refused = await signed_in_page(
        browser, web, PAGE, viewport={"width": 1280, "height": 900}
    )
    listed = page.locator("table.similarity tbody tr")
    await expect(listed).to_have_count(len(PLANTED))
    shown = set()
    for k in range(len(PLANTED)):
        repos = re.findall(r"hw1-([a-z]+)", await listed.nth(k).inner_text())
        shown.add(tuple(sorted(repos[:2])))
    assert shown == {tuple(sorted(pair)) for pair in PLANTED}  # each planted copy, no other
    await expect(page.get_by_text("30", exact=False).first).to_be_visible()
    await page.screenshot(path=str(artifacts() / "similarity.png"), full_page=True)

    await listed.first.locator("a[href*='/similarity/']").first.click()
    await page.wait_for_url(re.compile(r"/similarity/\d+$"))
    fragments = page.locator("section.fragment")
    assert await fragments.count() >= 1  # each with its two sides
    assert "def " in await fragments.first.inner_text()
    await page.screenshot(path=str(artifacts() / "similarity-pair.png"), full_page=True)
    pair_url = page.url
    await context.close()

    context, page, _ = await signed_in_page(browser, web, PAGE, viewport=PHONE)
    await page.goto(pair_url)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone: the sides stack
    await page.screenshot(path=str(artifacts() / "similarity-pair-phone.png"), full_page=True)
    await context.close()
    assert refused == []  # nothing the page's Content-Security-Policy refused
