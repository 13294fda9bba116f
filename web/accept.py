"""The accept link a teacher hands to students: `/a/{org}/{assignment}`. A student signs in with
GitHub, sees the assignment, accepts, and gets their repository (made once, from the template)
with an invitation to accept on GitHub when they are not a member of the org.

Who may accept is the assignment's `open_to`: anyone with the link, the org's members, or the
students on the org's roster (who give their identifier on their first accept, linking their
login to it once). Nothing of another student is ever shown here: not the roster's identifiers,
not their repositories."""

from __future__ import annotations

from aiohttp import web

from ghapp.core.config import AssignmentConfig, ConfigError
from ghapp.core.deadline import accepting_closes
from ghapp.core.handout import OpenTo, check_team_name, repo_name_for, team_slug
from ghapp.store import handouts, reads, teams
from ghapp.store import roster as rosters
from ghapp.store.models import utcnow
from ghapp.store.teams import TeamInfo, TeamRefused
from ghapp.work.handout import HandOutRefused, hand_out
from web.dashboard import ASSIGNMENT_NAME, ORG_NAME, Dashboard, Refusal, page, when

routes = web.RouteTableDef()

MAX_IDENTIFIER_CHARS = 200


async def _assignment(request: web.Request, dash: Dashboard):
    """The org's account and the org file's assignment, or a 404 that reveals nothing more."""
    org, name = request.match_info["org"], request.match_info["assignment"]
    nothing = Refusal(404, "No such assignment", "This link leads to no assignment to accept.")
    if not ORG_NAME.match(org) or not ASSIGNMENT_NAME.match(name):
        raise nothing
    account = await reads.account(dash.sessions, org)
    if account is None:
        raise nothing
    gh = dash.teachers.github.installation(account.installation_id)
    try:
        config = await dash.org_file(account)
    except ConfigError:
        raise Refusal(
            503,
            "This assignment cannot be accepted now",
            "The org's pushgrade file has a problem, which its teachers see in the dashboard. "
            "Try again once they have fixed it.",
        ) from None
    assignment = config.assignments.get(name) if config is not None else None
    if assignment is None or not assignment.hands_out:
        raise nothing
    return account, gh, name, assignment


@routes.get("/a/{org}/{assignment}")
@page
async def accept_page(request: web.Request, dash: Dashboard) -> web.Response:
    user = await dash.require_user(request)
    account, _, name, config = await _assignment(request, dash)
    team = choices = None
    holder = user.login.lower()
    if config.max_team_size is not None:
        team = await teams.team_of(dash.sessions, account.login, name, user.login)
        holder = f"team:{team.slug}" if team else ""
        if team is None:
            choices = await teams.with_room(
                dash.sessions, account.login, name, config.max_team_size
            )
    handed = await handouts.find(dash.sessions, account.login, name, holder) if holder else None
    linked = None
    if config.open_to is OpenTo.ROSTER:
        linked = await rosters.student_of(dash.sessions, account.login, user.login)
    closes = accepting_closes(config)
    return dash.render(
        request,
        "accept.html",
        account=account,
        name=name,
        config=config,
        handed=handed if handed is not None and handed.state == "ready" else None,
        closes=closes,
        closed=closes is not None and utcnow() > closes,
        needs_identifier=config.open_to is OpenTo.ROSTER and linked is None,
        repo=_repo_name(config, name, user.login, team),
        team=team,
        choices=choices,
    )


def _repo_name(
    config: AssignmentConfig, name: str, login: str, team: TeamInfo | None
) -> str | None:
    if config.max_team_size is not None and team is None:
        return None  # named after the team, once there is one
    try:
        return repo_name_for(
            config.repo_pattern, assignment=name, login=login, team=team.slug if team else ""
        )
    except ValueError:
        return None


@routes.post("/a/{org}/{assignment}")
@page
async def accept(request: web.Request, dash: Dashboard) -> web.Response:
    user = await dash.require_user(request)
    account, gh, name, config = await _assignment(request, dash)
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    back = web.HTTPSeeOther(request.path)
    if config.max_team_size is None:
        existing = await handouts.find(dash.sessions, account.login, name, user.login.lower())
        if existing is not None and existing.state == "ready":
            raise back  # accepted before: the page shows the repository
    closes = accepting_closes(config)
    if closes is not None and utcnow() > closes:
        raise Refusal(
            403,
            "Accepting has closed",
            f"{name} could be accepted until {when(closes)}: no push is graded after that. "
            "Ask your teacher if you need more time.",
        )
    await _admit(dash, gh, account.login, config, user, form)
    team = None
    if config.max_team_size is not None:
        team = await _team(dash, account.login, name, config.max_team_size, user.login, form)
    try:
        await hand_out(
            dash.sessions,
            gh,
            org=account.login,
            assignment=name,
            config=config,
            login=user.login,
            maker=f"web:{id(dash)}",
            team=team,
        )
    except HandOutRefused as err:
        if err.rename and team is not None:
            await teams.dissolve_if_alone(dash.sessions, team.id)
        raise Refusal(409 if not err.for_teacher else 503, "Not handed out", str(err)) from None
    raise back


async def _team(dash: Dashboard, org: str, name: str, size: int, login: str, form) -> TeamInfo:
    """The student's team: theirs already, one they start (naming it), or one they join."""
    found = await teams.team_of(dash.sessions, org, name, login)
    if found is not None:
        return found
    new_name = str(form.get("team_name") or "").strip()
    joining = str(form.get("team") or "").strip()[:60]
    try:
        if new_name:
            try:
                new_name = check_team_name(new_name)
            except ValueError as err:
                raise TeamRefused(f"{str(err)[0].upper()}{str(err)[1:]}.") from None
            return await teams.create(
                dash.sessions, org, name, name=new_name, slug=team_slug(new_name), login=login
            )
        if joining:
            return await teams.join(
                dash.sessions, org, name, slug=joining, login=login, max_size=size
            )
    except TeamRefused as err:
        raise Refusal(409, "No team", str(err)) from None
    raise Refusal(400, "No team", "Name a new team, or choose one to join.")


async def _admit(dash: Dashboard, gh, org: str, config: AssignmentConfig, user, form) -> None:
    """Refuse whoever the assignment is not open to; link a roster student's login once."""
    if config.open_to is OpenTo.MEMBERS:
        if await gh.org_role(org, user.login) is None:
            raise Refusal(
                403,
                "Only for members of the org",
                f"This assignment is open to members of {org} only, and {user.login} is not "
                "one (or has not accepted the org's invitation yet).",
            )
    elif config.open_to is OpenTo.ROSTER:
        if await rosters.student_of(dash.sessions, org, user.login) is not None:
            return
        identifier = str(form.get("identifier") or "").strip()[:MAX_IDENTIFIER_CHARS]
        if not identifier or not await rosters.link(
            dash.sessions, org, identifier, user.login, user.user_id
        ):
            raise Refusal(
                403,
                "Not on the roster",
                f"{user.login} is not on the roster of {org}, and the identifier given is not "
                "one of its students waiting for a GitHub account. Check it (your student "
                "number or e-mail, as your school writes it), or ask your teacher.",
            )
