"""The dashboard's pages: orgs → assignments → gradebook (and its CSV, and a button regrading
every repo) → submission, and the queue, with re-run and cancel buttons. Every org page is for
that org's teachers only."""

from __future__ import annotations

import asyncio
import json
from fnmatch import fnmatchcase
from urllib.parse import quote

from aiohttp import web
from pydantic import ValidationError

from ghapp.core import phases
from ghapp.store import extensions, handouts, reads, requests
from ghapp.store import roster as rosters
from ghapp.store.models import JobState
from runner.outcome import Outcome
from web import exports, gradebook
from web.access import GitHubUnavailable
from web.dashboard import Dashboard, Refusal, csv_attachment, no_such, page
from web.sessions import safe_next

routes = web.RouteTableDef()

MAX_JOB_ID = 2**31 - 1  # the jobs table's ids are 32-bit integers
MAX_REGRADED_DIGITS = 7  # "?regraded=N" after Regrade all: a count of repos, never more
SETTLED_HEADER = "X-Pushgrade-Settled"
_LIVE = "live"


@routes.get("/")
@page
async def home(request: web.Request, dash: Dashboard) -> web.Response:
    user = await dash.signed_in(request)
    if user is None:
        return dash.render(request, "welcome.html")
    accounts = await reads.accounts(dash.sessions)

    async def check(account):
        try:
            return await dash.teachers.teaches(user.login, account)
        except GitHubUnavailable:
            return None

    answers = await asyncio.gather(*(check(a) for a in accounts))
    mine = [a for a, yes in zip(accounts, answers, strict=True) if yes]
    unknown = [a for a, yes in zip(accounts, answers, strict=True) if yes is None]
    unserved = {a.login for a in mine if not await dash.tenants.serves(a.login)}
    return dash.render(request, "home.html", accounts=mine, unknown=unknown, unserved=unserved)


@routes.get("/orgs/{org}")
@page
async def org_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account = await dash.require_teacher(request, request.match_info["org"])
    return dash.render(
        request,
        "org.html",
        account=account,
        assignments=await reads.assignments(dash.sessions, account.login),
        problems=await reads.config_problems(dash.sessions, account.login),
        served=await dash.tenants.serves(account.login, account.installation_id),
    )


async def _assignment(request: web.Request, dash: Dashboard):
    _, account, name, config = await dash.require_assignment(request)
    runs, jobs = await reads.gradebook_input(dash.sessions, account.login, name)
    return account, name, config, gradebook.rows(runs, jobs)


async def _leaderboard(dash: Dashboard, org: str, name: str, table) -> gradebook.Leaderboard:
    standings = await reads.leaderboard_input(dash.sessions, org, name)
    return gradebook.leaderboard(standings, {row.repo: row.login for row in table})


@routes.get("/orgs/{org}/assignments/{assignment}")
@page
async def gradebook_page(request: web.Request, dash: Dashboard) -> web.Response:
    account, name, config, table = await _assignment(request, dash)
    mine = {row.repo for row in table}
    globs = [g.lower() for g in config.get("repos") or () if isinstance(g, str)]
    problems = [
        problem
        for problem in await reads.config_problems(dash.sessions, account.login)
        if problem.repo in mine or any(fnmatchcase(problem.repo.lower(), g) for g in globs)
    ]
    # Where Regrade all comes back to: how many repos it queued. Only a count is ever shown.
    raw = request.query.get("regraded", "")
    regraded = int(raw) if raw.isdigit() and len(raw) <= MAX_REGRADED_DIGITS else None
    return dash.render(
        request,
        "gradebook.html",
        account=account,
        name=name,
        config=config,
        rows=table,
        graded=sum(1 for row in table if row.latest is not None),
        regraded=regraded,
        config_problems=problems,
        grader_problems=await reads.grader_problems(dash.sessions, account.login, name),
        board=await _leaderboard(dash, account.login, name, table),
        extended=await extensions.of_assignment(dash.sessions, org=account.login, assignment=name),
        **await _by_student(dash, account.login, name, table),
    )


