"""Which assignment a repo's push belongs to, and its settings once the org file's lock the repo's.

The org file (in the org's `.github` repo) is writable only by teachers; the repo file is in the
student's repo, which the student can edit. So when an org assignment applies to a repo it is the
whole policy: every setting comes from it or from the defaults, never from the repo file, which
may only name the branches graded and the check's name. Otherwise a student could bring their
own image or grader repo (one that awards full marks), a deadline already past with
`after_due: full`, or a network. A repo file that tries to change a locked setting is noted for
the teacher, and has no effect. In an org with an org file, a repo no org assignment matches
is not graded at all; only where the org has no org file does a repo file stand alone (a
teacher's own repos). Pure functions over parsed files.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from ghapp.core.config import (
    AssignmentConfig,
    ConfigError,
    ConfigProblem,
    PushgradeConfig,
    consistency_problems,
)

Source = Literal["org", "repo", "org+repo"]
FieldSource = Literal["org", "repo", "default"]

# Settings made of settings: merged one sub-setting at a time.
_NESTED = ("limits", "late")
# What a repo file may still set when an org assignment applies: nothing that grades or shows.
REPO_MAY_SET = frozenset({"branches", "check_name"})


@dataclass(frozen=True)
class Resolution:
    assignment_name: str | None
    config: AssignmentConfig | None  # None: this repo is not graded
    locked_overrides: tuple[str, ...] = ()
    source: Source | None = None
    # Where each setting came from, by dotted name ("limits.memory"); empty when not graded.
    sources: Mapping[str, FieldSource] = field(default_factory=dict)
    # Not graded although the repo file has an assignment for it: the org file names none.
    repo_file_ignored: bool = False


def matches(assignment: AssignmentConfig, repo_name: str) -> bool:
    """Whether an assignment's `repos` globs name this repo (case-insensitive, fnmatch)."""
    if assignment.repos is None:
        return False
    name = repo_name.lower()
    return any(fnmatch.fnmatchcase(name, glob.lower()) for glob in assignment.repos)


def resolve(
    repo_name: str, *, org: PushgradeConfig | None, repo: PushgradeConfig | None
) -> Resolution:
    """The settings a push to `repo_name` is graded with.

    The org file's first assignment (in file order) whose `repos` matches applies; the repo file's
    first assignment with no `repos` or a matching one fills in what the org assignment leaves
    out. With an org file but no matching assignment, nothing is graded; without an org file the
    repo file stands alone. Raises `ConfigError` when
    the merged settings are incomplete (no image) or contradict each other.
    """
    org_match = _first(org, repo_name, org_file=True)
    repo_match = _first(repo, repo_name, org_file=False)
    if org is not None and org_match is None:
        # An org with an org file grades what it names: a repo made before its assignment was
        # added (or named to dodge it) is not graded from a file its student writes.
        return Resolution(None, None, repo_file_ignored=repo_match is not None)
    if org_match is None and repo_match is None:
        return Resolution(None, None)
    org_fields = _set_fields(org_match[1]) if org_match else {}
    repo_fields = _set_fields(repo_match[1]) if repo_match else {}
    merged: dict[str, Any] = dict(org_fields)
    taken: dict[str, Any] = {}  # what the repo file contributed
    locked = []
    for key, value in repo_fields.items():
        blocker = _org_key_covering(key, org_fields)
        shown = key.rstrip(".")
        if blocker is None and (org_match is None or key in REPO_MAY_SET):
            merged[key] = taken[key] = value
        elif blocker is None:
            locked.append(
                f"{shown}: the org file's assignment leaves it at its default, which only the "
                f"org file can change; the repo file's {show(key, value)} has no effect"
            )
        elif blocker != key:
            locked.append(
                f"{shown}: the org file sets {blocker}; "
                f"the repo file's {show(key, value)} has no effect"
            )
        elif org_fields[key] != value:
            locked.append(
                f"{shown}: the org file sets {show(key, org_fields[key])}; "
                f"the repo file's {show(key, value)} has no effect"
            )
    name = org_match[0] if org_match else repo_match[0]  # type: ignore[index]
    source: Source = "org+repo" if org_match and repo_match else "org" if org_match else "repo"
    files = [c.file for c, m in ((org, org_match), (repo, repo_match)) if c is not None and m]
    config = _build(merged, name, " + ".join(files), org_file=org_match is not None)
    sources: dict[str, FieldSource] = {}
    for key in flatten(config):
        if _org_key_covering(key, org_fields) is not None:
            sources[key] = "org"
        elif _covered(key, taken):
            sources[key] = "repo"
        else:
            sources[key] = "default"
    return Resolution(name, config, tuple(locked), source, sources)


