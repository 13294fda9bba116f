"""Regrade all in a real browser: the button asks first (no answer, no request), sends the form
once however often it is clicked, and the gradebook comes back saying how many repos were
queued; a submission page shows the image it was graded with. No Docker: a seeded database."""

from __future__ import annotations

import re

from playwright.async_api import expect
from sqlalchemy import func, select

from ghapp.store.models import Job, Submission
from tests.web.dash import ORG, TEACHER, artifacts, seed

HW1 = f"/orgs/{ORG}/assignments/hw1"


async def regrade_jobs(web) -> int:
    async with web.sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Job).where(Job.trigger == "dashboard")
        )


async def signed_in_page(browser, web, path: str):
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"{web.url}{path}")  # signed out: to the simulator's GitHub first
    await page.fill("#login_field", TEACHER)
    await page.get_by_role("button", name=re.compile("^Authorize")).click()
    await page.wait_for_url(f"{web.url}{path}")
    return context, page


async def test_regrade_all_asks_first_then_sends_once_and_says_how_many(sim, web, browser):
    await seed(web, sim)
    context, page = await signed_in_page(browser, web, HW1)
    button = page.get_by_role("button", name="Regrade all")
    asked: list[str] = []

    async def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda dialog: answer(dialog, False))
    await button.click()
    await page.wait_for_timeout(300)
    assert asked == [
        "Regrade all 2 graded repos of hw1? The latest graded push of each is graded again "
        "with the current image."
    ]
    assert page.url == f"{web.url}{HW1}" and await regrade_jobs(web) == 0  # said no: nothing

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.once("dialog", lambda dialog: answer(dialog, True))
    await button.click()
    await page.wait_for_url(f"{web.url}{HW1}?regraded=2")
    await expect(page.locator("p.regraded")).to_contain_text("2 repos queued for regrading")
    assert posts == [f"{web.url}{HW1}/regrade"] and len(asked) == 2
    assert await regrade_jobs(web) == 2
    await page.screenshot(path=str(artifacts() / "regrade-all.png"), full_page=True)

    # Back to the page before, the button works again; sent twice at once (an impatient double
    # click), it asks once and sends once.
    await page.go_back()
    await page.wait_for_url(f"{web.url}{HW1}")
    asked_now = await page.evaluate(
        """() => {
            let asked = 0;
            window.confirm = () => { asked += 1; return true; };
            const form = document.querySelector("form.regrade-all");
            form.requestSubmit();
            form.requestSubmit();
            return asked;
        }"""
    )
    assert asked_now == 1
    await page.wait_for_url(f"{web.url}{HW1}?regraded=2")
    assert await regrade_jobs(web) == 4 and len(posts) == 2
    await context.close()


async def test_a_submission_shows_the_image_it_was_graded_with(sim, web, browser):
    ids = await seed(web, sim)
    async with web.sessions() as session, session.begin():
        graded = await session.scalar(select(Submission).where(Submission.job_id == ids["alice1"]))
        graded.image = "ghcr.io/cs101/hw1:2026"
        graded.image_id = "sha256:" + "1" * 64
        graded.image_digest = "ghcr.io/cs101/hw1@sha256:" + "d" * 64
    context, page = await signed_in_page(browser, web, f"/jobs/{ids['alice1']}")
    pins = page.locator("dd.image-pins")
    await expect(pins).to_contain_text("ghcr.io/cs101/hw1:2026")
    await expect(pins.locator("code.image-id")).to_have_text("111111111111")
    await expect(pins.locator("pre.image-pins-full")).to_be_hidden()
    await pins.locator("summary").click()  # the full values, to copy
    await expect(pins.locator("pre.image-pins-full")).to_contain_text(
        "ghcr.io/cs101/hw1@sha256:" + "d" * 64
    )
    await page.screenshot(path=str(artifacts() / "submission-image.png"), full_page=True)
    await context.close()
