"""Check-run requests validated with GitHub's rules, applied to stored runs, and rendered."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ghsim.shapes import Urls, app, iso, node_id
from ghsim.state import CheckRun

STATUSES = {"queued", "in_progress", "completed"}
ACTIONS_ONLY_STATUSES = {"waiting", "requested", "pending"}
CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
}
ANNOTATION_LEVELS = {"notice", "warning", "failure"}
MAX_TEXT = 65535
MAX_ANNOTATIONS = 50
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"resource": "CheckRun", "field": field, "code": code, "message": message}


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (`YYYY-MM-DDTHH:MM:SSZ` or with an offset), or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def validate(
    body: Any, *, creating: bool, existing: CheckRun | None = None
) -> list[dict[str, str]]:
    """Every reason GitHub would answer this create/update body with 422 (empty: valid)."""
    if not isinstance(body, dict):
        return [_error("body", "invalid", "The request body must be a JSON object.")]
    errors: list[dict[str, str]] = []
    if creating:
        for field in ("name", "head_sha"):
            if field not in body:
                errors.append(_error(field, "missing_field", f'"{field}" wasn\'t supplied.'))
    for field in ("name", "head_sha", "details_url", "external_id"):
        if field in body and not isinstance(body[field], str):
            errors.append(_error(field, "invalid", f'"{field}" must be a string.'))
    if "name" in body and body["name"] == "":
        errors.append(_error("name", "invalid", '"name" must not be blank.'))
    status = body.get("status")
    if "status" in body:
        if status in ACTIONS_ONLY_STATUSES:
            errors.append(
                _error(
                    "status",
                    "invalid",
                    "Only GitHub Actions can set a status of waiting, pending, or requested.",
                )
            )
        elif status not in STATUSES:
            errors.append(_error("status", "invalid", f"{status!r} is not a valid status."))
    conclusion = body.get("conclusion")
    if "conclusion" in body and conclusion is not None:
        if conclusion == "stale":
            errors.append(
                _error("conclusion", "invalid", "Only GitHub can set a conclusion of stale.")
            )
        elif conclusion not in CONCLUSIONS:
            errors.append(
                _error("conclusion", "invalid", f"{conclusion!r} is not a valid conclusion.")
            )
    for field in ("started_at", "completed_at"):
        if field in body and body[field] is not None and parse_time(body[field]) is None:
            errors.append(_error(field, "invalid", f'"{field}" must be an ISO 8601 timestamp.'))
    if conclusion is None and (status == "completed" or body.get("completed_at") is not None):
        errors.append(
            _error(
                "conclusion",
                "missing_field",
                '"conclusion" is required when "status" is "completed" or "completed_at" is given.',
            )
        )
    details_url = body.get("details_url") or (existing.details_url if existing else None)
    if conclusion == "action_required" and not details_url:
        errors.append(
            _error(
                "details_url",
                "missing_field",
                '"details_url" is required when "conclusion" is "action_required".',
            )
        )
    if "output" in body:
        errors += validate_output(body["output"])
    if "actions" in body:
        errors += validate_actions(body["actions"])
    return errors


def validate_output(output: Any) -> list[dict[str, str]]:
    if not isinstance(output, dict):
        return [_error("output", "invalid", '"output" must be an object.')]
    errors = []
    for field in ("title", "summary"):
        if not isinstance(output.get(field), str):
            errors.append(
                _error(f"output.{field}", "missing_field", f'"output.{field}" wasn\'t supplied.')
            )
    for field in ("summary", "text"):
        value = output.get(field)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            errors.append(
                _error(
                    f"output.{field}",
                    "invalid",
                    f'"output.{field}" is too long (maximum is {MAX_TEXT} characters).',
                )
            )
    annotations = output.get("annotations", [])
    if not isinstance(annotations, list):
        errors.append(_error("output.annotations", "invalid", "must be an array."))
    elif len(annotations) > MAX_ANNOTATIONS:
        errors.append(
            _error(
                "output.annotations",
                "invalid",
                f"Only {MAX_ANNOTATIONS} annotations are allowed per request.",
            )
        )
    else:
        for index, annotation in enumerate(annotations):
            errors += validate_annotation(index, annotation)
    for index, image in enumerate(output.get("images") or []):
        if not isinstance(image, dict) or not image.get("alt") or not image.get("image_url"):
            errors.append(
                _error(f"output.images[{index}]", "missing_field", "alt and image_url required.")
            )
    return errors


def validate_annotation(index: int, annotation: Any) -> list[dict[str, str]]:
    where = f"output.annotations[{index}]"
    if not isinstance(annotation, dict):
        return [_error(where, "invalid", "An annotation must be an object.")]
    errors = []
    for field, kind in (
        ("path", str),
        ("start_line", int),
        ("end_line", int),
        ("annotation_level", str),
        ("message", str),
    ):
        if not isinstance(annotation.get(field), kind) or isinstance(annotation.get(field), bool):
            errors.append(_error(f"{where}.{field}", "missing_field", f'"{field}" is required.'))
    level = annotation.get("annotation_level")
    if isinstance(level, str) and level not in ANNOTATION_LEVELS:
        errors.append(
            _error(
                f"{where}.annotation_level",
                "invalid",
                f"{level!r} is not one of notice, warning, failure.",
            )
        )
    has_columns = annotation.get("start_column") is not None or (
        annotation.get("end_column") is not None
    )
    if has_columns and annotation.get("start_line") != annotation.get("end_line"):
        errors.append(
            _error(
                f"{where}.start_column",
                "invalid",
                "start_column and end_column are only allowed when start_line equals end_line.",
            )
        )
    if isinstance(annotation.get("title"), str) and len(annotation["title"]) > 255:
        errors.append(_error(f"{where}.title", "invalid", "title is longer than 255 characters."))
    return errors


def validate_actions(actions: Any) -> list[dict[str, str]]:
    if not isinstance(actions, list):
        return [_error("actions", "invalid", '"actions" must be an array.')]
    if len(actions) > MAX_ACTIONS:
        return [_error("actions", "invalid", f"At most {MAX_ACTIONS} actions are allowed.")]
    errors = []
    for index, action in enumerate(actions):
        for field, limit in ACTION_LIMITS.items():
            value = action.get(field) if isinstance(action, dict) else None
            where = f"actions[{index}].{field}"
            if not isinstance(value, str) or not value:
                errors.append(_error(where, "missing_field", f'"{field}" is required.'))
            elif len(value) > limit:
                errors.append(
                    _error(where, "invalid", f'"{field}" is longer than {limit} characters.')
                )
    return errors


def _normal_time(value: str | None) -> str | None:
    parsed = parse_time(value)
    return iso(parsed.timestamp()) if parsed else None


def apply(run: CheckRun, body: dict[str, Any], *, now: float, blob_base: str) -> None:
    """Apply a validated create/update body (other fields, such as head_sha on an update, are
    ignored). Annotations append, as GitHub's do."""
    run.history.append(copy.deepcopy(body))
    for field in ("name", "details_url", "external_id"):
        if field in body:
            setattr(run, field, body[field])
    if body.get("started_at"):
        run.started_at = _normal_time(body["started_at"])
    if body.get("conclusion"):
        # Giving a conclusion completes the run, whatever status came with it.
        run.status, run.conclusion = "completed", body["conclusion"]
        run.completed_at = _normal_time(body.get("completed_at")) or iso(now)
    elif "status" in body:
        run.status = body["status"]
        if run.status != "completed":
            run.conclusion, run.completed_at = None, None
    if run.started_at is None:
        run.started_at = iso(now)
    if "output" in body:
        output = body["output"]
        run.output = {key: output.get(key) for key in ("title", "summary", "text")}
        if output.get("images"):
            run.output["images"] = output["images"]
        for annotation in output.get("annotations", []):
            stored = {
                "path": annotation["path"],
                "blob_href": f"{blob_base}/blob/{run.head_sha}/{annotation['path']}",
                "start_line": annotation["start_line"],
                "end_line": annotation["end_line"],
                "start_column": annotation.get("start_column"),
                "end_column": annotation.get("end_column"),
                "annotation_level": annotation["annotation_level"],
                "title": annotation.get("title"),
                "message": annotation["message"],
                "raw_details": annotation.get("raw_details"),
            }
            run.annotations.append(stored)
    if "actions" in body:
        run.actions = [dict(a) for a in body["actions"]]
    run.updated_at = now


def representation(urls: Urls, run: CheckRun, the_app: Any) -> dict[str, Any]:
    """The check run as `GET /repos/{owner}/{repo}/check-runs/{id}` returns it."""
    api = f"{urls.repo_api(run.repo)}/check-runs/{run.id}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": node_id("CheckRun", run.id),
        "head_sha": run.head_sha,
        "external_id": run.external_id,
        "url": api,
        "html_url": f"{urls.repo_html(run.repo)}/runs/{run.id}",
        "details_url": run.details_url or f"{urls.html}/apps/{the_app.slug}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.annotations),
            "annotations_url": f"{api}/annotations",
        },
        "check_suite": {"id": run.suite.id},
        "app": app(urls, the_app),
        "pull_requests": [],
    }
