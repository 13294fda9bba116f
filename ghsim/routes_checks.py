"""Check-run and check-suite endpoints (permission `checks`)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ghsim import checks, shapes
from ghsim.api import SIM, json_body, link_header, not_found, page_params, repo_for
from ghsim.api import validation_failed as _validation_failed
from ghsim.state import CheckRun, Repo

routes = web.RouteTableDef()
CREATE_DOCS = "https://docs.github.com/rest/checks/runs#create-a-check-run"
UPDATE_DOCS = "https://docs.github.com/rest/checks/runs#update-a-check-run"


def _run(request: web.Request, repo: Repo) -> CheckRun:
    run = request.app[SIM].world.check_runs.get(int(request.match_info["check_run_id"]))
    if run is None or run.repo is not repo:
        raise not_found()
    return run


def _answer(request: web.Request, run: CheckRun, status: int = 200) -> web.Response:
    sim = request.app[SIM]
    return web.json_response(checks.representation(sim.urls, run, sim.world.app), status=status)


@routes.post("/repos/{owner}/{repo}/check-runs")
async def create_check_run(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "checks", "write")
    body = await json_body(request)
    errors = checks.validate(body, creating=True)
    head_sha = body.get("head_sha") if isinstance(body, dict) else None
    if not errors and head_sha not in repo.commits:
        errors.append(
            {
                "resource": "CheckRun",
                "field": "head_sha",
                "code": "invalid",
                "message": f"No commit found for SHA: {head_sha}",
            }
        )
    if errors:
        raise _validation_failed(errors, CREATE_DOCS)
    now = time.time()
    suite, _ = sim.world.suite_for(repo, head_sha, now=now)
    suite.updated_at = now
    run = CheckRun(
        id=sim.world.next_id("check_run"),
        repo=repo,
        suite=suite,
        name=body["name"],
        head_sha=head_sha,
    )
    checks.apply(run, body, now=now, blob_base=sim.urls.repo_html(repo))
    sim.world.check_runs[run.id] = run
    sim.check_runs_changed()
    return _answer(request, run, status=201)


@routes.patch("/repos/{owner}/{repo}/check-runs/{check_run_id:\\d+}")
async def update_check_run(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "checks", "write")
    run = _run(request, repo)
    body = await json_body(request)
    errors = checks.validate(body, creating=False, existing=run)
    if errors:
        raise _validation_failed(errors, UPDATE_DOCS)
    now = time.time()
    checks.apply(run, body, now=now, blob_base=sim.urls.repo_html(repo))
    run.suite.updated_at = now
    sim.check_runs_changed()
    return _answer(request, run)


@routes.get("/repos/{owner}/{repo}/check-runs/{check_run_id:\\d+}")
async def get_check_run(request: web.Request) -> web.Response:
    repo = repo_for(request, "checks")
    return _answer(request, _run(request, repo))


@routes.get("/repos/{owner}/{repo}/check-runs/{check_run_id:\\d+}/annotations")
async def list_annotations(request: web.Request) -> web.Response:
    repo = repo_for(request, "checks")
    run = _run(request, repo)
    per_page, page = page_params(request)
    chunk = run.annotations[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(run.annotations)
    headers = link_header(request, request.app[SIM].url, page=page + 1) if more else {}
    return web.json_response(chunk, headers=headers)


def _listing(request: web.Request, runs: list[CheckRun]) -> web.Response:
    """`{total_count, check_runs}` with GitHub's filters: check_name, status, filter=latest|all."""
    sim = request.app[SIM]
    query = request.query
    if "check_name" in query:
        runs = [r for r in runs if r.name == query["check_name"]]
    if "status" in query:
        runs = [r for r in runs if r.status == query["status"]]
    runs = sorted(runs, key=lambda r: r.id, reverse=True)
    if query.get("filter", "latest") == "latest":
        latest: dict[str, CheckRun] = {}
        for run in runs:
            latest.setdefault(run.name, run)
        runs = list(latest.values())
    per_page, page = page_params(request)
    chunk = runs[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(runs)
    body: dict[str, Any] = {
        "total_count": len(runs),
        "check_runs": [checks.representation(sim.urls, r, sim.world.app) for r in chunk],
    }
    return web.json_response(
        body, headers=link_header(request, sim.url, page=page + 1) if more else {}
    )


@routes.get("/repos/{owner}/{repo}/commits/{ref:.+}/check-runs")
async def list_check_runs_for_ref(request: web.Request) -> web.Response:
    repo = repo_for(request, "checks")
    commit = repo.resolve(request.match_info["ref"])
    if commit is None:
        raise _validation_failed(
            [
                {
                    "resource": "Commit",
                    "field": "ref",
                    "code": "invalid",
                    "message": "No commit found",
                }
            ]
        )
    world = request.app[SIM].world
    runs = [r for r in world.check_runs.values() if r.repo is repo and r.head_sha == commit.sha]
    return _listing(request, runs)


@routes.get("/repos/{owner}/{repo}/check-suites/{suite_id:\\d+}")
async def get_check_suite(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "checks")
    suite = sim.world.check_suites.get(int(request.match_info["suite_id"]))
    if suite is None or suite.repo is not repo:
        raise not_found()
    body = shapes.check_suite(sim.urls, sim.world, suite)
    body["repository"] = shapes.repository(sim.urls, repo)
    return web.json_response(body)


@routes.get("/repos/{owner}/{repo}/check-suites/{suite_id:\\d+}/check-runs")
async def list_check_runs_in_suite(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "checks")
    suite = sim.world.check_suites.get(int(request.match_info["suite_id"]))
    if suite is None or suite.repo is not repo:
        raise not_found()
    return _listing(request, sim.world.runs_of_suite(suite))
