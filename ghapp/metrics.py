"""Prometheus metrics of the GitHub side: writes sent, deferred and dropped per installation,
the budget used, how long results waited for it, deliveries recovered. One registry per
process; `/metrics` of a process that serves the web exposes it beside the web's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

WRITES_SENT = Counter(
    "pushgrade_github_writes_sent",
    "Check-run writes GitHub accepted, by installation and kind",
    ["installation", "kind"],
    registry=REGISTRY,
)
WRITES_DEFERRED = Counter(
    "pushgrade_github_writes_deferred",
    "Times a write waited for the installation's budget or a GitHub block",
    ["installation"],
    registry=REGISTRY,
)
WRITES_REPLACED = Counter(
    "pushgrade_github_writes_replaced",
    "Writes never sent because a newer one for the same check run replaced them",
    ["installation", "kind"],
    registry=REGISTRY,
)
WRITES_FAILED = Counter(
    "pushgrade_github_write_failures",
    "Write attempts that failed (retried later) or were given up, by outcome",
    ["installation", "outcome"],
    registry=REGISTRY,
)
BUDGET_USED = Gauge(
    "pushgrade_github_budget_used",
    "Content-generating requests sent in the window, by installation",
    ["installation", "window"],
    registry=REGISTRY,
)
RESULT_WAIT = Histogram(
    "pushgrade_github_result_wait_seconds",
    "From a result being ready to GitHub accepting it",
    registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
JOB_PHASES = Histogram(
    "pushgrade_job_phase_seconds",
    "Graded jobs: how long each step took, by the phase it ended at (claimed, downloaded, "
    "created, started, exited, staged, accepted; total: received to accepted)",
    ["phase"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
DELIVERIES_RECOVERED = Counter(
    "pushgrade_deliveries_recovered",
    "Webhook deliveries found by reconciliation that had never reached pushgrade",
    ["event"],
    registry=REGISTRY,
)
