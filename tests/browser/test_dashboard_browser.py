"""The dashboard in a real browser, end to end: a student's push graded in Docker, a teacher who
signs in through the simulator's GitHub pages, reads the gradebook and a hidden test's output,
downloads the CSV, presses re-run and watches the job complete without reloading."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ghapp.store.models import Job
from ghsim import GitHubSimulator
from pushgrade.serve import running
from tests.conftest import BUSYBOX
from tests.integration.e2e import settings_for
from tests.web.dash import artifacts

pytestmark = pytest.mark.docker

ORG, REPO, TEACHER = "cs101", "hw1-alice", "prof"
# A grader with a test students never see: its output names the expected answer.
GRADE = """\
answer=$(cat /submission/answer.txt 2>/dev/null | tr -cd '0-9')
if [ "$answer" = "42" ]; then s=4; st=passed; else s=0; st=failed; fi
cat > /results/results.json <<EOF
{"tests": [
  {"name": "visible: an answer is there", "score": 1, "max_score": 1, "status": "passed"},
  {"name": "hidden: the answer is right", "score": $s, "max_score": 4, "status": "$st",
   "output": "secret check: expected 42, got $answer", "visibility": "hidden"}
]}
EOF
"""


@pytest.fixture(scope="module")
def hidden_grader(build_image) -> str:
    return build_image(
        f'FROM {BUSYBOX}\nCOPY grade.sh /grade.sh\nCMD ["/bin/sh", "/grade.sh"]\n',
        {"grade.sh": GRADE},
    )


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        simulator.add_member(ORG, TEACHER, role="admin")
        simulator.add_member(ORG, "alice")
        yield simulator


@pytest.fixture
async def app(sim, tmp_path, sandbox):
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.3) as started:
        sim.webhook_url = f"{started.url}/webhooks/github"
        yield started


async def test_a_teacher_reads_everything_downloads_the_csv_and_watches_a_rerun(
    sim, app, browser, hidden_grader
):
    sim.create_repo(
        ORG,
        REPO,
        files={".github/pushgrade.yml": f"image: {hidden_grader}\nvisibility: tests\n"},
    )
    sha = await sim.push(ORG, REPO, {"answer.txt": "41\n"}, pusher="alice")
    run = await sim.wait_for_check_run(ORG, REPO, sha, status="completed", timeout=120)
    async with app.sessions() as session:
        [job] = (await session.execute(select(Job))).scalars()
    # The check run links to the submission page; students never read the hidden test there.
    assert run["details_url"] == f"{app.url}/jobs/{job.id}"
    assert "expected 42" not in str(run["output"])

    context = await browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 800}
    )
    page = await context.new_page()
    await page.goto(f"{app.url}/")
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await expect(page.locator("#login_field")).to_be_visible()  # the simulator's GitHub page
    assert page.url.startswith(f"{sim.url}/login/oauth/authorize")
    await page.fill("#login_field", TEACHER)
    await page.get_by_role("button", name=re.compile("^Authorize")).click()
    await expect(page.get_by_role("heading", name="Your orgs")).to_be_visible()
    assert page.url == f"{app.url}/"
    cookies = await context.cookies(app.url)
    session_cookie = next(c for c in cookies if c["name"] == "pushgrade_session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"

    await page.get_by_role("link", name=ORG).click()
    await page.get_by_role("link", name="default").click()  # the short form's assignment
    row = page.locator("table.gradebook tbody tr", has_text=REPO)
    await expect(row).to_contain_text("1 / 5")
    await expect(row).to_contain_text("alice")
    await page.screenshot(path=str(artifacts() / "gradebook.png"), full_page=True)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "cs101-default-gradebook.csv"
    table = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
    assert [(r["repo"], r["login"], r["score"], r["max"]) for r in table] == [
        (REPO, "alice", "1", "5")
    ]

    await row.get_by_role("link", name="1 / 5").click()
    await expect(page.locator("pre.test-output")).to_have_text("secret check: expected 42, got 41")
    await expect(page.locator("tr.test", has_text="hidden: the answer is right")).to_contain_text(
        "hidden"
    )
    await page.screenshot(path=str(artifacts() / "submission.png"), full_page=True)

    # Re-run: the new job's page shows it waiting, then done, without a reload.
    await page.get_by_role("button", name="Re-run").click()
    await page.wait_for_url(re.compile(rf"{re.escape(app.url)}/jobs/\d+$"))
    assert page.url != f"{app.url}/jobs/{job.id}"
    await page.evaluate("window.__notReloaded = true")
    state = page.locator(".job-state")
    await expect(state).not_to_have_text("done", timeout=1)  # it starts waiting
    await expect(state).to_have_text("done", timeout=120_000)
    assert await page.evaluate("window.__notReloaded === true")
    await expect(page.locator("pre.test-output")).to_have_text("secret check: expected 42, got 41")
    await expect(page.locator(".score")).to_have_text("1 / 5")
    runs = sim.check_runs(ORG, REPO, sha)
    assert len(runs) == 2 and runs[-1]["details_url"] == page.url
    await context.close()


async def test_the_gradebook_reads_on_a_phone(sim, app, browser, hidden_grader):
    sim.create_repo(ORG, REPO, files={".github/pushgrade.yml": f"image: {hidden_grader}\n"})
    sha = await sim.push(ORG, REPO, {"answer.txt": "42\n"}, pusher="alice")
    await sim.wait_for_check_run(ORG, REPO, sha, status="completed", timeout=120)
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    await page.goto(f"{app.url}/orgs/{ORG}/assignments/default")  # signed out: to GitHub first
    await page.fill("#login_field", TEACHER)
    await page.get_by_role("button", name=re.compile("^Authorize")).click()
    await expect(page.locator("table.gradebook")).to_contain_text("5 / 5")
    assert page.url == f"{app.url}/orgs/{ORG}/assignments/default"
    # Nothing wider than the screen but the table, which scrolls in its own box.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    await page.screenshot(path=str(artifacts() / "gradebook-phone.png"), full_page=True)
    await context.close()
