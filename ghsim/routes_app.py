"""Endpoints that authenticate as the App (JWT): the app, installations, tokens, deliveries."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ghsim import shapes
from ghsim.api import (
    SIM,
    ApiError,
    installation_token,
    json_body,
    link_header,
    not_found,
    page_params,
    require_app,
    validation_failed,
)
from ghsim.auth import issue_token
from ghsim.state import Installation

routes = web.RouteTableDef()
DELIVERIES_DOCS = "https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook"


@routes.get("/app")
async def get_app(request: web.Request) -> web.Response:
    require_app(request)
    sim = request.app[SIM]
    return web.json_response(
        shapes.app(sim.urls, sim.world.app, installations_count=len(sim.world.installations))
    )


@routes.get("/app/installations")
async def list_installations(request: web.Request) -> web.Response:
    require_app(request)
    sim = request.app[SIM]
    per_page, page = page_params(request)
    everything = sorted(sim.world.installations.values(), key=lambda i: i.id)
    chunk = everything[(page - 1) * per_page : page * per_page]
    headers = (
        link_header(request, sim.url, page=page + 1) if page * per_page < len(everything) else {}
    )
    body = [shapes.installation(sim.urls, i, sim.world.app) for i in chunk]
    return web.json_response(body, headers=headers)


def _installation(request: web.Request, inst: Installation | None) -> web.Response:
    if inst is None:
        raise not_found()
    sim = request.app[SIM]
    return web.json_response(shapes.installation(sim.urls, inst, sim.world.app))


@routes.get("/app/installations/{installation_id:\\d+}")
async def get_installation(request: web.Request) -> web.Response:
    require_app(request)
    world = request.app[SIM].world
    return _installation(
        request, world.installations.get(int(request.match_info["installation_id"]))
    )


@routes.get("/repos/{owner}/{repo}/installation")
async def get_repo_installation(request: web.Request) -> web.Response:
    require_app(request)
    world = request.app[SIM].world
    repo = world.repo(request.match_info["owner"], request.match_info["repo"])
    return _installation(request, world.installation_covering(repo) if repo else None)


@routes.get("/orgs/{login}/installation")
@routes.get("/users/{login}/installation")
async def get_account_installation(request: web.Request) -> web.Response:
    require_app(request)
    world = request.app[SIM].world
    return _installation(request, world.installation_for(request.match_info["login"]))


@routes.post("/app/installations/{installation_id:\\d+}/access_tokens")
async def create_access_token(request: web.Request) -> web.Response:
    require_app(request)
    sim = request.app[SIM]
    inst = sim.world.installations.get(int(request.match_info["installation_id"]))
    if inst is None:
        raise not_found()
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    repos = sim.world.installed_repos(inst)
    repository_ids: set[int] | None = None
    if body.get("repositories") or body.get("repository_ids"):
        names = {str(n).lower() for n in body.get("repositories") or []}
        ids = {int(i) for i in body.get("repository_ids") or []}
        chosen = [r for r in repos if r.name.lower() in names or r.id in ids]
        if len(chosen) < len(names) + len(ids):
            raise validation_failed(
                [
                    {
                        "resource": "Installation",
                        "field": "repositories",
                        "code": "invalid",
                        "message": "There is at least one repository that does not exist or is "
                        "not accessible to the parent installation.",
                    }
                ]
            )
        repository_ids = {r.id for r in chosen}
    permissions = dict(inst.permissions)
    if isinstance(body.get("permissions"), dict):
        asked = body["permissions"]
        for name, level in asked.items():
            if permissions.get(name) not in (level, "write"):
                raise validation_failed(
                    [
                        {
                            "resource": "Installation",
                            "field": "permissions",
                            "code": "invalid",
                            "message": "The permissions requested are not granted to this "
                            "installation.",
                        }
                    ]
                )
        permissions = dict(asked)
    issued = issue_token(
        sim.world,
        inst.id,
        ttl=sim.token_ttl,
        rng=sim.rng,
        permissions=permissions,
        repository_ids=repository_ids,
    )
    answer: dict[str, Any] = {
        "token": issued.token,
        "expires_at": shapes.iso(issued.expires_at),
        "permissions": permissions,
        "repository_selection": "selected" if repository_ids else inst.repository_selection,
    }
    if repository_ids is not None:
        answer["repositories"] = [
            shapes.repository(sim.urls, r) for r in repos if r.id in repository_ids
        ]
    return web.json_response(answer, status=201)


@routes.get("/installation/repositories")
async def list_installation_repositories(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    issued = installation_token(request)
    if issued is None:
        raise ApiError(401, "Requires authentication")
    repos = sim.world.installed_repos(sim.world.installations[issued.installation_id])
    if issued.repository_ids is not None:
        repos = [r for r in repos if r.id in issued.repository_ids]
    per_page, page = page_params(request)
    chunk = repos[(page - 1) * per_page : page * per_page]
    headers = link_header(request, sim.url, page=page + 1) if page * per_page < len(repos) else {}
    inst = sim.world.installations[issued.installation_id]
    return web.json_response(
        {
            "total_count": len(repos),
            "repository_selection": inst.repository_selection,
            "repositories": [shapes.repository(sim.urls, r) for r in chunk],
        },
        headers=headers,
    )


# -- the App's webhook deliveries -----------------------------------------------------------
@routes.get("/app/hook/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    """Newest first, cursor-paginated (`cursor=v1_<id>` continues after that delivery)."""
    require_app(request)
    sim = request.app[SIM]
    per_page, _ = page_params(request)
    newest_first = sorted(sim.deliveries, key=lambda d: d.id, reverse=True)
    cursor = request.query.get("cursor")
    if cursor:
        try:
            after = int(cursor.removeprefix("v1_"))
        except ValueError as err:
            raise ApiError(400, "Invalid cursor", docs=DELIVERIES_DOCS) from err
        newest_first = [d for d in newest_first if d.id < after]
    status = request.query.get("status")
    if status in ("success", "failure"):
        newest_first = [d for d in newest_first if d.ok == (status == "success")]
    chunk = newest_first[:per_page]
    headers = {}
    if len(newest_first) > per_page:
        headers = link_header(request, sim.url, per_page=per_page, cursor=f"v1_{chunk[-1].id}")
    return web.json_response([d.item() for d in chunk], headers=headers)


def _delivery(request: web.Request) -> Any:
    sim = request.app[SIM]
    wanted = int(request.match_info["delivery_id"])
    found = next((d for d in sim.deliveries if d.id == wanted), None)
    if found is None:
        raise not_found()
    return found


@routes.get("/app/hook/deliveries/{delivery_id:\\d+}")
async def get_delivery(request: web.Request) -> web.Response:
    require_app(request)
    return web.json_response(_delivery(request).detail())


@routes.post("/app/hook/deliveries/{delivery_id:\\d+}/attempts")
async def redeliver(request: web.Request) -> web.Response:
    """Accepted at once; the redelivery goes out in the background, as GitHub's does."""
    require_app(request)
    sim = request.app[SIM]
    delivery = _delivery(request)
    sim.in_background(sim.redeliver(delivery.id))
    return web.json_response({}, status=202)


@routes.get("/rate_limit")
async def rate_limit(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    issued = installation_token(request)
    used = sim.rate_used.get(issued.installation_id, 0) if issued else 0
    core = {"limit": 5000, "used": used, "remaining": 5000 - used, "reset": int(time.time()) + 3600}
    return web.json_response({"resources": {"core": core}, "rate": core})
