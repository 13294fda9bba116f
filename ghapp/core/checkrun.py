"""The bodies of the check-run writes pushgrade stages: which check run (its name, commit and
external id, so a crashed create is found again), and what each kind of write says."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ghapp.core.events import RERUN_ACTION
from ghapp.core.report import CheckRunReport, render_in_progress, render_queued

CHECK_NAME = "pushgrade"  # unless the assignment's `check_name` says otherwise
RERUN_BUTTON = {
    "label": "Re-run",
    "description": "Grade this commit again",
    "identifier": RERUN_ACTION,
}


class WriteKind(StrEnum):
    """What a staged write reports; a later write of a job replaces an unsent earlier one."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    FINAL = "final"  # the result
    REVEAL = "reveal"  # the result shown at the after-deadline level


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def identity(config: dict | None, head_sha: str, job_id: int) -> dict:
    """What every write of a job's one check run carries: enough for a create."""
    return {
        "name": (config or {}).get("check_name") or CHECK_NAME,
        "head_sha": head_sha,
        "external_id": str(job_id),
    }


def queued(ahead: int | None = None) -> dict:
    return {"status": "queued", "output": render_queued(ahead)}


def in_progress(started_at: datetime) -> dict:
    return {"status": "in_progress", "started_at": iso(started_at), "output": render_in_progress()}


def completed(
    report: CheckRunReport,
    *,
    details_url: str,
    completed_at: datetime | None,
    rerun: bool = True,
    name: str | None = None,
) -> tuple[dict, list[dict]]:
    """The completing write's body, and the outputs of the updates that follow it (GitHub
    takes 50 annotations a request). `completed_at` None: a reveal, which changes what is
    shown, not when grading finished. `name` None: the assignment's check_name."""
    batches = report.annotation_batches() or [()]
    body = {
        "status": "completed",
        "conclusion": report.conclusion,
        "output": report.output(batches[0]),
        "details_url": details_url,
    }
    if completed_at is not None:
        body["completed_at"] = iso(completed_at)
    if rerun:
        body["actions"] = [RERUN_BUTTON]
    if name is not None:
        body["name"] = name
    return body, [report.output(batch) for batch in batches[1:]]
