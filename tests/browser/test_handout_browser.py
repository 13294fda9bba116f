"""Handing out, the whole loop in a real browser (Debian's Chromium), graded in Docker: a teacher
imports a roster CSV; three students accept the same assignment (one double-clicks, two at once)
and each gets exactly one repository from the template with push access; a team of two shares
one repository; a student pushes and reads the result on their page; a granted extension turns
a late push into an on-time one; after the cutoff their repository is read-only. Screenshots go
to test-artifacts/."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from ghapp.work.locking import lock_due
from ghsim import GitHubSimulator
from pushgrade.serve import running
from pushgrade.setup import PERMISSIONS
from tests.conftest import BUSYBOX
from tests.integration.e2e import settings_for
from tests.web.dash import artifacts

pytestmark = pytest.mark.docker

ORG, TEACHER = "cs101", "prof"
STUDENTS = ("alice", "bob", "carol")
QUICK = f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - it builds"]\n'
ROSTER = (
    "identifier,github_username,github_id,name\n"
    "s1001,alice,,Alice Liddell\n"
    "s1002,bob,,Bob Builder\n"
    "s1003,,,Carol Danvers\n"
)


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.add_member(ORG, TEACHER, role="admin")
        for login in STUDENTS:
            simulator.add_member(ORG, login)
        yield simulator


@pytest.fixture
async def app(sim, tmp_path, sandbox):
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.3) as started:
        sim.webhook_url = f"{started.url}/webhooks/github"
        yield started


def org_file(image: str, *, class_due: datetime, cutoff: datetime) -> str:
    common = f'image: "{image}", template: starter'
    return (
        "teachers: staff\nassignments:\n"
        f'  hw1: {{repos: "hw1-*", {common}, open_to: roster}}\n'
        f'  duo: {{repos: "duo-*", {common}, max_team_size: 2}}\n'
        f'  final: {{repos: "final-*", {common}, lock_at_cutoff: true,'
        f' due: "{class_due.isoformat()}",'
        f' late: {{policy: grade, cutoff: "{cutoff.isoformat()}"}}}}\n'
    )


async def signed_in(browser, app, login: str, path: str):
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(f"{app.url}{path}")
    await page.fill("#login_field", login)
    await page.get_by_role("button", name=re.compile("^Authorize")).click()
    await page.wait_for_url(f"{app.url}{path}")
    return context, page


async def completed(sim, repo: str, sha: str) -> dict:
    return await sim.wait_for_check_run(ORG, repo, sha, status="completed", timeout=120)


async def test_the_whole_hand_out_loop_in_a_browser(sim, app, browser, build_image):
    shots = artifacts()
    image = build_image(QUICK)
    now = datetime.now(UTC).replace(microsecond=0)
    # final: late for the class already; no push graded after its cutoff, 25 s from now.
    class_due, cutoff = now - timedelta(hours=1), now + timedelta(seconds=25)
    sim.create_repo(ORG, "starter", files={"README.md": "# Starter\n"}, template=True)
    sim.create_repo(
        ORG,
        ".github",
        files={".github/pushgrade.yml": org_file(image, class_due=class_due, cutoff=cutoff)},
    )
    await sim.install_and_notify(ORG, permissions=PERMISSIONS)

    # The teacher imports the roster.
    context, page = await signed_in(browser, app, TEACHER, f"/orgs/{ORG}/roster")
    await page.set_input_files(
        'input[name="roster"]',
        files=[{"name": "classroom_roster.csv", "mimeType": "text/csv", "buffer": ROSTER.encode()}],
    )
    await page.get_by_role("button", name="Import", exact=True).click()
    await expect(page.locator("p.imported")).to_contain_text("3 new")
    await expect(page.locator("table.roster")).to_contain_text("Carol Danvers")
    await page.screenshot(path=str(shots / "handout-roster.png"), full_page=True)
    teacher = (context, page)

    # Three students accept hw1: alice double-clicks, bob and carol at the same moment.
    pages = {}
    for login in STUDENTS:
        pages[login] = await signed_in(browser, app, login, f"/a/{ORG}/hw1")
    alice_page = pages["alice"][1]
    await alice_page.get_by_role("button", name="Accept hw1").dblclick()
    await expect(alice_page.locator("div.accepted")).to_contain_text("cs101/hw1-alice")
    await pages["carol"][1].fill('input[name="identifier"]', "S1003")
    await asyncio.gather(
        *(
            pages[who][1].get_by_role("button", name="Accept hw1").click()
            for who in ("bob", "carol")
        )
    )
    for login in ("bob", "carol"):
        await expect(pages[login][1].locator("div.accepted")).to_contain_text(f"cs101/hw1-{login}")
    await alice_page.screenshot(path=str(shots / "handout-accepted.png"), full_page=True)
    generated = [r for r in sim.requests if r.path.endswith("/generate") and r.status == 201]
    assert sorted(r.body["name"] for r in generated) == ["hw1-alice", "hw1-bob", "hw1-carol"]
    for login in STUDENTS:
        repo = sim.world.require_repo(ORG, f"hw1-{login}")
        assert sim.permission_of(repo, login) == "push"
        assert repo.resolve("main").files == {"README.md": b"# Starter\n"}

    # A team of two: alice starts it, bob joins it; one repository for both.
    await alice_page.goto(f"{app.url}/a/{ORG}/duo")
    await alice_page.fill('input[name="team_name"]', "Owls")
    await alice_page.get_by_role("button", name="Accept duo").click()
    await expect(alice_page.locator("p.team")).to_contain_text("Owls")
    bob_page = pages["bob"][1]
    await bob_page.goto(f"{app.url}/a/{ORG}/duo")
    await bob_page.select_option('select[name="team"]', "owls")
    await bob_page.get_by_role("button", name="Accept duo").click()
    await expect(bob_page.locator("p.team")).to_contain_text("alice, bob")
    duo = sim.world.require_repo(ORG, "duo-owls")
    assert sim.permission_of(duo, "alice") == sim.permission_of(duo, "bob") == "push"

    # carol pushes hw1 and reads the result on her page.
    carol_page = pages["carol"][1]
    sha = await sim.push(
        ORG, "hw1-carol", {"main.c": "int main(void){return 0;}\n"}, pusher="carol"
    )
    assert (await completed(sim, "hw1-carol", sha))["conclusion"] == "success"
    await carol_page.goto(f"{app.url}/me")
    await expect(carol_page.locator("li.assignment")).to_contain_text("1 test passed")
    await carol_page.screenshot(path=str(shots / "handout-student-page.png"), full_page=True)

    # final is past due for the class: bob's push is late until the teacher extends him.
    await bob_page.goto(f"{app.url}/a/{ORG}/final")
    await bob_page.get_by_role("button", name="Accept final").click()
    await expect(bob_page.locator("div.accepted")).to_contain_text("cs101/final-bob")
    late = await sim.push(ORG, "final-bob", {"a.c": "1\n"}, pusher="bob")
    assert (await completed(sim, "final-bob", late))["output"]["title"].startswith("Late")
    _, teacher_page = teacher
    await teacher_page.goto(f"{app.url}/orgs/{ORG}/assignments/final")
    extended_to = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    ext_cutoff = max(cutoff, extended_to + timedelta(seconds=1))  # never before the class's
    await teacher_page.select_option('select[name="repo"]', "final-bob")
    await teacher_page.fill('input[name="due"]', extended_to.strftime("%Y-%m-%dT%H:%M:%S"))
    await teacher_page.fill('input[name="cutoff"]', ext_cutoff.strftime("%Y-%m-%dT%H:%M:%S"))
    await teacher_page.get_by_role("button", name="Grant an extension").click()
    await expect(teacher_page.locator("table.extensions")).to_contain_text("final-bob")
    on_time = await sim.push(ORG, "final-bob", {"a.c": "2\n"}, pusher="bob")
    run = await completed(sim, "final-bob", on_time)
    assert not run["output"]["title"].startswith("Late"), run["output"]
    assert "Your due date is extended to" in run["output"]["summary"]
    await teacher_page.screenshot(path=str(shots / "handout-gradebook.png"), full_page=True)

    # After bob's cutoff his repository turns read-only.
    repo = sim.world.require_repo(ORG, "final-bob")
    assert sim.permission_of(repo, "bob") == "push"
    await asyncio.sleep(max(0.0, (ext_cutoff - datetime.now(UTC)).total_seconds()) + 0.5)
    assert await lock_due(app.worker.crew) == 1
    assert sim.permission_of(repo, "bob") == "pull"
    await teacher_page.reload()
    await expect(teacher_page.locator("#term ~ p.facts").first).to_contain_text("1 locked")
    await teacher_page.screenshot(path=str(shots / "handout-locked.png"), full_page=True)
    for context, _ in [teacher, *pages.values()]:
        await context.close()
