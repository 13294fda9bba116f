"""A Gradescope image, end to end: it finds /autograder/submission_metadata.json as Gradescope
documents it (the due dates, the student, the earlier submissions with their scores), readable
by root alone, and its results.json leaderboard is kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ghapp.store.models import Job, Submission
from tests.conftest import BUSYBOX
from tests.integration.e2e import ORG, new_repo, settled_jobs

pytestmark = pytest.mark.docker

# Prints the metadata and its mode, then scores what the submission asks for; the leaderboard
# counts the earlier submissions the metadata lists.
RUN_AUTOGRADER = """#!/bin/sh
cat /autograder/submission_metadata.json
echo
echo "MODE $(stat -c '%a %U' /autograder/submission_metadata.json)"
earlier=$(grep -c '"submission_time"' /autograder/submission_metadata.json)
score=$(cat /autograder/submission/score.txt)
printf '{"score": %s, "max_score": 10, "leaderboard": [{"name": "Earlier", "value": %s}]}' \
  "$score" "$earlier" > /autograder/results/results.json
"""
DUE = "2030-01-15T23:59:00+01:00"
CUTOFF = "2030-01-17T23:59:00+01:00"


@pytest.fixture(scope="module")
def gradescope_image(build_image) -> str:
    dockerfile = (
        f"FROM {BUSYBOX}\n"
        "COPY run_autograder /autograder/run_autograder\n"
        "RUN mkdir -p /autograder/results\n"
    )
    return build_image(dockerfile, {"run_autograder": RUN_AUTOGRADER})


def metadata_in(log: str) -> tuple[dict, str]:
    document, _, rest = log.partition("\nMODE ")
    return json.loads(document[document.index("{") :]), rest.split("\n", 1)[0]


async def test_a_gradescope_image_reads_the_submissions_metadata(sim, app, gradescope_image):
    new_repo(
        sim,
        "hw1-alice",
        gradescope_image,
        due=f'"{DUE}"',
        late=f'{{policy: grade, cutoff: "{CUTOFF}"}}',
    )
    first = await sim.push(ORG, "hw1-alice", {"score.txt": "4\n"}, pusher="alice")
    await sim.wait_for_check_run(ORG, "hw1-alice", first, status="completed", timeout=120)
    await settled_jobs(app, "hw1-alice")
    second = await sim.push(ORG, "hw1-alice", {"score.txt": "7\n"}, pusher="alice")
    run = await sim.wait_for_check_run(ORG, "hw1-alice", second, status="completed", timeout=120)
    assert "7 / 10" in run["output"]["title"]
    await settled_jobs(app, "hw1-alice")
    async with app.sessions() as session:
        graded = list((await session.execute(select(Submission).order_by(Submission.id))).scalars())
        job = await session.get(Job, graded[-1].job_id)

    meta, mode = metadata_in(graded[-1].outcome["log"])
    assert mode == "400 root"  # only the root grader reads it, not code it runs as another user
    assert meta["id"] == job.id and meta["submission_method"] == "GitHub"
    assert meta["created_at"].startswith(job.received_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assignment = meta["assignment"]
    assert (assignment["due_date"], assignment["late_due_date"]) == (DUE, CUTOFF)
    assert assignment["title"] == job.assignment
    assert assignment["total_points"] == "10.0"  # the earlier run's maximum
    assert meta["users"] == [{"email": None, "id": None, "name": "alice", "github_login": "alice"}]
    (earlier,) = meta["previous_submissions"]
    assert earlier["score"] == 4
    assert earlier["results"]["score"] == 4 and earlier["results"]["max_score"] == 10
    assert earlier["results"]["leaderboard"] == [{"name": "Earlier", "value": 0.0, "order": "desc"}]

    # The first run saw no earlier submission; each run's leaderboard is kept beside it.
    assert metadata_in(graded[0].outcome["log"])[0]["previous_submissions"] == []
    assert [s.leaderboard for s in graded] == [
        [{"name": "Earlier", "value": 0.0, "order": "desc"}],
        [{"name": "Earlier", "value": 1.0, "order": "desc"}],
    ]


def test_try_gives_a_gradescope_image_the_metadata_of_this_push_alone(
    sandbox, gradescope_image, tmp_path, capsys
):
    from pushgrade.cli import main

    submission = tmp_path / "hw3"
    submission.mkdir()
    (submission / "score.txt").write_text("9\n")
    config = tmp_path / "pushgrade.yml"
    config.write_text(f'image: {gradescope_image}\ndue: "{DUE}"\n')
    assert main(["try", str(submission), "--config", str(config), "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    meta, mode = metadata_in(outcome["log"])
    assert (outcome["score"], mode) == (9, "400 root")
    assert (meta["id"], meta["users"], meta["previous_submissions"]) == (None, [], [])
    assert (meta["assignment"]["title"], meta["assignment"]["due_date"]) == ("hw3", DUE)
