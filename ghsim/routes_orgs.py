"""Organization endpoints: a user's membership of the org (who is an owner) and of its teams
(who is in the team the org's policy names): pushgrade's teachers."""

from __future__ import annotations

from aiohttp import web

from ghsim import shapes
from ghsim.api import SIM, ApiError, installation_token, not_found

routes = web.RouteTableDef()


@routes.get("/orgs/{org}/memberships/{username}")
async def get_membership(request: web.Request) -> web.Response:
    """GET /orgs/{org}/memberships/{username}: 404 unless the user is a member; an installation
    token needs the `members` permission on an installation of that org."""
    sim = request.app[SIM]
    org_login, username = request.match_info["org"], request.match_info["username"]
    installation = _org_installation(request, org_login)
    role = sim.world.memberships.get((org_login.lower(), username.lower()))
    if role is None:
        raise not_found()
    org, user = installation.account, sim.world.account(username)
    return web.json_response(
        {
            "url": f"{sim.urls.api}/orgs/{org.login}/memberships/{user.login}",
            "state": "active",
            "role": role,
            "organization_url": f"{sim.urls.api}/orgs/{org.login}",
            "organization": shapes.user(sim.urls, org),
            "user": shapes.user(sim.urls, user),
        }
    )


@routes.get("/orgs/{org}/teams/{team_slug}/memberships/{username}")
async def get_team_membership(request: web.Request) -> web.Response:
    """GET /orgs/{org}/teams/{team_slug}/memberships/{username}: 404 unless the user is in the
    team (or there is no such team); an installation token needs `members` on that org."""
    sim = request.app[SIM]
    org_login = request.match_info["org"]
    slug, username = request.match_info["team_slug"], request.match_info["username"]
    installation = _org_installation(request, org_login)
    team = sim.world.team_members.get((org_login.lower(), slug.lower()))
    role = None if team is None else team.get(username.lower())
    if role is None:
        raise not_found()
    org, user = installation.account, sim.world.account(username)
    return web.json_response(
        {
            "url": f"{sim.urls.api}/organizations/{org.id}/team/"
            f"{_team_id(slug)}/memberships/{user.login}",
            "role": role,
            "state": "active",
        }
    )


def _org_installation(request: web.Request, org_login: str):
    """The installation of `org_login` the token belongs to, with the `members` permission:
    401 without a token, 404 for another org (GitHub hides it), 403 without the permission."""
    issued = installation_token(request)
    if issued is None:
        raise ApiError(401, "Requires authentication")
    installation = request.app[SIM].world.installations[issued.installation_id]
    if installation.account.login.lower() != org_login.lower():
        raise not_found()
    if issued.permissions.get("members") is None:
        raise ApiError(403, "Resource not accessible by integration")
    return installation


def _team_id(slug: str) -> int:
    """A stable number for a team (the simulator keeps teams as slugs only)."""
    return 1_000_000 + sum(ord(c) * 31**i for i, c in enumerate(slug.lower())) % 1_000_000
