"""Every completed check run links (`details_url`) to its job's page on the dashboard, which a
teacher opens and a student cannot, whatever the conclusion."""

from __future__ import annotations

import pytest

from ghsim import GitHubSimulator
from pushgrade.serve import running
from tests.integration.e2e import EXAMPLE, ORG, jobs, new_repo, settings_for, settled_jobs
from tests.web.dash import Client

pytestmark = pytest.mark.docker


@pytest.fixture
async def sim():
    async with GitHubSimulator() as simulator:
        simulator.install(ORG)
        yield simulator


@pytest.fixture
async def app(sim, tmp_path, sandbox):
    """pushgrade with a worker this time: pushes are graded."""
    async with running(settings_for(sim, tmp_path), sandbox=sandbox, poll_s=0.5) as started:
        sim.webhook_url = f"{started.url}/webhooks/github"
        yield started


PASSING = (EXAMPLE / "submission-pass" / "calc.py").read_text()


async def test_graded_neutral_and_action_required_runs_all_link_to_their_page(
    sim, app, example_grader
):
    sim.add_member(ORG, "prof", role="admin")
    sim.add_member(ORG, "alice")
    new_repo(sim, "hw1-lee", example_grader)
    sim.create_repo(ORG, "hw1-bad", files={".github/pushgrade.yml": "image: [oops\n"})
    graded = await sim.push(ORG, "hw1-lee", {"calc.py": PASSING})
    side = await sim.push(ORG, "hw1-lee", {"calc.py": PASSING}, branch="draft")
    broken = await sim.push(ORG, "hw1-bad", {"calc.py": PASSING})
    runs = {
        sha: await sim.wait_for_check_run(ORG, repo, sha, timeout=120)
        for repo, sha in (("hw1-lee", graded), ("hw1-lee", side), ("hw1-bad", broken))
    }
    assert [r["conclusion"] for r in runs.values()] == ["success", "neutral", "action_required"]
    await settled_jobs(app, "hw1-lee")
    by_sha = {job.head_sha: job.id for job in await jobs(app) if job.trigger == "push"}
    for sha, run in runs.items():
        assert run["details_url"] == f"{app.url}/jobs/{by_sha[sha]}"
    teacher, student = Client(app.url, sim), Client(app.url, sim)
    try:
        await teacher.sign_in("prof")
        await student.sign_in("alice")
        page = await teacher.get(runs[graded]["details_url"][len(app.url) :])
        text = await page.text()
        assert page.status == 200 and "test_median_even" in text and "5 / 5" in text
        broken_page = await (await teacher.get(f"/jobs/{by_sha[broken]}")).text()
        assert "invalid config" in broken_page
        for run in runs.values():
            assert (await student.get(run["details_url"][len(app.url) :])).status == 403
    finally:
        await teacher.close()
        await student.close()
