"""The `pushgrade` command line.

Each command imports what it needs when it runs, so that starting one pays for no other's imports
(and `--help` or a usage error for none): `try` takes the runner and the config model, never the
database, the web application or the GitHub client (tests/unit/test_cli_imports.py holds it to
that).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ghapp.core.config import AssignmentConfig
    from runner.outcome import Outcome

# Exit codes: grading ran (whatever the score) / the command was used wrongly / it could not run.
EXIT_GRADED, EXIT_USAGE, EXIT_COULD_NOT_RUN = 0, 2, 3


def main(argv: list[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = _Reader(stdout)  # `pushgrade … | head` is no error
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        # try reports every problem in its own output: the runner's warnings would repeat it.
        quiet = logging.ERROR if args.func is _cmd_try else logging.WARNING
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else quiet,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        code = args.func(args)
        sys.stdout.flush()
        return code
    finally:
        sys.stdout = stdout


class _Reader:
    """Standard output whose reader may leave before the end (`pushgrade try … | head -1`):
    what would still be written is dropped quietly, and the command ends with its own exit
    code (grading ran, or not), not a BrokenPipeError."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._left()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._left()

    def _left(self) -> None:
        import contextlib
        import os

        self.gone = True
        # Python flushes standard output once more on its way out: give what is still buffered
        # somewhere to go.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pushgrade",
        description="Grade programming assignments pushed to GitHub, in the teacher's sandboxed "
        "Docker image.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    try_ = commands.add_parser(
        "try",
        help="grade a folder or archive locally, exactly as the app would",
        description="Grade a submission (a folder, .zip or .tar.gz) in the grader image, with the "
        "same extraction, sandbox and result parsing the app uses. Exit code 0 when grading ran "
        "(whatever the score), 3 when it could not run, 2 for a usage or config error.",
    )
    try_.add_argument("path", type=Path, metavar="PATH", help="submission folder or archive")
    try_.add_argument("--image", help="grader image (overrides the config file's image)")
    try_.add_argument("--timeout", type=float, metavar="SECONDS", help="wall-clock limit")
    try_.add_argument(
        "--config", type=Path, metavar="FILE", help="a .github/pushgrade.yml to take settings from"
    )
    try_.add_argument(
        "--assignment",
        metavar="NAME",
        help="which of the config file's assignments (when it lists several)",
    )
    try_.add_argument(
        "--as-student",
        action="store_true",
        help="print the check run (conclusion, title, summary, text) exactly as the student "
        "would read it under the config's visibility and deadline",
    )
    try_.add_argument(
        "--at",
        metavar="TIME",
        help="with --as-student: the moment of the push and of the reading, ISO 8601 "
        "(2026-12-01T23:58, in the deadline's UTC offset unless it says its own); default now",
    )
    try_.add_argument("--json", action="store_true", help="print the Outcome as one JSON object")
    try_.set_defaults(func=_cmd_try)

    environment = (
        "Settings come from the environment: PUSHGRADE_APP_ID, PUSHGRADE_PRIVATE_KEY_FILE (or "
        "PUSHGRADE_PRIVATE_KEY), PUSHGRADE_WEBHOOK_SECRET, PUSHGRADE_GITHUB_API_URL (default "
        "https://api.github.com), PUSHGRADE_DATABASE_URL (default SQLite in the working folder), "
        "PUSHGRADE_HOST, PUSHGRADE_PORT, PUSHGRADE_WORKER_PORT (where `worker` alone answers "
        "/healthz and /metrics, default 8081), PUSHGRADE_WORKERS (grading slots, default: CPU "
        "count), "
        "PUSHGRADE_PUBLIC_URL, PUSHGRADE_LEASE_SECONDS (default 60), PUSHGRADE_POLICY_FILE "
        "(the operator's policy: tenants, images, registry logins, ceilings; see check-policy) "
        "or PUSHGRADE_ACCOUNTS (the accounts served). The teacher dashboard: "
        "PUSHGRADE_OAUTH_CLIENT_ID, PUSHGRADE_OAUTH_CLIENT_SECRET, PUSHGRADE_SESSION_SECRET, "
        "PUSHGRADE_GITHUB_URL (default https://github.com)."
    )
    for name, help_, web_, worker_ in (
        ("serve", "run the webhook endpoint and a worker in one process", True, True),
        ("web", "run only the webhook endpoint (workers run elsewhere)", True, False),
        ("worker", "run only a worker (more of them grade in parallel, anywhere)", False, True),
    ):
        command = commands.add_parser(name, help=help_, description=f"{help_}. {environment}")
        command.set_defaults(func=_cmd_serve, serve_web=web_, run_worker=worker_)

    setup = commands.add_parser(
        "setup",
        help="register the GitHub App in one step (GitHub's manifest flow) and write its settings",
        description="Serve a page on loopback that registers pushgrade as a GitHub App with "
        "GitHub's manifest flow (on github.com, or a GitHub Enterprise Server with "
        "--github-url), then write the App's id, webhook secret, OAuth client and a session "
        "secret to pushgrade.env and its private key to pushgrade-app.pem (both readable by "
        "their owner only) in the working folder, where serve, web and worker read them, and "
        "print the link that installs it. Exit code 0 when registered, 2 when not.",
    )
    setup.add_argument(
        "--public-url",
        metavar="URL",
        help="where GitHub reaches this pushgrade (https://grades.example.edu); default "
        "PUSHGRADE_PUBLIC_URL",
    )
    setup.add_argument(
        "--github-url",
        metavar="URL",
        help="GitHub's web address (default PUSHGRADE_GITHUB_URL, else https://github.com)",
    )
    setup.add_argument(
        "--api-url",
        metavar="URL",
        help="its REST API (default: api.github.com, or the server's /api/v3)",
    )
    setup.add_argument("--org", metavar="ORG", help="register the App under this org")
    setup.add_argument("--name", default="pushgrade", help="the App's name (default pushgrade)")
    setup.add_argument(
        "--port", type=int, default=0, help="the page's port on 127.0.0.1 (default: any free)"
    )
    setup.set_defaults(func=_cmd_setup)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database's schema up to date, then exit",
        description="Apply the database migrations (PUSHGRADE_DATABASE_URL) and exit: run it "
        "once before starting a new version's processes. The processes also migrate on start; "
        "several starting at once on PostgreSQL take turns.",
    )
    migrate.set_defaults(func=_cmd_migrate)

    demo = commands.add_parser(
        "demo",
        help="the whole path on loopback: simulator, app, a student's pushes, their check runs",
        description="Start a GitHub simulator and pushgrade (SQLite) on loopback, build or reuse "
        "the example grader image, push a wrong and then a fixed solution to a student repo, and "
        "show each check run as it moves from queued to its result. Needs a Docker engine.",
    )
    demo.set_defaults(func=_cmd_demo)

    check = commands.add_parser(
        "check-config",
        help="check a .github/pushgrade.yml and show the settings it resolves to",
        description="Check a repo's .github/pushgrade.yml, the org's (--org-file), or both, and "
        "print each assignment's settings, one a line, with where each comes from (org, repo or "
        "default), or every error with its line and column, in line order. What `try` and the "
        "app require, it requires: each assignment a grader (image: or grader:), from the org's "
        "file when there is one. Exit code 0 when valid, 2 when not.",
    )
    check.add_argument(
        "file", type=Path, nargs="?", metavar="FILE", help="the repo's .github/pushgrade.yml"
    )
    check.add_argument(
        "--org-file", type=Path, metavar="FILE", help="the org's .github/pushgrade.yml"
    )
    check.add_argument(
        "--repo",
        metavar="NAME",
        help="resolve for this repo name (default: show each assignment on its own)",
    )
    check.set_defaults(func=_cmd_check_config)

    policy = commands.add_parser(
        "check-policy",
        help="check the operator's policy file and show what each tenant may use",
        description="Check the operator's policy file (PUSHGRADE_POLICY_FILE: the accounts "
        "served, the images and registry logins each may use, the ceilings) and print each "
        "tenant's images, logins (their kind, never a secret) and ceilings, or every error with "
        "its line and field. With --account and --config, also say whether that account's "
        "config file would be graded under it. Exit code 0 when valid, 2 when not.",
    )
    policy.add_argument("file", type=Path, metavar="FILE", help="the policy file (YAML)")
    policy.add_argument("--account", metavar="LOGIN", help="a tenant (org or user) to check for")
    policy.add_argument(
        "--config", type=Path, metavar="FILE", help="a .github/pushgrade.yml of that account"
    )
    policy.set_defaults(func=_cmd_check_policy)

    regrade = commands.add_parser(
        "regrade",
        help="regrade the latest graded push of every repo of one assignment",
        description="Queue a regrade of the latest graded push of every repository of an "
        "assignment (its name in the config file), once per repository, with the current "
        "grader. Regrades do not count against max_graded_per_day, keep the deadline status of "
        "the push they regrade, and reach GitHub after every student's fresh result. The "
        "running workers (PUSHGRADE_DATABASE_URL) do the grading.",
    )
    regrade.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment's name")
    regrade.add_argument("--org", required=True, metavar="ORG", help="the org (or account)")
    regrade.add_argument(
        "--by", default="pushgrade-cli", metavar="LOGIN", help="who asked (shown to teachers)"
    )
    regrade.set_defaults(func=_cmd_regrade)

    roster = commands.add_parser(
        "roster",
        help="an org's roster of students",
        description="The roster: the students of an org, each with the identifier the school "
        "uses, a name, a section and, once linked, a GitHub login. Personal data: it stays in "
        "pushgrade's database (PUSHGRADE_DATABASE_URL), shown to the org's teachers only.",
    )
    roster_commands = roster.add_subparsers(dest="roster_command", metavar="COMMAND")
    roster_commands.required = True
    imported = roster_commands.add_parser(
        "import",
        help="merge a roster CSV into the org's roster",
        description="Merge a CSV into the org's roster: GitHub Classroom's classroom_roster.csv "
        "(identifier, github_username, github_id, name) as it is, or identifier, name, login, "
        "section. New students are added, the file's name, section and login win for students "
        "already there, nobody is removed. A file with any bad row imports nothing, and every "
        "problem is named with its line.",
    )
    imported.add_argument("org", metavar="ORG", help="the org (or account)")
    imported.add_argument("file", metavar="FILE", type=Path, help="the roster CSV")
    imported.add_argument(
        "--by", default="pushgrade-cli", metavar="LOGIN", help="who imported it (kept per link)"
    )
    imported.set_defaults(func=_cmd_roster_import)
    _import_parsers(commands)
    return parser


