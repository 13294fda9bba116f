"""Check runs: stored with GitHub's representation, validated with GitHub's 422 rules."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import BadRequest

from .conftest import ORG, REPO

RUNS = f"/repos/{ORG}/{REPO}/check-runs"


@pytest.fixture
async def head(sim) -> str:
    return await sim.push(ORG, REPO, {"solution.py": "print(42)\n"})


async def create(gh, token, head, **fields: Any) -> dict[str, Any]:
    return await gh.post(
        RUNS, data={"name": "pushgrade", "head_sha": head, **fields}, oauth_token=token
    )


async def rejected(call) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        await call
    assert caught.value.status_code == 422
    return caught.value


def fields_of(error: BadRequest) -> set[str]:
    return {e["field"] for e in error.errors}


# -- the happy path -------------------------------------------------------------------------
async def test_create_returns_the_full_representation(sim, gh, token, head):
    run = await create(gh, token, head, external_id="job-7", details_url="https://grader/jobs/7")
    assert run["status"] == "queued" and run["conclusion"] is None
    assert run["head_sha"] == head and run["external_id"] == "job-7"
    assert run["details_url"] == "https://grader/jobs/7"
    assert run["app"]["id"] == sim.app_id
    assert run["pull_requests"] == []
    assert set(run["output"]) == {
        "title",
        "summary",
        "text",
        "annotations_count",
        "annotations_url",
    }
    assert isinstance(run["check_suite"]["id"], int)
    assert sim.check_runs(ORG, REPO, head) == [run]


async def test_update_to_in_progress_then_completed(sim, gh, token, head):
    run = await create(gh, token, head)
    url = f"{RUNS}/{run['id']}"
    await gh.patch(url, data={"status": "in_progress"}, oauth_token=token)
    done = await gh.patch(
        url,
        data={
            "status": "completed",
            "conclusion": "success",
            "completed_at": "2026-11-24T12:00:00+01:00",
            "output": {"title": "10/10", "summary": "All tests passed"},
        },
        oauth_token=token,
    )
    assert done["status"] == "completed" and done["conclusion"] == "success"
    assert done["completed_at"] == "2026-11-24T11:00:00Z"
    assert done["output"]["title"] == "10/10"
    assert await gh.getitem(url, oauth_token=token) == done
    assert [b.get("status") for b in sim.check_run_history(run["id"])] == [
        None,
        "in_progress",
        "completed",
    ]


async def test_conclusion_alone_completes_the_run(sim, gh, token, head):
    run = await create(gh, token, head, status="in_progress", conclusion="neutral")
    assert run["status"] == "completed"
    assert run["completed_at"] is not None


async def test_list_for_ref_shows_latest_per_name_unless_filter_all(sim, gh, token, head):
    await create(gh, token, head)
    second = await create(gh, token, head)
    await create(gh, token, head, name="lint")
    latest = await gh.getitem(f"/repos/{ORG}/{REPO}/commits/main/check-runs", oauth_token=token)
    assert latest["total_count"] == 2
    assert second["id"] in [r["id"] for r in latest["check_runs"]]
    everything = await gh.getitem(
        f"/repos/{ORG}/{REPO}/commits/{head}/check-runs?filter=all", oauth_token=token
    )
    assert everything["total_count"] == 3
    named = await gh.getitem(
        f"/repos/{ORG}/{REPO}/commits/{head}/check-runs?check_name=lint", oauth_token=token
    )
    assert [r["name"] for r in named["check_runs"]] == ["lint"]


async def test_annotations_append_across_patches(sim, gh, token, head):
    def note(line: int) -> dict[str, Any]:
        return {
            "path": "solution.py",
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "message": f"line {line}",
        }

    run = await create(gh, token, head)
    url = f"{RUNS}/{run['id']}"
    for batch in (range(1, 51), range(51, 61)):
        output = {"title": "t", "summary": "s", "annotations": [note(n) for n in batch]}
        answer = await gh.patch(url, data={"output": output}, oauth_token=token)
    assert answer["output"]["annotations_count"] == 60
    stored = [a async for a in gh.getiter(f"{url}/annotations", oauth_token=token)]
    assert [a["start_line"] for a in stored] == list(range(1, 61))
    assert stored[0]["blob_href"].endswith(f"/blob/{head}/solution.py")


async def test_unknown_check_run_is_404(sim, gh, token, head):
    with pytest.raises(BadRequest) as caught:
        await gh.patch(f"{RUNS}/12345", data={"status": "in_progress"}, oauth_token=token)
    assert caught.value.status_code == 404


# -- every 422 rule, one test each ----------------------------------------------------------
async def test_name_is_required(gh, token, head):
    error = await rejected(gh.post(RUNS, data={"head_sha": head}, oauth_token=token))
    assert fields_of(error) == {"name"}


async def test_head_sha_is_required(gh, token):
    error = await rejected(gh.post(RUNS, data={"name": "x"}, oauth_token=token))
    assert fields_of(error) == {"head_sha"}


async def test_head_sha_must_exist_in_the_repository(gh, token):
    error = await rejected(create(gh, token, "f" * 40))
    assert fields_of(error) == {"head_sha"}
    assert "No commit found" in error.errors[0]["message"]


async def test_status_must_be_known(gh, token, head):
    error = await rejected(create(gh, token, head, status="done"))
    assert fields_of(error) == {"status"}


@pytest.mark.parametrize("status", ["waiting", "requested", "pending"])
async def test_actions_only_statuses_are_refused_to_apps(gh, token, head, status):
    error = await rejected(create(gh, token, head, status=status))
    assert "Only GitHub Actions" in error.errors[0]["message"]


async def test_conclusion_must_be_known(gh, token, head):
    error = await rejected(create(gh, token, head, conclusion="passed"))
    assert fields_of(error) == {"conclusion"}


async def test_stale_conclusion_is_only_for_github(gh, token, head):
    error = await rejected(create(gh, token, head, conclusion="stale"))
    assert "stale" in error.errors[0]["message"]


async def test_completed_status_needs_a_conclusion(gh, token, head):
    error = await rejected(create(gh, token, head, status="completed"))
    assert fields_of(error) == {"conclusion"}


async def test_completed_at_needs_a_conclusion(gh, token, head):
    error = await rejected(create(gh, token, head, completed_at="2026-11-24T10:00:00Z"))
    assert fields_of(error) == {"conclusion"}


@pytest.mark.parametrize("field", ["started_at", "completed_at"])
async def test_timestamps_must_be_iso_8601(gh, token, head, field):
    error = await rejected(create(gh, token, head, conclusion="success", **{field: "yesterday"}))
    assert fields_of(error) == {field}


async def test_action_required_needs_a_details_url(gh, token, head):
    error = await rejected(create(gh, token, head, conclusion="action_required"))
    assert fields_of(error) == {"details_url"}
    run = await create(gh, token, head, details_url="https://grader/fix-config")
    answer = await gh.patch(
        f"{RUNS}/{run['id']}", data={"conclusion": "action_required"}, oauth_token=token
    )
    assert answer["conclusion"] == "action_required"


@pytest.mark.parametrize("missing", ["title", "summary"])
async def test_output_needs_title_and_summary(gh, token, head, missing):
    output = {"title": "t", "summary": "s"}
    del output[missing]
    error = await rejected(create(gh, token, head, output=output))
    assert fields_of(error) == {f"output.{missing}"}


@pytest.mark.parametrize("field", ["summary", "text"])
async def test_summary_and_text_are_capped_at_65535_characters(gh, token, head, field):
    output = {"title": "t", "summary": "s", field: "x" * 65536}
    error = await rejected(create(gh, token, head, output=output))
    assert fields_of(error) == {f"output.{field}"}
    output[field] = "x" * 65535
    assert (await create(gh, token, head, output=output))["output"][field] == "x" * 65535


async def test_at_most_50_annotations_per_request(gh, token, head):
    note = {
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "notice",
        "message": "m",
    }
    error = await rejected(
        create(gh, token, head, output={"title": "t", "summary": "s", "annotations": [note] * 51})
    )
    assert fields_of(error) == {"output.annotations"}


@pytest.mark.parametrize(
    "missing", ["path", "start_line", "end_line", "annotation_level", "message"]
)
async def test_annotation_needs_its_required_fields(gh, token, head, missing):
    note = {
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "notice",
        "message": "m",
    }
    del note[missing]
    error = await rejected(
        create(gh, token, head, output={"title": "t", "summary": "s", "annotations": [note]})
    )
    assert fields_of(error) == {f"output.annotations[0].{missing}"}


async def test_annotation_level_must_be_notice_warning_or_failure(gh, token, head):
    note = {
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "error",
        "message": "m",
    }
    error = await rejected(
        create(gh, token, head, output={"title": "t", "summary": "s", "annotations": [note]})
    )
    assert fields_of(error) == {"output.annotations[0].annotation_level"}


async def test_columns_only_on_single_line_annotations(gh, token, head):
    note = {
        "path": "a.py",
        "start_line": 1,
        "end_line": 3,
        "start_column": 2,
        "end_column": 5,
        "annotation_level": "warning",
        "message": "m",
    }
    output = {"title": "t", "summary": "s", "annotations": [note]}
    error = await rejected(create(gh, token, head, output=output))
    assert fields_of(error) == {"output.annotations[0].start_column"}
    note["end_line"] = 1
    assert (await create(gh, token, head, output=output))["output"]["annotations_count"] == 1


async def test_at_most_three_actions(gh, token, head):
    action = {"label": "Regrade", "description": "Run the grader again", "identifier": "regrade"}
    error = await rejected(create(gh, token, head, actions=[action] * 4))
    assert fields_of(error) == {"actions"}


@pytest.mark.parametrize(
    ("field", "limit"), [("label", 20), ("description", 40), ("identifier", 20)]
)
async def test_action_fields_have_length_limits(gh, token, head, field, limit):
    action = {"label": "Regrade", "description": "Run the grader again", "identifier": "regrade"}
    action[field] = "x" * (limit + 1)
    error = await rejected(create(gh, token, head, actions=[action]))
    assert fields_of(error) == {f"actions[0].{field}"}
    action[field] = "x" * limit
    await create(gh, token, head, actions=[action])


async def test_rejected_update_changes_nothing(sim, gh, token, head):
    run = await create(gh, token, head)
    await rejected(gh.patch(f"{RUNS}/{run['id']}", data={"status": "completed"}, oauth_token=token))
    assert sim.check_run(run["id"])["status"] == "queued"
    assert len(sim.check_run_history(run["id"])) == 1
    assert sim.requests[-1].status == 422


async def test_wait_for_check_run_returns_once_completed(sim, gh, token, head):
    import asyncio

    run = await create(gh, token, head)

    async def finish_later() -> None:
        await asyncio.sleep(0.05)
        await gh.patch(f"{RUNS}/{run['id']}", data={"conclusion": "failure"}, oauth_token=token)

    task = asyncio.create_task(finish_later())
    done = await sim.wait_for_check_run(ORG, REPO, head, timeout=5)
    await task
    assert done["conclusion"] == "failure"
    with pytest.raises(TimeoutError):
        await sim.wait_for_check_run(ORG, REPO, head, status="in_progress", timeout=0.05)


async def test_writes_are_counted_per_installation(sim, gh, token, head):
    run = await create(gh, token, head)
    await gh.patch(f"{RUNS}/{run['id']}", data={"status": "in_progress"}, oauth_token=token)
    await rejected(create(gh, token, head, status="bogus"))
    installation = sim.world.installation_for(ORG)
    assert [(w.method, w.status) for w in sim.writes(installation.id)] == [
        ("POST", 201),
        ("PATCH", 200),
    ]
