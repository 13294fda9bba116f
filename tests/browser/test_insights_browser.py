"""The insights pages in a real browser, over a class of 36 simulated students with varied
results (scores, late pushes and pushes after the cutoff, failing tests, an errored run, a
regrade): what the charts and tables show is the data, nothing the page's Content-Security-
Policy refuses is in it, and it reads on a phone. Screenshots in test-artifacts/. No Docker."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.async_api import expect

from tests.web.dash import TEACHER, artifacts
from tests.web.test_insights import (
    BASE,
    MAX,
    TESTS,
    expected_failures,
    score_counts,
    seed_class,
)

PHONE = {"width": 375, "height": 812}


async def signed_in_page(browser, web, path: str, **context):
    context = await browser.new_context(**context)
    page = await context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    await page.goto(f"{web.url}{path}")  # signed out: to the simulator's GitHub first
    await page.fill("#login_field", TEACHER)
    await page.get_by_role("button", name=re.compile("^Authorize")).click()
    await page.wait_for_url(f"{web.url}{path}")
    return context, page, refused


async def bar_values(page, chart: str, serie: int) -> list[int]:
    values = page.locator(f"#chart-{chart} svg .series.serie-{serie} .bar desc.value")
    return [int(float(v)) for v in await values.all_text_contents()]


async def test_a_teacher_reads_the_class_at_a_glance(sim, web, browser):
    pupils = await seed_class(web, sim, n=36)
    assert len(pupils) >= 30
    context, page, refused = await signed_in_page(
        browser, web, f"{BASE}/insights", viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )  # fmt: skip
    await expect(page.locator("h1")).to_have_text("hw2: insights")
    await expect(page.locator(".n-graded")).to_have_text("36")
    await expect(page.locator(".n-missing")).to_have_text("4")  # of 40 roster students
    await expect(page.locator(".n-late")).to_have_text("6")
    await expect(page.locator(".n-closed")).to_have_text("3")

    # The histogram's bars are the class's scores, latest and best.
    assert await bar_values(page, "scores", 0) == score_counts(p.latest.score for p in pupils)
    assert await bar_values(page, "scores", 1) == score_counts(p.best for p in pupils)
    # Pushes against the deadline: every push of the data in one bar or another.
    pushed = sum(len(p.attempts) + (1 if p.closed_push else 0) for p in pupils)
    per_bar = [sum(await bar_values(page, "pushes", s)) for s in range(3)]
    assert sum(per_bar) == pushed and per_bar[1:] == [6, 3]
    labels = await page.locator("#chart-pushes svg .axis.x text").all_text_contents()
    assert {"due", "cutoff"} <= set(labels)  # the deadline and the cutoff are marked
    await expect(page.locator(".latency .median")).to_have_text(re.compile(r"^\d+\.\d s$"))

    # Per test: most failed first, hidden ones included, with the counts of the data.
    rows = page.locator("table.insight-tests tr.test")
    await expect(rows).to_have_count(len(TESTS))
    expected = expected_failures(pupils)
    for k, (name, failing, ran) in enumerate(expected):
        row = rows.nth(k)
        await expect(row.locator("td.failing")).to_have_text(str(failing))
        await expect(row.locator("td.ran")).to_have_text(str(ran))
        shown = (await row.locator("td.name").inner_text()).strip()
        assert name.startswith(shown.rstrip("…")), (shown, name)
    await expect(rows.first.locator("td.name")).to_have_text("edge: empty list")
    await expect(rows.first).to_contain_text("hidden")
    rates = page.locator("#chart-tests svg .series.serie-0 .bar desc.value")
    shown = [float(v) for v in await rates.all_text_contents()]
    assert shown[::-1] == [round(100 * f / r, 1) for _, f, r in expected]  # the first on top
    # What the regrade changed.
    regrade = page.locator("table.insight-regrade tr.change", has_text="performance")
    await expect(regrade.locator("td.before")).to_have_text("27")
    await expect(regrade.locator("td.after")).to_have_text("20")
    await expect(regrade.locator("td.fixed")).to_have_text("7")
    await page.screenshot(path=str(artifacts() / "insights.png"), full_page=True)

    # A chart's CSV is its numbers.
    async with page.expect_download() as downloading:
        await page.locator("#chart-scores a.csv").click()
    download = await downloading.value
    assert download.suggested_filename == "cs101-hw2-scores.csv"
    table = list(csv.reader(io.StringIO(Path(await download.path()).read_text())))
    assert [int(r[1]) for r in table[1:]] == await bar_values(page, "scores", 0)

    # A test's page: the repos failing it.
    await rows.first.locator("td.name a").click()
    await expect(page.locator("h1")).to_have_text("edge: empty list")
    failing = sorted(
        (p.repo for p in pupils if p.latest.failing and "edge: empty list" in p.latest.failing),
        key=str.lower,
    )
    repos = await page.locator("table.insight-failing td.repo").all_inner_texts()
    assert [r.strip() for r in repos] == failing
    await page.screenshot(path=str(artifacts() / "insights-test.png"), full_page=True)

    # A repo's attempts.
    pupil = pupils[11]  # three attempts, the last late; fails the test; a push after the cutoff
    await page.get_by_role("link", name=pupil.repo, exact=True).click()
    await expect(page.locator("h1")).to_have_text(pupil.repo)
    scores = [*(g.score for g in pupil.attempts[:-1]), pupil.latest.score]
    await expect(page.locator("table.insight-attempts td.score")).to_have_text(
        [f"{s:g} / {MAX}" for s in scores]
    )
    dots = page.locator("#chart-attempts svg .series.serie-0 .dots desc.value")
    assert [float(v) for v in await dots.all_text_contents()] == scores
    late = page.locator("#chart-attempts svg .series.serie-1 .dots desc.value")
    assert [float(v) for v in await late.all_text_contents()] == [scores[-1]]
    await page.screenshot(path=str(artifacts() / "insights-student.png"), full_page=True)
    assert refused == []  # nothing inline that the page's policy blocks: no script, no style
    await context.close()


async def test_the_insights_read_on_a_phone(sim, web, browser):
    pupils = await seed_class(web, sim, n=36)
    for path, name in (
        (f"{BASE}/insights", "insights-phone.png"),
        (f"{BASE}/students/{pupils[5].repo}", "insights-student-phone.png"),
        (f"{BASE}/tests/performance", "insights-test-phone.png"),
    ):
        context, page, refused = await signed_in_page(
            browser, web, path, viewport=PHONE, is_mobile=True
        )
        # Nothing wider than the screen but the tables, which scroll in their own box.
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        for chart in await page.locator("figure.chart svg").all():
            box = await chart.bounding_box()
            assert box is not None and 300 <= box["width"] <= PHONE["width"], (path, box)
        await page.screenshot(path=str(artifacts() / name), full_page=True)
        assert refused == []
        await context.close()
