"""Handing out assignments as GitHub does it: a repository generated from a template, students
given access as collaborators (an invitation for outside collaborators, direct access for org
members), teams with their members and repositories, repositories archived at the end of term.

Permissions as GitHub asks them of an App: `administration: write` to create, change and share
repositories, `contents: read` on the template, `members: write` for teams. Errors in GitHub's
shapes: 404 for what the installation cannot see (a template of another account included), 403
"Resource not accessible by integration" for a missing permission, 422 for a name that exists.
"""

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
    not_found,
    repo_for,
    validation_failed,
)
from ghsim.state import Invitation, Team

routes = web.RouteTableDef()

# The collaborator permissions an API caller names → what an invitation calls them.
PERMISSIONS = {
    "pull": "read",
    "triage": "triage",
    "push": "write",
    "maintain": "maintain",
    "admin": "admin",
}
INVITED_AS = {v: k for k, v in PERMISSIONS.items()}


def _installation(request: web.Request, account: str, permission: str, level: str = "write"):
    """The caller's installation on `account`, holding `permission` at `level`: 401 without a
    token, 404 for another account, 403 without the permission."""
    issued = installation_token(request)
    if issued is None:
        raise ApiError(401, "Requires authentication")
    installation = request.app[SIM].world.installations[issued.installation_id]
    if installation.account.login.lower() != account.lower():
        raise not_found()
    granted = issued.permissions.get(permission)
    if granted is None or (level == "write" and granted != "write"):
        raise ApiError(403, "Resource not accessible by integration")
    return installation


def _user(request: web.Request, login: str):
    """A user GitHub knows (the simulator knows those it has seen), else 404."""
    found = request.app[SIM].world.accounts.get(login.lower())
    if found is None or found.type != "User":
        raise not_found()
    return found


@routes.get("/users/{username}")
async def get_user(request: web.Request) -> web.Response:
    return web.json_response(
        shapes.user(request.app[SIM].urls, _user(request, request.match_info["username"]))
    )


@routes.post("/repos/{owner}/{repo}/generate")
async def generate(request: web.Request) -> web.Response:
    """POST /repos/{template_owner}/{template_repo}/generate: a new repository whose one commit
    holds the template's default branch; 201 with it."""
    sim = request.app[SIM]
    template = repo_for(request, "contents")
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    name, owner_login = body.get("name"), body.get("owner") or template.owner.login
    if not isinstance(name, str) or not name.strip() or not isinstance(owner_login, str):
        raise validation_failed(
            [{"resource": "Repository", "code": "missing_field", "field": "name"}]
        )
    installation = _installation(request, owner_login, "administration")
    if not template.is_template:
        raise validation_failed(
            [
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "template",
                    "message": f"{template.full_name} is not a template repository",
                }
            ]
        )
    if sim.world.repo(owner_login, name) is not None:
        raise validation_failed(
            [
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }
            ]
        )
    now = time.time()
    repo = sim.world.add_repo(
        installation.account,
        name,
        private=bool(body.get("private", False)),
        default_branch=template.default_branch,
        now=now,
    )
    repo.description = body.get("description") if isinstance(body.get("description"), str) else None
    head = template.resolve(template.default_branch)
    commit = sim.world.commit(
        repo,
        parent=None,
        changes=dict(head.files) if head else {},
        message="Initial commit",
        author=sim.world.bot,
        now=now,
    )
    repo.branches[repo.default_branch] = commit.sha
    if installation.repository_selection == "selected":  # what an App creates, it can reach
        installation.repo_names.add(name.lower())
    answer = shapes.repository(sim.urls, repo)
    answer["template_repository"] = shapes.repository(sim.urls, template)
    return web.json_response(answer, status=201)


