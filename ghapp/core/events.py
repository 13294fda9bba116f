"""What each webhook means for pushgrade: pure decisions over parsed payloads, no I/O.

`decide(event, payload, app_id=…)` returns the decisions a delivery implies; the web layer stores
them with the delivery in one transaction. Unknown or irrelevant events decide nothing (`Ignore`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ZERO_SHA = "0" * 40
RERUN_ACTION = "rerun"  # the identifier of the "Re-run" button on our check runs (≤ 20 chars)


class Trigger(StrEnum):
    """What made a job."""

    PUSH = "push"
    RERUN = "rerequested"  # "Re-run" on a check run in GitHub's UI
    RERUN_BUTTON = "requested_action"  # our own "Re-run" button (RERUN_ACTION)
    SUITE_RERUN = "check_suite_rerequested"  # "Re-run all checks"
    DASHBOARD = "dashboard"  # a teacher's regrade in pushgrade's dashboard


@dataclass(frozen=True)
class GradeRequest:
    installation_id: int
    repository_id: int | None
    owner: str
    repo: str
    head_sha: str
    ref: str | None
    trigger: Trigger
    default_branch: str | None = None  # the repository's, when the payload names it
    sender: str | None = None  # who pushed or asked for the re-run (a GitHub login)


@dataclass(frozen=True)
class InstallationSeen:
    installation_id: int
    account_login: str
    account_type: str
    repositories: tuple[tuple[int, str, bool], ...] = ()  # (id, full_name, private)


@dataclass(frozen=True)
class InstallationGone:
    installation_id: int


@dataclass(frozen=True)
class InstallationSuspended:
    installation_id: int
    suspended: bool


@dataclass(frozen=True)
class RepositoriesRemoved:
    installation_id: int
    repository_ids: tuple[int, ...]


@dataclass(frozen=True)
class Ignore:
    reason: str


Decision = (
    GradeRequest
    | InstallationSeen
    | InstallationGone
    | InstallationSuspended
    | RepositoriesRemoved
    | Ignore
)


class BadPayload(ValueError):
    """The payload lacks a field its event always has."""


@dataclass
class _Routes:
    handlers: dict[tuple[str, str | None], Callable[..., list[Decision]]] = field(
        default_factory=dict
    )

    def on(self, event: str, action: str | None = None):
        def register(fn):
            self.handlers[(event, action)] = fn
            return fn

        return register


routes = _Routes()


def decide(event: str, payload: Any, *, app_id: int | None = None) -> list[Decision]:
    if not isinstance(payload, dict):
        raise BadPayload("the payload is not a JSON object")
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    handler = routes.handlers.get((event, action)) or routes.handlers.get((event, None))
    if handler is None:
        return [
            Ignore(f"{event}{'.' + action if action else ''} is not an event pushgrade acts on")
        ]
    try:
        return handler(payload, app_id=app_id)
    except (KeyError, TypeError, AttributeError) as err:
        raise BadPayload(f"the {event} payload lacks an expected field ({err})") from None


def _repo_fields(payload: dict) -> tuple[int | None, str, str]:
    repository = payload["repository"]
    owner = repository["owner"]
    login = owner.get("login") or owner.get("name")
    if not isinstance(login, str) or not isinstance(repository["name"], str):
        raise TypeError("repository owner or name")
    return repository.get("id"), login, repository["name"]


def _default_branch(payload: dict) -> str | None:
    branch = payload["repository"].get("default_branch")
    return branch if isinstance(branch, str) and branch else None


def _sender(payload: dict) -> str | None:
    login = (payload.get("sender") or {}).get("login")
    return login if isinstance(login, str) and login else None


def _installation_id(payload: dict) -> int | None:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return installation["id"]
    return None


@routes.on("push")
def _push(payload: dict, *, app_id: int | None) -> list[Decision]:
    ref, after = payload["ref"], payload["after"]
    if payload.get("deleted") or after == ZERO_SHA:
        return [Ignore(f"{ref} was deleted")]
    if not isinstance(ref, str) or not ref.startswith("refs/heads/"):
        return [Ignore(f"{ref} is not a branch")]
    installation_id = _installation_id(payload)
    if installation_id is None:
        return [Ignore("the push carries no installation")]
    repository_id, owner, repo = _repo_fields(payload)
    if not isinstance(after, str) or len(after) != 40:
        raise TypeError("after")
    return [
        GradeRequest(
            installation_id,
            repository_id,
            owner,
            repo,
            after,
            ref,
            Trigger.PUSH,
            _default_branch(payload),
            _sender(payload),
        )
    ]


def _ours(check_run_or_suite: dict, app_id: int | None) -> bool:
    app = check_run_or_suite.get("app") or {}
    return app_id is None or app.get("id") == app_id


@routes.on("check_run", "rerequested")
@routes.on("check_run", "requested_action")
def _check_run(payload: dict, *, app_id: int | None) -> list[Decision]:
    check_run = payload["check_run"]
    if not _ours(check_run, app_id):
        return [Ignore("the check run belongs to another app")]
    if payload["action"] == "requested_action":
        identifier = (payload.get("requested_action") or {}).get("identifier")
        if identifier != RERUN_ACTION:
            return [Ignore(f"unknown check-run action {identifier!r}")]
    branch = (check_run.get("check_suite") or {}).get("head_branch")
    trigger = Trigger(payload["action"])
    return _grade_again(payload, check_run["head_sha"], branch, trigger, "check run")


@routes.on("check_suite", "rerequested")
def _check_suite(payload: dict, *, app_id: int | None) -> list[Decision]:
    suite = payload["check_suite"]
    if not _ours(suite, app_id):
        return [Ignore("the check suite belongs to another app")]
    return _grade_again(
        payload,
        suite["head_sha"],
        suite.get("head_branch"),
        Trigger.SUITE_RERUN,
        "check suite",
    )


def _grade_again(
    payload: dict, head_sha: str, branch: str | None, trigger: Trigger, what: str
) -> list[Decision]:
    """A re-run asked from GitHub's UI: grade that commit again, as a job of its own."""
    installation_id = _installation_id(payload)
    if installation_id is None:
        return [Ignore(f"the {what} event carries no installation")]
    repository_id, owner, repo = _repo_fields(payload)
    ref = f"refs/heads/{branch}" if branch else None
    return [
        GradeRequest(
            installation_id,
            repository_id,
            owner,
            repo,
            head_sha,
            ref,
            trigger,
            _default_branch(payload),
            _sender(payload),
        )
    ]