async def _by_student(dash: Dashboard, org: str, name: str, table) -> dict:
    """The gradebook by roster student, when the org has a roster; and the hand-outs' state
    (repositories locked, archived) and what was done to them all at once."""
    handed_out = await handouts.handouts_of(dash.sessions, org, name)
    term = {
        "handed_out": len([h for h in handed_out if h.state == "ready"]),
        "locked": len([h for h in handed_out if h.locked_at is not None]),
        "archived": len([h for h in handed_out if h.archived_at is not None]),
        # What stopped a hand-out (a permission the App lacks, a template that is none): the
        # teacher's to fix; each student's accept says only that it was not handed out.
        "failed": sorted({h.problem for h in handed_out if h.state == "failed" and h.problem}),
        "actions": await handouts.actions_of(dash.sessions, org, name),
    }
    ready = [h for h in handed_out if h.state == "ready"]
    team_repos = {h.repo: h.holder[5:] for h in ready if h.holder.startswith("team:")}
    roster = await rosters.roster_of(dash.sessions, org)
    if not roster:
        return {"students": [], "others": [], "term": term, "team_repos": team_repos}
    handed = await handouts.holders(dash.sessions, org, name)  # a team's to each member
    students, others = gradebook.by_student(table, roster, handed)
    return {"students": students, "others": others, "term": term, "team_repos": team_repos}


@routes.post("/orgs/{org}/assignments/{assignment}/regrade")
@page
async def regrade_all(request: web.Request, dash: Dashboard) -> web.Response:
    """Regrade the latest graded push of every repo of the assignment, once per press (as the
    CLI's `pushgrade regrade` does), and come back to its gradebook saying how many."""
    user, account, name, _ = await dash.require_assignment(request)
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    new_ids = await requests.request_regrade_all(
        dash.sessions, owner=account.login, assignment=name, by=user.login
    )
    if new_ids:
        dash.on_new_work()
    back = f"/orgs/{quote(account.login, safe='')}/assignments/{quote(name, safe='')}"
    raise web.HTTPSeeOther(f"{back}?regraded={len(new_ids)}")


@routes.get("/orgs/{org}/assignments/{assignment}/gradebook.csv")
@page
async def gradebook_csv(request: web.Request, dash: Dashboard) -> web.Response:
    account, name, config, table = await _assignment(request, dash)
    return csv_attachment(
        gradebook.csv_text(table, exports.chosen_score(config)),
        f"{account.login}-{name}-gradebook.csv",
    )


@routes.get("/orgs/{org}/assignments/{assignment}/export/{format}.csv")
@page
async def export_csv(request: web.Request, dash: Dashboard) -> web.Response:
    """The grades as Canvas's or Moodle's import file, keyed by the roster's identifier, or as
    GitHub Classroom's grades CSV: the chosen score (`chosen_score`), late penalty applied."""
    account, name, config, table = await _assignment(request, dash)
    kind = request.match_info["format"]
    if kind not in exports.FORMATS:
        raise no_such("export")
    held = await _by_student(dash, account.login, name, table)
    if kind != "classroom" and not held["students"]:
        raise Refusal(
            409,
            "No roster yet",
            f"{kind.capitalize()} matches students by the school's identifier, which comes from "
            "the roster: import it on the org's Roster page first.",
        )
    template = config.get("template")
    github = dash.settings.github_url.rstrip("/")
    assignment = exports.Assignment(
        org=account.login,
        name=name,
        chosen=exports.chosen_score(config),
        url=f"{dash.public_url}/a/{quote(account.login, safe='')}/{quote(name, safe='')}"
        if template
        else f"{dash.public_url}/orgs/{quote(account.login, safe='')}/assignments/"
        f"{quote(name, safe='')}",
        starter_code_url=f"{github}/{account.login}/{template.split('/')[-1]}" if template else "",
        github_url=github,
        teams=bool(config.get("max_team_size")),
    )
    if kind == "canvas":
        text = exports.canvas_csv(held["students"], assignment)
    elif kind == "moodle":
        text = exports.moodle_csv(held["students"], assignment)
    else:
        others = held["others"] if held["students"] else table
        lines = exports.classroom_lines(held["students"], others, held["team_repos"])
        text = exports.classroom_csv(lines, assignment)
    return csv_attachment(text, f"{account.login}-{name}-{kind}.csv")