@routes.patch("/repos/{owner}/{repo}")
async def update_repo(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}: `archived` (and `description`); other fields are ignored."""
    sim = request.app[SIM]
    repo = repo_for(request, "administration", "write")
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    if "archived" in body:
        if not isinstance(body["archived"], bool):
            raise validation_failed(
                [{"resource": "Repository", "code": "invalid", "field": "archived"}]
            )
        repo.archived = body["archived"]
    if isinstance(body.get("description"), str):
        repo.description = body["description"]
    return web.json_response(shapes.repository(sim.urls, repo))


@routes.put("/repos/{owner}/{repo}/collaborators/{username}")
async def add_collaborator(request: web.Request) -> web.Response:
    """201 with an invitation for someone outside the org; 204 for an org member (added at
    once) or an existing collaborator (permission changed)."""
    sim = request.app[SIM]
    repo = repo_for(request, "administration", "write")
    user = _user(request, request.match_info["username"])
    body = await json_body(request)
    permission = (body.get("permission") if isinstance(body, dict) else None) or "push"
    if permission not in PERMISSIONS:
        raise validation_failed(
            [
                {
                    "resource": "Repository",
                    "code": "invalid",
                    "field": "permission",
                    "message": f"permission must be one of {', '.join(PERMISSIONS)}",
                }
            ]
        )
    if repo.archived:
        raise ApiError(403, "Repository was archived so is read-only.")
    login = user.login.lower()
    member = (repo.owner.login.lower(), login) in sim.world.memberships
    if login in repo.collaborators or member:
        repo.collaborators[login] = permission
        return web.Response(status=204)
    pending = next(
        (i for i in sim.world.invitations.values() if i.repo is repo and i.invitee is user), None
    )
    if pending is None:
        pending = Invitation(
            id=sim.world.next_id("invitation"),
            repo=repo,
            invitee=user,
            inviter=sim.world.bot,
            permissions=PERMISSIONS[permission],
            created_at=time.time(),
        )
        sim.world.invitations[pending.id] = pending
    pending.permissions = PERMISSIONS[permission]
    return web.json_response(_invitation(sim, pending), status=201)


@routes.get("/repos/{owner}/{repo}/collaborators/{username}")
async def is_collaborator(request: web.Request) -> web.Response:
    repo = repo_for(request, "metadata")
    if request.match_info["username"].lower() in repo.collaborators:
        return web.Response(status=204)
    raise not_found()


@routes.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
async def collaborator_permission(request: web.Request) -> web.Response:
    """The user's permission on the repository: `admin`, `write`, `read` or `none`."""
    sim = request.app[SIM]
    repo = repo_for(request, "metadata")
    user = _user(request, request.match_info["username"])
    role = sim.permission_of(repo, user.login)
    legacy = {
        "admin": "admin",
        "maintain": "write",
        "push": "write",
        "triage": "read",
        "pull": "read",
        None: "none",
    }[role]
    if repo.archived and legacy in ("write", "admin"):
        legacy = "read"
    return web.json_response(
        {
            "permission": legacy,
            "role_name": PERMISSIONS.get(role, "none") if role else "none",
            "user": shapes.user(sim.urls, user),
        }
    )


@routes.delete("/repos/{owner}/{repo}/collaborators/{username}")
async def remove_collaborator(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "administration", "write")
    login = request.match_info["username"].lower()
    repo.collaborators.pop(login, None)
    for invitation in [i for i in sim.world.invitations.values() if i.repo is repo]:
        if invitation.invitee.login.lower() == login:
            del sim.world.invitations[invitation.id]
    return web.Response(status=204)


