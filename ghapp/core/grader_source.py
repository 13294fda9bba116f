"""`grader:` in the config: the repository pushgrade builds an assignment's grader image from.

The mapping `{repo, ref, dockerfile, context}` or the string shorthand `grader: grader-hw1`
(every default). Paths are relative to the grader repo's root and stay inside it; the ref goes
into a URL, so it is held to the characters git refs and commit shas use.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

# `name` (a repository of the assignment's own org) or `owner/name`, as GitHub spells them.
_REPO = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/)?[A-Za-z0-9._-]{1,100}$")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_PATH = re.compile(r"^[A-Za-z0-9._/ -]{1,255}$")


class GraderSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str
    ref: str | None = None  # None: the grader repo's default branch
    dockerfile: str = "Dockerfile"  # relative to the repo's root
    context: str = "."  # relative to the repo's root

    @field_validator("repo", mode="before")
    @classmethod
    def _repo(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _REPO.match(value) or value.endswith((".", "/")):
            raise ValueError(
                "expected a repository of this org (grader-hw1) or owner/name (cs101/grader-hw1)"
            )
        if value.rpartition("/")[2] in (".", ".."):
            raise ValueError("not a repository name")
        return value

    @field_validator("ref", mode="before")
    @classmethod
    def _ref(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not _REF.match(value) or ".." in value:
            raise ValueError("expected a branch, tag or commit sha (main, v2, 3f2a9c1)")
        if value.startswith(("/", "-")) or value.endswith("/"):
            raise ValueError("expected a branch, tag or commit sha (main, v2, 3f2a9c1)")
        return value

    @field_validator("dockerfile", "context", mode="before")
    @classmethod
    def _inside(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _PATH.match(value):
            raise ValueError("expected a path inside the grader repository (docker/Dockerfile)")
        parts = value.split("/")
        if value.startswith("/") or ".." in parts:
            raise ValueError("a path inside the grader repository: not absolute, no '..'")
        return value

    def full_name(self, org: str) -> tuple[str, str]:
        """(owner, name) of the grader repo; a bare name is a repository of `org`."""
        owner, _, name = self.repo.rpartition("/")
        return owner or org, name


def _shorthand(value: Any) -> Any:
    return {"repo": value} if isinstance(value, str) else value


Grader = Annotated[GraderSource | None, BeforeValidator(_shorthand)]