def _import_parsers(commands) -> None:
    """`pushgrade import classroom` and `import classroom-roster`: coming over from GitHub
    Classroom (discontinued 2026-08-28)."""
    importer = commands.add_parser(
        "import",
        help="come over from GitHub Classroom: its autograding tests, its roster",
        description="Come over from GitHub Classroom: `classroom` turns a template repository's "
        "autograding tests into a grader repository (the tests then live only there, hidden "
        "from students); `classroom-roster` fills an org's roster from classroom_roster.csv and "
        "links the students' existing repositories. docs/migrate-from-classroom.md walks "
        "through it.",
    )
    kinds = importer.add_subparsers(dest="import_command", metavar="WHAT")
    kinds.required = True
    classroom = kinds.add_parser(
        "classroom",
        help="turn a Classroom template's autograding tests into a grader repository",
        description="Read a GitHub Classroom template repository (a folder, or ORG/REPO read "
        "through the App) — .github/classroom/autograding.json, or a .github/workflows "
        "workflow of classroom-resources/autograding-* actions — and write a grader repository "
        "folder: a Dockerfile on the base image you name, the tests' files, a runner that runs "
        "each test as Classroom did and writes Gradescope results.json with the same names "
        "and points, and the org-file assignment. Prints what it could not carry over.",
    )
    classroom.add_argument(
        "source", metavar="SOURCE", help="the template: a folder, or ORG/REPO (through the App)"
    )
    classroom.add_argument(
        "--base",
        required=True,
        metavar="IMAGE",
        help="the grader's base image, with the tools the tests need (python:3.12-slim, say)",
    )
    classroom.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the grader (default ./NAME-grader)"
    )
    classroom.add_argument(
        "--assignment",
        metavar="NAME",
        help="the assignment's name (default: the template's, less -template or -starter)",
    )
    classroom.add_argument(
        "--grader-repo",
        metavar="REPO",
        help="the org repository the grader will be pushed to (default NAME-grader)",
    )
    classroom.add_argument(
        "--force", action="store_true", help="write into DIR even when it is not empty"
    )
    classroom.add_argument(
        "--tests-path",
        action="append",
        default=[],
        metavar="PATH",
        help="a file, folder or glob of the template to put in the grader's files/ too "
        "(repeat it; the command lists what it chose and why)",
    )
    classroom.add_argument(
        "--drop-path",
        action="append",
        default=[],
        metavar="PATH",
        help="a file, folder or glob to leave out of the grader's files/ (repeat it)",
    )
    classroom.set_defaults(func=_cmd_import_classroom)
    roster = kinds.add_parser(
        "classroom-roster",
        help="fill an org's roster from Classroom's classroom_roster.csv",
        description="Merge GitHub Classroom's classroom_roster.csv into the org's roster (as "
        "`pushgrade roster import` does: a file with any bad row imports nothing, and every "
        "problem is named with its line), then link the repositories that already exist under "
        "each handing-out assignment's repo_name to their students, so nothing is created "
        "again.",
    )
    roster.add_argument("file", metavar="FILE", type=Path, help="classroom_roster.csv")
    roster.add_argument("--org", required=True, metavar="ORG", help="the org (or account)")
    roster.add_argument(
        "--by", default="pushgrade-cli", metavar="LOGIN", help="who imported it (kept per link)"
    )
    roster.set_defaults(func=_cmd_import_classroom_roster)


