"""The aiohttp application: `POST /webhooks/github`, `GET /healthz`, `GET /metrics`, and the
teacher dashboard (`web.dashboard`) when it is configured; and the probe application of a
`pushgrade worker` alone, which answers `GET /healthz` and `GET /metrics` only.

The webhook endpoint verifies the signature before anything else, stores the delivery and the
jobs it implies in one transaction and answers — no GitHub call is made while GitHub waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from gidgethub import ValidationFailure
from gidgethub.sansio import validate_event
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from ghapp.core import events
from ghapp.core.oneline import said
from ghapp.metrics import REGISTRY as github_metrics
from ghapp.store import deliveries
from ghapp.store.db import disk_trouble, ping
from web import site
from web.dashboard import Dashboard

log = logging.getLogger(__name__)

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
MAX_GUID = 64


@dataclass
class WebState:
    sessions: object
    webhook_secret: str
    app_id: int | None
    on_new_work: Callable[[], None] = lambda: None
    docker_ping: Callable[[], object] | None = None
    # The worker in this process, if any: None while it works, else why it does not.
    worker_health: Callable[[], str | None] | None = None
    # Told when the database refuses a delivery (the worker in this process then knows it is
    # away, and looks for the refused deliveries once it is back).
    on_refused: Callable[[BaseException], object] = lambda err: None
    dashboard: Dashboard | None = None  # None: the dashboard is off (no OAuth client set)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "pushgrade_webhook_deliveries",
            "Webhook deliveries by event and result",
            ["event", "result"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "pushgrade_webhook_ingest_seconds",
            "Time to verify, store and answer a delivery",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5),
        )
        self.jobs_created = Counter(
            "pushgrade_jobs_created", "Grading jobs created from deliveries", registry=self.registry
        )


STATE = web.AppKey("state", WebState)
METRICS = web.AppKey("metrics", Metrics)


def make_app(state: WebState) -> web.Application:
    # One byte over the cap is enough for aiohttp to refuse with 413 while reading the body.
    app = web.Application(client_max_size=MAX_PAYLOAD)
    app[STATE] = state
    app[METRICS] = Metrics()
    app.router.add_post("/webhooks/github", webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    site.install(app, state.dashboard)
    return app


def make_probe_app(state: WebState) -> web.Application:
    """What a worker without the web answers, on a port of its own: its health (the database,
    the Docker engine, its loops and heartbeat) and its metrics. No webhook, no dashboard."""
    app = web.Application()
    app[STATE] = state
    app[METRICS] = Metrics()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


async def webhook(request: web.Request) -> web.Response:
    started = time.perf_counter()
    state, stats = request.app[STATE], request.app[METRICS]
    if request.content_length is not None and request.content_length > MAX_PAYLOAD:
        return _problem(413, "payload larger than 25 MB")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _problem(413, "payload larger than 25 MB")
    signature = request.headers.get("X-Hub-Signature-256")
    if not signature:
        stats.deliveries.labels("unknown", "unsigned").inc()
        return _problem(401, "missing X-Hub-Signature-256")
    try:
        validate_event(body, signature=signature, secret=state.webhook_secret)
    except ValidationFailure:
        stats.deliveries.labels("unknown", "bad_signature").inc()
        return _problem(401, "signature does not match")
    event = request.headers.get("X-GitHub-Event", "").strip()
    guid = request.headers.get("X-GitHub-Delivery", "").strip()
    if not event or not guid or len(guid) > MAX_GUID or len(event) > 64:
        return _problem(400, "missing or malformed X-GitHub-Event / X-GitHub-Delivery")
    try:
        payload = json.loads(body)
        decisions = events.decide(event, payload, app_id=state.app_id)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and BadPayload are ValueErrors
        stats.deliveries.labels(event[:32], "bad_payload").inc()
        return _problem(400, f"malformed payload: {str(err)[:200]}")
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    try:
        job_ids = await deliveries.ingest(
            state.sessions,
            guid=guid,
            event=event,
            action=(action or "")[:64] or None,
            decisions=decisions,
        )
    except Exception as err:
        # Nothing was stored: GitHub records the delivery as failed, and reconciliation takes
        # it from GitHub's delivery log once the database is back.
        log.error("delivery %s (%s) could not be stored: %s", guid[:64], event[:32], said(err))
        stats.deliveries.labels(event[:32], "not_stored").inc()
        state.on_refused(err)
        return _problem(500, "the delivery could not be stored; it is recovered later")
    stats.ingest_seconds.observe(time.perf_counter() - started)
    if job_ids is None:
        stats.deliveries.labels(event[:32], "duplicate").inc()
        return web.json_response({"status": "duplicate delivery, already stored"}, status=200)
    if job_ids:
        stats.jobs_created.inc(len(job_ids))
        state.on_new_work()
    taken = any(not isinstance(d, events.Ignore) for d in decisions)
    stats.deliveries.labels(event[:32], "taken" if taken else "ignored").inc()
    if not taken:
        reasons = "; ".join(d.reason for d in decisions if isinstance(d, events.Ignore))
        return web.json_response({"status": "ignored", "reason": reasons}, status=200)
    return web.json_response({"status": "accepted", "jobs": job_ids}, status=202)


async def healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    checks = {}
    try:
        await ping(state.sessions)
        trouble = await asyncio.to_thread(disk_trouble, state.sessions.kw.get("bind"))
        checks["database"] = f"cannot store: {trouble}" if trouble else "ok"
    except Exception as err:
        checks["database"] = f"unreachable: {type(err).__name__}"
    if state.docker_ping is not None:
        try:
            await asyncio.wait_for(asyncio.to_thread(state.docker_ping), 5)
            checks["docker"] = "ok"
        except Exception as err:
            checks["docker"] = f"unreachable: {type(err).__name__}"
    if state.worker_health is not None:
        checks["worker"] = state.worker_health() or "ok"
    healthy = all(value == "ok" for value in checks.values())
    return web.json_response(checks, status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    # The web's own metrics, then the GitHub side's (the writes of a worker in this process).
    body = generate_latest(request.app[METRICS].registry) + generate_latest(github_metrics)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
