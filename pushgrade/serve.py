"""Run pushgrade: the web application, the worker, or both in one process (the default)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from ghapp.core.budget import Limits
from ghapp.core.tenants import Tenancy
from ghapp.github import GitHubApp
from ghapp.settings import Settings
from ghapp.store.budget import WriteBudget
from ghapp.store.db import Sessions, make_engine, migrate_when_reachable, sessionmaker
from ghapp.work.admission import Admission
from ghapp.work.config_reader import ConfigReader
from ghapp.work.crew import Crew
from ghapp.work.graders import Graders
from ghapp.work.publisher import Publisher
from ghapp.work.reconcile import Reconciler
from ghapp.work.tenancy import Tenants
from ghapp.work.worker import Worker, worker_name
from runner.sandbox import Sandbox
from web.app import WebState, make_app, make_probe_app
from web.dashboard import Dashboard, DashboardSettings

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """The address to serve on cannot be had; the message is one line."""


@dataclass
class Running:
    """A started pushgrade: what tests and `demo` need to reach into."""

    url: str | None  # the web's, or a worker's own /healthz and /metrics when it runs alone
    worker: Worker | None
    sessions: object
    stop: asyncio.Event
    worker_task: asyncio.Task | None = None  # ends early only when the worker cannot work


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    serve_web: bool = True,
    run_worker: bool = True,
    sandbox: Sandbox | None = None,
    lease_s: float | None = None,
    poll_s: float = 2.0,
    grace_s: float = 10.0,
    limits: Limits | None = None,
) -> AsyncIterator[Running]:
    """Start pushgrade; on leaving, stop claiming, give running jobs `grace_s` to finish, then
    cancel them (their leases lapse and another worker takes them over)."""
    engine = make_engine(settings.database_url)
    try:
        await migrate_when_reachable(engine, wait_s=settings.database_wait_s)
    except BaseException:
        await engine.dispose()
        raise
    sessions = sessionmaker(engine)
    stop = asyncio.Event()
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    worker = None
    worker_task = None
    site_runner = None
    url = None
    try:
        github = GitHubApp(
            app_id=settings.app_id,
            private_key=settings.private_key,
            base_url=settings.github_api_url,
            session=http,
        )
        if run_worker and settings.workers > 0:
            worker = build_worker(
                sessions,
                github,
                sandbox=sandbox,
                slots=settings.workers,
                public_url=settings.base_url,
                lease_s=lease_s or settings.lease_s,
                poll_s=poll_s,
                limits=limits or Limits(settings.writes_per_minute, settings.writes_per_hour),
                reconcile_s=settings.reconcile_s,
                tenancy=settings.tenancy,
            )
            worker_task = asyncio.create_task(worker.run(stop), name="pushgrade-worker")
        if serve_web:
            state = WebState(
                sessions=sessions,
                webhook_secret=settings.webhook_secret,
                app_id=settings.app_id or None,
                on_new_work=worker.wake if worker else (lambda: None),
                docker_ping=_docker_ping(worker),
                worker_health=worker.health if worker else None,
                on_refused=worker.outage.refused if worker else (lambda err: None),
                dashboard=_dashboard(settings, sessions, github, http, worker),
            )
            site_runner, url = await _listen(make_app(state), settings.host, settings.port)
            if not settings.public_url:  # links in check runs and the sign-in come back here
                if worker is not None:
                    worker.public_url = url
                if state.dashboard is not None:
                    state.dashboard.settings.public_url = url
        elif worker is not None:
            probe = WebState(
                sessions=sessions,
                webhook_secret="",
                app_id=None,
                docker_ping=_docker_ping(worker),
                worker_health=worker.health,
            )
            site_runner, url = await _listen(
                make_probe_app(probe), settings.host, settings.worker_port
            )
        yield Running(url=url, worker=worker, sessions=sessions, stop=stop, worker_task=worker_task)
    finally:
        stop.set()
        if worker_task is not None:
            await asyncio.wait({worker_task}, timeout=grace_s)
            worker_task.cancel()
            await asyncio.gather(worker_task, return_exceptions=True)  # its failure is told
        if site_runner is not None:
            await site_runner.cleanup()
        await http.close()
        await engine.dispose()


def build_worker(
    sessions: Sessions,
    github: GitHubApp,
    *,
    sandbox: Sandbox | None = None,
    slots: int = os.cpu_count() or 1,
    intake_slots: int = 4,
    lease_s: float = 60.0,
    poll_s: float = 2.0,
    public_url: str = "http://127.0.0.1:8080",
    name: str | None = None,
    limits: Limits | None = None,
    reconcile_s: float = 300.0,
    tenancy: Tenancy | None = None,
) -> Worker:
    """A worker and everything it works with, put together: the one place they are."""
    name = name or worker_name()
    sandbox = sandbox or Sandbox(owner=name)
    tenants = Tenants(sessions, tenancy)
    budget = WriteBudget(sessions, limits or Limits())
    configs = ConfigReader()
    crew = Crew(
        sessions=sessions,
        github=github,
        sandbox=sandbox,
        name=name,
        public_url=public_url.rstrip("/"),
        lease_s=lease_s,
        poll_s=poll_s,
        configs=configs,
        tenants=tenants,
        graders=Graders(
            sessions,
            lambda: sandbox.client,
            worker=name,
            tenants=tenants,
            images=lambda: sandbox.images,
            lease_s=lease_s,
        ),
        budget=budget,
        publisher=Publisher(sessions, github, budget, poll_s=poll_s),
    )
    reconciler = (
        Reconciler(sessions, github, every_s=reconcile_s, on_new_work=crew.wake)
        if reconcile_s > 0
        else None
    )
    return Worker(
        crew,
        slots=slots,
        intake_slots=intake_slots,
        admission=Admission(sessions, configs, worker=name),
        reconciler=reconciler,
    )


def _docker_ping(worker: Worker | None):
    return (lambda: worker.sandbox.client.ping()) if worker else None


async def _listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    site_runner = web.AppRunner(app, access_log=None)
    await site_runner.setup()
    site = web.TCPSite(site_runner, host, port)
    try:
        await site.start()
    except BaseException as err:
        await site_runner.cleanup()
        if isinstance(err, OSError):  # taken, or not an address of this machine
            why = os.strerror(err.errno).lower() if err.errno else str(err)
            raise CannotListen(f"cannot listen on {host}:{port}: {why}") from err
        raise
    port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked
    return site_runner, f"http://{host}:{port}"


def _dashboard(
    settings: Settings, sessions, github: GitHubApp, http: aiohttp.ClientSession, worker
) -> Dashboard | None:
    if not settings.dashboard:
        return None
    return Dashboard(
        DashboardSettings(
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret,
            session_secret=settings.session_secret,
            github_url=settings.github_url,
            api_url=settings.github_api_url,
            public_url=settings.public_url,
        ),
        sessions=sessions,
        github=github,
        http=http,
        on_new_work=worker.wake if worker else (lambda: None),
        tenants=Tenants(sessions, settings.tenancy),
    )


async def serve_forever(settings: Settings, *, serve_web: bool, run_worker: bool) -> int:
    """Serve until SIGINT or SIGTERM (0), or until the worker cannot work (1: its orchestrator
    restarts the process)."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    async with running(
        settings, serve_web=serve_web, run_worker=run_worker, grace_s=settings.grace_s
    ) as app:
        parts = " + ".join(p for p, on in (("web", serve_web), ("worker", run_worker)) if on)
        where = ""
        if app.url:
            where = f" on {app.url}" if serve_web else f", /healthz and /metrics on {app.url}"
        print(f"pushgrade: {parts} running{where}", flush=True)
        waits: set[asyncio.Future] = {asyncio.ensure_future(done.wait())}
        if app.worker_task is not None:
            waits.add(app.worker_task)
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        task = app.worker_task
        if task is not None and task.done() and not done.is_set():
            # Never a process that lives on without its worker, nor one that ends quietly.
            why = None if task.cancelled() else task.exception()
            print(f"pushgrade: the worker stopped: {why or 'it ended'}", file=sys.stderr)
            return 1
    return 0