@routes.get("/orgs/{org}/queue")
@page
async def queue_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account = await dash.require_teacher(request, request.match_info["org"])
    jobs = await reads.queue(dash.sessions, account.login)
    live = request.query.get("part") == _LIVE
    template = "_queue_live.html" if live else "queue.html"
    return dash.render(request, template, account=account, **jobs)


async def _job(request: web.Request, dash: Dashboard):
    """The job in the path, its submission, and the teacher asking; 404 / 403 otherwise."""
    raw = request.match_info["job_id"]
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_JOB_ID:
        await dash.require_user(request)
        raise no_such("job")
    found = await reads.job(dash.sessions, int(raw))
    if found is None:
        await dash.require_user(request)
        raise no_such("job")
    job, submission = found
    user, account = await dash.require_teacher(request, job.owner)
    return user, account, job, submission


@routes.get("/jobs/{job_id}")
@page
async def job_page(request: web.Request, dash: Dashboard) -> web.Response:
    _, account, job, submission = await _job(request, dash)
    outcome = None
    if submission is not None:
        try:
            outcome = Outcome.model_validate(submission.outcome)
        except ValidationError:  # stored by an older pushgrade: shown as it is, below
            outcome = None
    settled = job.state not in (JobState.RECEIVED, JobState.QUEUED, JobState.RUNNING)
    # A regrade that ran another image: the id its commit was first graded with.
    changed_from = None
    if submission is not None and submission.image_id:
        firsts = await reads.first_image_ids(dash.sessions, job.owner, job.repo, [job.head_sha])
        first = firsts.get(job.head_sha)
        changed_from = first if first != submission.image_id else None
    context = {
        "account": account,
        "job": job,
        "submission": submission,
        "outcome": outcome,
        "settled": settled,
        "image_changed_from": changed_from,
        "timeline": phases.steps(job.phases) if isinstance(job.phases, dict) else [],
        "config_text": json.dumps(job.config, indent=2, sort_keys=True) if job.config else "",
    }
    if request.query.get("part") == _LIVE:
        response = dash.render(request, "_job_live.html", **context)
    else:
        history = await reads.repo_history(dash.sessions, job.owner, job.repo)
        response = dash.render(request, "job.html", history=history, **context)
    response.headers[SETTLED_HEADER] = "1" if settled else "0"
    return response


@routes.post("/jobs/{job_id}/rerun")
@page
async def rerun(request: web.Request, dash: Dashboard) -> web.Response:
    user, _, job, _ = await _job(request, dash)
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    new_id = await requests.request_regrade(dash.sessions, job.id, by=user.login)
    if new_id is None:
        raise no_such("job")
    dash.on_new_work()
    back = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
    target = back if back != "/" else f"/jobs/{new_id}"
    raise web.HTTPSeeOther(target)


@routes.post("/jobs/{job_id}/cancel")
@page
async def cancel(request: web.Request, dash: Dashboard) -> web.Response:
    user, _, job, _ = await _job(request, dash)
    form = await dash.form(request)
    dash.require_csrf(request, user, form)
    if not await requests.request_cancel(dash.sessions, job.id, by=user.login):
        raise Refusal(409, "Already finished", "This job had finished: there is nothing to stop.")
    dash.on_new_work()
    back = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
    raise web.HTTPSeeOther(back if back != "/" else f"/jobs/{job.id}")