def _cmd_import_classroom(args: argparse.Namespace) -> int:
    from pushgrade.classroom.command import run

    return run(args)


def _read_roster_file(path: Path):
    """The roster in `path`, or an exit code after every problem is named by its line."""
    from ghapp.core.roster import MAX_ROSTER_BYTES, RosterError, read_roster

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ROSTER_BYTES + 1)
    except OSError as err:
        return _error(f"cannot read {path}: {err.strerror or err}")
    try:
        return read_roster(data)
    except RosterError as err:
        for problem in err.problems:
            print(f"pushgrade: {path}: {problem}", file=sys.stderr)
        print(f"pushgrade: nothing imported from {path}", file=sys.stderr)
        return EXIT_USAGE


async def _import_roster_into(sessions, org: str, roster, path: Path, by: str):
    """(account, counts) after merging `roster` into `org`'s, or a line saying why not."""
    from ghapp.core.roster import RosterError
    from ghapp.store.roster import import_roster

    account = await _account(sessions, org)
    if isinstance(account, str):
        return account
    try:
        return account, await import_roster(sessions, account.login, roster, by=by)
    except RosterError as err:
        return f"{path}: {err}; nothing imported"


def _print_imported(org: str, roster, path: Path, counts) -> None:
    print(
        f"pushgrade: {org}: {len(roster.students)} students read from {path} "
        f"({counts.added} new, {counts.updated} updated, {counts.unchanged} unchanged); "
        f"{counts.linked} of the roster linked to a GitHub login"
    )
    if roster.ignored_columns:
        print(f"pushgrade: columns left out: {', '.join(roster.ignored_columns)}")