def standalone(config: AssignmentConfig) -> dict[str, FieldSource]:
    """Where each setting of one file's assignment comes from when nothing else is merged in."""
    fields = _set_fields(config)
    return {key: "repo" if _covered(key, fields) else "default" for key in flatten(config)}


def flatten(config: AssignmentConfig) -> dict[str, Any]:
    """Every setting but `repos`, by dotted name, in declaration order."""
    flat: dict[str, Any] = {}
    for name in type(config).model_fields:
        if name == "repos":
            continue
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            for sub in type(value).model_fields:
                flat[f"{name}.{sub}"] = getattr(value, sub)
        else:
            flat[name] = value
    return flat


def _first(
    config: PushgradeConfig | None, repo_name: str, *, org_file: bool
) -> tuple[str, AssignmentConfig] | None:
    if config is None:
        return None
    for name, assignment in config.assignments.items():
        if matches(assignment, repo_name) or (not org_file and assignment.repos is None):
            return name, assignment
    return None


def _set_fields(config: AssignmentConfig) -> dict[str, Any]:
    """The settings a file wrote, by dotted name; a nested block by its own set settings."""
    fields: dict[str, Any] = {}
    for name in type(config).model_fields:
        if name == "repos" or name not in config.model_fields_set:
            continue
        value = getattr(config, name)
        if name in _NESTED and isinstance(value, BaseModel):
            for sub in [s for s in type(value).model_fields if s in value.model_fields_set]:
                fields[f"{name}.{sub}"] = getattr(value, sub)
            if not value.model_fields_set:  # `late: {}` still turns the block on
                fields[f"{name}."] = None
        else:
            fields[name] = value
    return fields


def _org_key_covering(key: str, org_fields: Mapping[str, Any]) -> str | None:
    """The org setting that locks `key`: itself, its block set whole (`late: null`), or, for a
    whole block, any setting inside it."""
    if key in org_fields:
        return key
    parent = key.split(".", 1)[0]
    if "." in key and parent in org_fields:
        return parent
    return next((k for k in org_fields if k.startswith(f"{key}.")), None)


def _covered(key: str, fields: Mapping[str, Any]) -> bool:
    return key in fields or ("." in key and key.split(".", 1)[0] in fields)


def _build(merged: Mapping[str, Any], name: str, file: str, *, org_file: bool) -> AssignmentConfig:
    data: dict[str, Any] = {}
    for key, value in merged.items():
        if "." in key:
            block, sub = key.split(".", 1)
            inner = data.setdefault(block, {})
            if sub:
                inner[sub] = value
        else:
            data[key] = value
    problems = []
    if data.get("image") is None and data.get("grader") is None:
        where = "in the org file's assignment" if org_file else "in the file"
        problems.append(
            ConfigProblem(
                "",
                "image",
                f"assignment {name!r} has no grader image: set image: {where} "
                "(or grader:, a repository to build it from)",
            )
        )
    else:
        config = AssignmentConfig.model_validate(data)
        problems += [
            ConfigProblem("", field, message) for field, message in consistency_problems(config)
        ]
    if problems:
        raise ConfigError(file, problems)
    return config


def show(key: str, value: Any) -> str:
    """A setting's value as a teacher would write it."""
    if key == "limits.memory" and isinstance(value, int):
        for unit, size in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if value % size == 0:
                return f"{value // size}{unit}"
        return str(value)
    if isinstance(value, BaseModel):  # grader: {repo: …}
        shown = [f"{k}: {show(k, v)}" for k, v in value.model_dump(exclude_none=True).items()]
        return "{" + ", ".join(shown) + "}"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(show(key, v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return f"{value:g}" if isinstance(value, float) else str(value)