def _repositories(items: Any) -> tuple[tuple[int, str, bool], ...]:
    return tuple(
        (item["id"], item["full_name"], bool(item.get("private", True)))
        for item in items or ()
        if isinstance(item, dict)
    )


@routes.on("installation", "created")
@routes.on("installation", "new_permissions_accepted")
def _installed(payload: dict, *, app_id: int | None) -> list[Decision]:
    installation = payload["installation"]
    account = installation["account"]
    return [
        InstallationSeen(
            installation["id"],
            account["login"],
            account.get("type", "Organization"),
            _repositories(payload.get("repositories")),
        )
    ]


@routes.on("installation", "deleted")
def _uninstalled(payload: dict, *, app_id: int | None) -> list[Decision]:
    return [InstallationGone(payload["installation"]["id"])]


@routes.on("installation", "suspend")
@routes.on("installation", "unsuspend")
def _suspension(payload: dict, *, app_id: int | None) -> list[Decision]:
    return [InstallationSuspended(payload["installation"]["id"], payload["action"] == "suspend")]


@routes.on("installation_repositories", "added")
@routes.on("installation_repositories", "removed")
def _repos_changed(payload: dict, *, app_id: int | None) -> list[Decision]:
    installation = payload["installation"]
    account = installation["account"]
    if payload["action"] == "added":
        return [
            InstallationSeen(
                installation["id"],
                account["login"],
                account.get("type", "Organization"),
                _repositories(payload.get("repositories_added")),
            )
        ]
    removed = tuple(r["id"] for r in payload.get("repositories_removed") or () if "id" in r)
    return [RepositoriesRemoved(installation["id"], removed)]