def _cmd_roster_import(args: argparse.Namespace) -> int:
    roster = _read_roster_file(args.file)
    if isinstance(roster, int):
        return roster

    async def work(sessions):
        return await _import_roster_into(sessions, args.org, roster, args.file, args.by)

    done = _on_database(work)
    if isinstance(done, int):
        return done
    if isinstance(done, str):
        return _error(done)
    account, counts = done
    _print_imported(account.login, roster, args.file, counts)
    return 0


def _cmd_import_classroom_roster(args: argparse.Namespace) -> int:
    """The roster imported as `roster import` does, then the repositories Classroom handed out
    (named by each handing-out assignment's repo_name) linked to their students, through the
    App: none is made again."""
    from ghapp.settings import SettingsError, from_env

    roster = _read_roster_file(args.file)
    if isinstance(roster, int):
        return roster
    try:
        settings = from_env(web=False, worker=True)  # the App's, to look the repositories up
    except SettingsError as err:
        settings = None
        why = str(err)

    async def work(sessions):
        imported = await _import_roster_into(sessions, args.org, roster, args.file, args.by)
        if isinstance(imported, str) or settings is None:
            return imported, None
        return imported, await _link_classroom_repos(sessions, settings, imported[0], args.by)

    done = _on_database(work)
    if isinstance(done, int):
        return done
    imported, linked = done
    if isinstance(imported, str):
        return _error(imported)
    account, counts = imported
    _print_imported(account.login, roster, args.file, counts)
    if settings is None:
        print(
            f"pushgrade: existing repositories not linked: the App's settings are needed to "
            f"look them up ({why})",
            file=sys.stderr,
        )
        return EXIT_COULD_NOT_RUN
    if isinstance(linked, str):
        print(f"pushgrade: existing repositories not linked: {linked}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    if not linked.linked and not linked.already and not linked.problems:
        print(
            f"pushgrade: {account.login}'s org file hands out no repositories (no assignment "
            "names a template): nothing to link"
        )
    for name in linked.linked:
        print(
            f"pushgrade: {name}: {linked.linked[name]} existing repositories linked to their "
            f"students, {linked.already[name]} linked before, {linked.missing[name]} students "
            "with none yet (they get theirs when they accept)"
        )
    for problem in linked.problems:
        print(f"pushgrade: {problem}", file=sys.stderr)
    return 0


async def _link_classroom_repos(sessions, settings, account, by: str):
    """The Linked report, or a line saying why the org's repositories could not be read."""
    import aiohttp
    import gidgethub

    from ghapp.core.located_yaml import ConfigError
    from ghapp.github import GitHubApp, GitHubRefused, InstallationClient
    from ghapp.store.roster import roster_of
    from ghapp.work.adopt import link_existing
    from ghapp.work.config_reader import ConfigReader

    if not account.installation_id:
        return f"the App is not installed on {account.login}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        app = GitHubApp(
            app_id=settings.app_id,
            private_key=settings.private_key,
            base_url=settings.github_api_url,
            session=http,
        )
        gh = InstallationClient(app, account.installation_id)
        try:
            config = await ConfigReader().org_file(gh, account.login)
            if config is None:
                return (
                    f"{account.login} has no org file (.github/pushgrade.yml in its .github "
                    "repository) naming the assignments and their repo_name"
                )
            students = await roster_of(sessions, account.login)
            return await link_existing(
                sessions, gh, org=account.login, config=config, students=students, by=by
            )
        except ConfigError as err:
            return f"the org file is invalid: {err}"
        except (GitHubRefused, gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as err:
            return f"GitHub did not answer as expected: {err}"


def _cmd_regrade(args: argparse.Namespace) -> int:
    from ghapp.store import reads
    from ghapp.store.requests import request_regrade_all

    async def work(sessions) -> str | list[int]:
        account = await _account(sessions, args.org)
        if isinstance(account, str):
            return account
        names = [a.name for a in await reads.assignments(sessions, account.login)]
        if args.assignment not in names:
            return (
                f"{account.login} has no assignment {args.assignment!r} (its assignments: "
                f"{', '.join(names) or 'none graded yet'})"
            )
        return await request_regrade_all(
            sessions, owner=account.login, assignment=args.assignment, by=args.by
        )

    jobs = _on_database(work)
    if isinstance(jobs, int):
        return jobs
    if isinstance(jobs, str):
        return _error(jobs)
    if not jobs:
        print(f"pushgrade: no graded push of {args.assignment!r} in {args.org}: nothing to regrade")
        return 0
    print(
        f"pushgrade: {len(jobs)} repositor{'ies' if len(jobs) != 1 else 'y'} queued for regrading"
    )
    return 0


async def _account(sessions, org: str):
    """The account `org` as the database knows it, or a line saying which accounts it knows."""
    from ghapp.store import reads

    account = await reads.account(sessions, org)
    if account is None:
        known = ", ".join(a.login for a in await reads.accounts(sessions)) or "none yet"
        return f"no account {org} in this database (the accounts in it: {known})"
    return account


def _on_database(work):
    """Run `work(sessions)` on the database the settings name (migrated first): its answer, or
    an exit code after a one-line error. Never creates a SQLite file: a new, empty database
    would know none of the accounts a command names."""
    import asyncio

    from ghapp.settings import SettingsError, from_env
    from ghapp.store.db import (
        DatabaseUnreachable,
        make_engine,
        migrate_when_reachable,
        missing_sqlite_file,
        sessionmaker,
    )

    try:
        settings = from_env(web=False, worker=False)  # the database's settings only
    except SettingsError as err:
        return _error(err)
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        return _error(
            f"no pushgrade database at {missing}: run this where `pushgrade serve` runs, or "
            "set PUSHGRADE_DATABASE_URL to its database"
        )

    async def run():
        engine = make_engine(settings.database_url)
        try:
            await migrate_when_reachable(engine, wait_s=settings.database_wait_s)
            return await work(sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DatabaseUnreachable as err:
        return _error(err)


def _error(err: object) -> int:
    """A usage or start-up error: one line on standard error, exit code 2."""
    print(f"pushgrade: {err}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_try(args: argparse.Namespace) -> int:
    from ghapp.core.config import ConfigError

    try:
        config = _try_config(args)
    except ConfigError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    if not args.path.exists():
        print(f"pushgrade: {args.path} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        moment = _moment(args, config)
    except ValueError as err:
        return _error(err)
    if args.as_student and _print_not_graded(config, moment):
        return EXIT_GRADED  # after the last moment a push is taken: nothing would run
    import dataclasses

    from ghapp.core.gradescope_meta import submission_metadata
    from runner.grade import grade

    def metadata() -> bytes:  # for a Gradescope image: this push, with nothing graded before
        name = getattr(args, "assignment", None) or args.path.resolve().name
        return submission_metadata(
            submission_id=None, created_at=moment, assignment=name, config=config, users=[]
        )

    spec = dataclasses.replace(config.sandbox_spec(), gradescope_metadata=metadata)
    outcome = grade(args.path, spec)
    if args.json:
        print(outcome.to_json())
    elif args.as_student:
        print(render_as_student(outcome, config, moment))
    else:
        print(render_text(outcome, args.path, config.image))
    return EXIT_COULD_NOT_RUN if outcome.could_not_run else EXIT_GRADED


def _moment(args: argparse.Namespace, config: AssignmentConfig):
    """--at as an aware moment (in the deadline's UTC offset when it gives none), else now."""
    from datetime import UTC, datetime

    if args.at is None:
        return datetime.now(UTC)
    if not args.as_student:
        raise ValueError("--at shows a check run as of a moment: it goes with --as-student")
    try:
        moment = datetime.fromisoformat(args.at)
    except ValueError:
        raise ValueError(
            f"--at {args.at!r} is not a moment: write it as 2026-12-01T23:58 or "
            "2026-12-01T23:58+01:00"
        ) from None
    if moment.tzinfo is None:
        zone = config.due.tzinfo if config.due is not None and config.due.tzinfo else UTC
        moment = moment.replace(tzinfo=zone)
    return moment


def _print_not_graded(config: AssignmentConfig, moment) -> bool:
    """A push at `moment` the deadline closes out: print the notice the student gets."""
    from ghapp.core.admission import closed
    from ghapp.core.deadline import judge

    refusal = closed(judge(config, moment))
    if refusal is None:
        return False
    print(f"conclusion: neutral\ntitle: {refusal.title}\n\n{refusal.summary}")
    return True


def render_as_student(outcome: Outcome, config: AssignmentConfig, moment) -> str:
    """The check run as the student reads it, pushed and read at `moment` (a first push: the
    daily limit's count is not known here)."""
    from ghapp.core.student import student_view

    view = student_view(config, outcome, pushed_at=moment, now=moment)
    report = view.report
    lines = [f"conclusion: {report.conclusion}", f"title: {report.title}", "", report.summary]
    if report.text:
        lines += ["", "--- details ---", report.text]
    if report.annotations:
        lines += ["", f"--- {len(report.annotations)} annotations on the student's files ---"]
        lines += [
            f"{a.path}:{a.start_line}: {a.annotation_level}: {a.message}"
            for a in report.annotations
        ]
    return "\n".join(lines)


def _cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from ghapp.settings import SettingsError, from_env
    from ghapp.store.db import DatabaseUnreachable
    from pushgrade.serve import CannotListen, serve_forever

    try:
        settings = from_env(web=args.serve_web, worker=args.run_worker)
    except SettingsError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(
            serve_forever(settings, serve_web=args.serve_web, run_worker=args.run_worker)
        )
    except (DatabaseUnreachable, CannotListen) as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE


def _cmd_setup(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from ghapp.settings import SettingsError, _url, read_env_file
    from pushgrade.setup import Plan, SetupError, api_url_for, run

    try:
        known = {**read_env_file(os.environ.get("PUSHGRADE_ENV_FILE", "").strip()), **os.environ}
        public = args.public_url or known.get("PUSHGRADE_PUBLIC_URL", "")
        if not public:
            raise SettingsError(
                "--public-url URL: where GitHub reaches this pushgrade (its webhooks and sign-in)"
            )
        public = _url("--public-url", public)
        github = _url(
            "--github-url", args.github_url or known.get("PUSHGRADE_GITHUB_URL") or GITHUB
        )
        api = _url("--api-url", args.api_url or api_url_for(github))
        plan = Plan(public, github, api, args.org, args.name, Path("."))
        install = asyncio.run(run(plan, port=args.port))
    except (SettingsError, SetupError) as err:
        return _error(err)
    except KeyboardInterrupt:
        return _error("setup stopped: no App was registered")
    print(f"pushgrade: the App's settings are in {Path('pushgrade.env').resolve()}")
    print(f"pushgrade: install it on your classroom org: {install}")
    return 0


GITHUB = "https://github.com"


def _cmd_migrate(args: argparse.Namespace) -> int:
    import asyncio

    from ghapp.settings import SettingsError, from_env
    from ghapp.store.db import DatabaseUnreachable, make_engine, migrate_when_reachable

    try:
        settings = from_env(web=False, worker=False)  # the database's settings only
    except SettingsError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await migrate_when_reachable(engine, wait_s=settings.database_wait_s)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except DatabaseUnreachable as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    print("pushgrade: the database schema is up to date")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from pushgrade.demo import CannotDemo
    from pushgrade.demo import main as demo_main

    try:
        return demo_main()
    except CannotDemo as err:
        return _error(err)


def _cmd_check_config(args: argparse.Namespace) -> int:
    from ghapp.core.config import ConfigError, load_file
    from ghapp.core.policy import resolve

    if args.file is None and args.org_file is None:
        return _error("check-config: give a repo's file, --org-file ORG_FILE, or both")
    repo = org = None
    try:
        if args.org_file is not None:
            org = load_file(
                _read(args.org_file), file=str(args.org_file), org=True, standalone=True
            )
        if args.file is not None:
            text = _read(args.file)
            if args.org_file is None:
                _org_file_hint(args.file, text)
            # With the org's file, the org's assignment gives the grader; alone, the repo's must.
            repo = load_file(text, file=str(args.file), standalone=org is None)
        if args.repo is not None:
            resolution = resolve(args.repo, org=org, repo=repo)
            if resolution.config is None:
                print(f"{args.repo}: not graded (no assignment matches this repo)")
            else:
                title = f"{resolution.assignment_name} for {args.repo} ({resolution.source})"
                _print_settings(title, resolution.config, resolution.sources)
                for note in resolution.locked_overrides:
                    print(f"  locked: {note}")
            return 0
        for config, where in ((org, "org"), (repo, "repo")):
            for name, assignment in (config.assignments if config else {}).items():
                _print_assignment(name, assignment, where)
    except ValueError as err:
        return _error(err)
    except ConfigError as err:
        for problem in err.problems:
            print(f"{err.file}: {problem}")
        return EXIT_USAGE
    return 0


def _org_file_hint(path: Path, text: bytes) -> None:
    """A repo's file that reads like the org's (it names teachers, or assignments each for
    repos of their own): say how to check it as the org's."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return  # its own errors are told
    if not isinstance(data, dict):
        return
    assignments = data.get("assignments")
    scoped = isinstance(assignments, dict) and any(
        isinstance(a, dict) and "repos" in a for a in assignments.values()
    )
    if "teachers" in data or scoped:
        print(
            f"pushgrade: note: {path} reads like an org's file (it names "
            f"{'teachers' if 'teachers' in data else 'repos for its assignments'}): check it "
            f"as one with `pushgrade check-config --org-file {path}`",
            file=sys.stderr,
        )


def _cmd_check_policy(args: argparse.Namespace) -> int:
    from ghapp.core.config import ConfigError, load_file
    from ghapp.core.tenants import PolicyError, load_policy, tenant_problems
    from runner.spec import format_size

    if (args.account is None) != (args.config is None):
        print("pushgrade: --account and --config go together", file=sys.stderr)
        return EXIT_USAGE
    try:
        tenancy = load_policy(_read(args.file), file=str(args.file))
        for login in sorted(tenancy.rules):
            rules = tenancy.rules[login]
            print(f"{rules.account}:")
            print(f"  images: {', '.join(rules.prefixes) or 'none'}")
            for entry in rules.logins:
                where = ", ".join(entry.prefixes())
                print(f"  login: {entry.kind} for {where}")
            shown = ", ".join(
                f"{k}={format_size(v) if k in ('memory', 'output', 'build_memory') else v}"
                for k, v in rules.ceilings.model_dump().items()
            )
            print(f"  ceilings: {shown}")
        if args.account is not None:
            if not tenancy.serves(args.account):
                print(f"{args.account}: not served (not one of the tenants)")
                return EXIT_USAGE
            config = load_file(_read(args.config), file=str(args.config))
            rules = tenancy.rules_for(args.account)
            refused = 0
            for name, assignment in config.assignments.items():
                for field, message in tenant_problems(assignment, rules, owner=args.account):
                    print(f"{args.config}: {name}: {field}: {message}")
                    refused += 1
            if refused:
                return EXIT_USAGE
            print(f"{args.config}: within {args.account}'s policy")
    except ValueError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (PolicyError, ConfigError) as err:
        for problem in err.problems:
            print(f"{err.file}: {problem}")
        return EXIT_USAGE
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None


def _print_assignment(name: str, assignment: AssignmentConfig, where: str) -> None:
    from ghapp.core.policy import standalone

    sources = {k: (where if v == "repo" else v) for k, v in standalone(assignment).items()}
    globs = ", ".join(assignment.repos) if assignment.repos else "this repo"
    _print_settings(f"{name} in the {where} file (repos: {globs})", assignment, sources)


_NONE_MEANS = {
    "image": "(not set)",
    "branches": "(the repo's default branch)",
    "due": "(no deadline)",
    "late": "(no late policy)",
    "late.cutoff": "(no cutoff)",
    "max_graded_per_day": "(no limit)",
    "after_due": "(as visibility)",
}


def _print_settings(title: str, config: AssignmentConfig, sources: Mapping[str, str]) -> None:
    from ghapp.core.policy import flatten, show

    print(title)
    settings = flatten(config)
    width = max(len(key) for key in settings)
    for key, value in settings.items():
        shown = _NONE_MEANS.get(key, "none") if value is None else show(key, value)
        print(f"  {key:<{width}}  {shown}  ({sources.get(key, 'default')})")


def _try_config(args: argparse.Namespace) -> AssignmentConfig:
    """The settings `try` grades with: the config file's assignment (either form, checked as
    `check-config` checks it), then the flags."""
    from ghapp.core.config import AssignmentConfig, consistency_problems, load_file

    fields: dict = {}
    if args.config is not None:
        config = load_file(_read(args.config), file=str(args.config), standalone=not args.image)
        names = list(config.assignments)
        if args.assignment is not None:
            if args.assignment not in config.assignments:
                raise ValueError(
                    f"{args.config} has no assignment {args.assignment!r} "
                    f"(its assignments: {', '.join(names)})"
                )
            name = args.assignment
        elif len(names) > 1:
            raise ValueError(
                f"{args.config} lists {len(names)} assignments ({', '.join(names)}): say which "
                "with --assignment NAME"
            )
        else:
            name = names[0]
        fields = config.assignments[name].model_dump()
    elif args.assignment is not None:
        raise ValueError("--assignment picks one of a --config file's assignments")
    if args.image:
        fields["image"] = args.image
        fields.pop("grader", None)
    if args.timeout is not None:
        if args.timeout <= 0:
            raise ValueError("--timeout must be a positive number of seconds")
        fields["timeout"] = args.timeout
    if not fields.get("image"):
        if fields.get("grader"):
            raise ValueError(
                "the config builds its grader from a repository (grader:): build that image "
                "and give it with --image IMAGE"
            )
        raise ValueError("no grader image: give --image IMAGE or a --config file with 'image:'")
    fields.pop("repos", None)
    settled = AssignmentConfig.model_validate(fields)
    for field, message in consistency_problems(settled):  # as the app would refuse it
        raise ValueError(f"{args.config or '--timeout'}: {field}: {message}")
    return settled


def render_text(outcome: Outcome, path: Path, image: str) -> str:
    """A terminal report: the verdict first, then each test, then the log."""
    from runner.outcome import ErrorKind, Status, TestStatus

    marks = {
        TestStatus.PASSED: "✔",
        TestStatus.FAILED: "✘",
        TestStatus.ERRORED: "!",
        TestStatus.SKIPPED: "-",
    }
    if outcome.could_not_run:
        lines = [f"{path} was not graded: the grader could not run"]
    else:
        lines = [f"{path} graded with {image} in {outcome.duration_s:.1f} s"]
    verdict = outcome.status.value.replace("_", " ").upper()
    if outcome.score is not None:
        total = f"{_points(outcome.score)}"
        if outcome.max_score is not None:
            total += f" / {_points(outcome.max_score)}"
        verdict += f"  {total}"
    lines.append(verdict)
    if outcome.reason:
        lines.append(outcome.reason)
    if outcome.error is ErrorKind.IMAGE_NOT_FOUND:
        lines.append(
            f"Build it first (docker build -t {image} FOLDER-WITH-ITS-DOCKERFILE), or check the "
            "name: try looks for it on this machine's Docker engine, then pulls it."
        )
    if outcome.error in (ErrorKind.GRADER_FAILED, ErrorKind.BAD_RESULTS):
        lines.append(
            "This is the grader's failure, not the submission's: a student's check run says "
            "it is not graded yet, and the push keeps its time until it is regraded."
        )
    if outcome.tests:
        lines.append("")
        width = min(max(len(t.name) for t in outcome.tests), 60)
        for test in outcome.tests:
            points = ""
            if test.max_score is not None:
                points = f"{_points(test.score or 0)}/{_points(test.max_score)}"
            lines.append(f"  {marks[test.status]} {test.name:<{width}}  {points}".rstrip())
            if test.status in (TestStatus.FAILED, TestStatus.ERRORED) and test.output:
                lines.extend(f"      {line}" for line in test.output.strip().splitlines()[:20])
    if outcome.output:
        lines += ["", outcome.output.strip()]
    if outcome.log.strip() and (outcome.status is not Status.PASSED or not outcome.tests):
        lines += ["", "--- log" + (" (head and tail) ---" if outcome.log_truncated else " ---")]
        lines.append(outcome.log.rstrip())
    return "\n".join(lines)


def _points(value: float) -> str:
    return f"{value:g}"


if __name__ == "__main__":
    sys.exit(main())