@routes.get("/repos/{owner}/{repo}/invitations")
async def list_invitations(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    repo = repo_for(request, "administration", "read")
    found = sorted(
        (i for i in sim.world.invitations.values() if i.repo is repo), key=lambda i: i.id
    )
    return web.json_response([_invitation(sim, i) for i in found])


def _invitation(sim: Any, invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "node_id": shapes.node_id("RepositoryInvitation", invitation.id),
        "repository": shapes.repository_brief(invitation.repo),
        "invitee": shapes.user(sim.urls, invitation.invitee),
        "inviter": shapes.user(sim.urls, invitation.inviter),
        "permissions": invitation.permissions,
        "created_at": shapes.iso(invitation.created_at),
        "expired": False,
        "url": f"{sim.urls.repo_api(invitation.repo)}/invitations/{invitation.id}",
        "html_url": f"{sim.urls.repo_html(invitation.repo)}/invitations",
    }


# -- teams --------------------------------------------------------------------------------------


@routes.post("/orgs/{org}/teams")
async def create_team(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    org = request.match_info["org"]
    _installation(request, org, "members")
    body = await json_body(request)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise validation_failed([{"resource": "Team", "code": "missing_field", "field": "name"}])
    slug = _slug(name)
    if (org.lower(), slug) in sim.world.teams or any(
        t.org == org.lower() and t.name.lower() == name.strip().lower()
        for t in sim.world.teams.values()
    ):
        raise validation_failed(
            [
                {
                    "resource": "Team",
                    "code": "custom",
                    "field": "name",
                    "message": "Name must be unique for this org",
                }
            ]
        )
    privacy = body.get("privacy") if body.get("privacy") in ("secret", "closed") else "secret"
    team = Team(sim.world.next_id("team"), org.lower(), name.strip(), slug, privacy)
    sim.world.teams[(org.lower(), slug)] = team
    sim.world.team_members.setdefault((org.lower(), slug), {})
    return web.json_response(_team(sim, team), status=201)


@routes.get("/orgs/{org}/teams/{team_slug}")
async def get_team(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    org = request.match_info["org"]
    _installation(request, org, "members", "read")
    return web.json_response(_team(sim, _find_team(request)))


@routes.put("/orgs/{org}/teams/{team_slug}/memberships/{username}")
async def add_team_member(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    org = request.match_info["org"]
    _installation(request, org, "members")
    team = _find_team(request)
    user = _user(request, request.match_info["username"])
    body = await json_body(request)
    role = body.get("role") if isinstance(body, dict) and body.get("role") else "member"
    if role not in ("member", "maintainer"):
        raise validation_failed([{"resource": "TeamMember", "code": "invalid", "field": "role"}])
    members = sim.world.team_members.setdefault((org.lower(), team.slug), {})
    members[user.login.lower()] = role
    # Someone outside the org is invited to it: pending until they accept.
    state = "active" if (org.lower(), user.login.lower()) in sim.world.memberships else "pending"
    return web.json_response(
        {
            "url": f"{sim.urls.api}/teams/{team.id}/memberships/{user.login}",
            "role": role,
            "state": state,
        }
    )


@routes.put("/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}")
async def add_team_repo(request: web.Request) -> web.Response:
    org = request.match_info["org"]
    _installation(request, org, "members")
    team = _find_team(request)
    repo = repo_for(request, "administration", "write")
    body = await json_body(request)
    permission = (body.get("permission") if isinstance(body, dict) else None) or "push"
    if permission not in PERMISSIONS:
        raise validation_failed([{"resource": "Team", "code": "invalid", "field": "permission"}])
    team.repos[repo.full_name.lower()] = permission
    return web.Response(status=204)


def _find_team(request: web.Request) -> Team:
    team = request.app[SIM].world.teams.get(
        (request.match_info["org"].lower(), request.match_info["team_slug"].lower())
    )
    if team is None:
        raise not_found()
    return team


def _team(sim: Any, team: Team) -> dict[str, Any]:
    org = sim.world.account(team.org, "Organization")
    return {
        "id": team.id,
        "node_id": shapes.node_id("Team", team.id),
        "url": f"{sim.urls.api}/organizations/{org.id}/team/{team.id}",
        "html_url": f"{sim.urls.html}/orgs/{org.login}/teams/{team.slug}",
        "name": team.name,
        "slug": team.slug,
        "description": None,
        "privacy": team.privacy,
        "permission": "pull",
        "members_url": f"{sim.urls.api}/organizations/{org.id}/team/{team.id}/members{{/member}}",
        "repositories_url": f"{sim.urls.api}/organizations/{org.id}/team/{team.id}/repos",
        "parent": None,
        "members_count": len(sim.world.team_members.get((team.org, team.slug), {})),
        "repos_count": len(team.repos),
        "organization": shapes.user(sim.urls, org),
    }


def _slug(name: str) -> str:
    """GitHub's slug: lower case, runs of anything but letters, digits, _ and - become one -."""
    out, dash = [], False
    for char in name.strip().lower():
        if char.isalnum() or char in "_":
            out.append(char)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-") or "team"
