"""`.github/pushgrade.yml`: parsing and validation, with every error located by line and column.

Config files are untrusted (students can edit their repo's copy), so loading never raises anything
but `ConfigError`, whose message names the file, the line, the field and what would be valid.
Two forms: the short form (one assignment for this repo, its fields at the top level), read by
`load_config`, and the full form (`assignments:`, each with `repos:` globs), read with the short
form by `load_file`. Which assignment applies to a repo, and how the org file's settings lock the
repo file's, is `ghapp.core.policy`.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from ghapp.core.grader_source import Grader
from ghapp.core.handout import (
    DEFAULT_REPO_NAME,
    DEFAULT_TEAM_REPO_NAME,
    REPO_NAME,
    OpenTo,
    StudentPermission,
    check_pattern,
    repo_name_for,
)
from ghapp.core.located_yaml import (
    ConfigError,
    ConfigProblem,
    locate,
    located_problems,
    parse_yaml,
)
from runner.spec import SandboxLimits, SandboxSpec, parse_size


class VisibilityLevel(StrEnum):
    HIDDEN = "hidden"
    SCORE = "score"
    TESTS = "tests"
    FULL = "full"


# From least to most shown; `after_due` may not show less than `visibility`.
VISIBILITY_ORDER = tuple(VisibilityLevel)


class Runtime(StrEnum):
    RUNC = "runc"
    RUNSC = "runsc"


class LatePolicy(StrEnum):
    GRADE = "grade"  # a late push is graded as any other
    PENALTY = "penalty"  # its score loses penalty_per_day for each day (or part) late
    IGNORE = "ignore"  # a late push is not graded


class ResultsKind(StrEnum):
    """What a grader declares it produces (`results:`). Declared, results of that kind are the
    only ones read, and a grader that leaves none (or crashes first) is the grader's failure,
    never the student's; left out, the kind is inferred from what the grader leaves."""

    GRADESCOPE = "gradescope"  # /results/results.json
    JUNIT = "junit"  # JUnit XML files under /results/
    TAP = "tap"  # TAP on standard output
    EXIT_CODE = "exit-code"  # 0 passes, anything else fails


class ChosenScore(StrEnum):
    """Which of a student's graded commits gives the grade the gradebook exports."""

    LATEST = "latest"  # the newest commit's (a regrade of it replaces its score)
    BEST = "best"  # the highest of each commit's newest score


class OnGraderPush(StrEnum):
    REBUILD = "rebuild"  # a push to the grader repo builds the new image for the next pushes
    REGRADE = "regrade"  # ... and regrades every repo's latest graded push with it


def _size(value: Any) -> int:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return parse_size(value)
        except OverflowError:  # a size of 400 digits overflows a float
            raise ValueError(f"{value!r} is too large a size") from None
    # Not `{value!r}`: an alias bomb's list would take hours to print; the caller adds the value.
    raise ValueError("not a size (examples: 512m, 1g)")


Size = Annotated[int, BeforeValidator(_size)]

_EXAMPLE_MOMENT = "2026-12-01T23:59:00+01:00"
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")


def _moment(value: Any) -> datetime | None:
    """A deadline: a date, a time and a UTC offset, so it means one instant wherever it is read."""
    if value is None or isinstance(value, datetime):
        moment = value
    elif isinstance(value, date) or (isinstance(value, str) and _DATE_ONLY.match(value)):
        raise ValueError(
            f"a date alone is not enough: add a time and a UTC offset ({_EXAMPLE_MOMENT})"
        )
    elif isinstance(value, str) and len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not a date and time (example: {_EXAMPLE_MOMENT})") from None
    else:
        raise ValueError(f"not a date and time (example: {_EXAMPLE_MOMENT})")
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"add a UTC offset, as in {_EXAMPLE_MOMENT} (or Z for UTC)")
    return moment


Moment = Annotated[datetime | None, BeforeValidator(_moment)]


def _names(what: str, example: str) -> Any:
    def check(value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise ValueError(f"expected a {what} or a list of them (example: {example})")
        for item in items:
            if not isinstance(item, str) or not 1 <= len(item) <= 200 or item != item.strip():
                raise ValueError(f"each {what} is a non-empty string (example: {example})")
        return tuple(items)

    return BeforeValidator(check)


Globs = Annotated[tuple[str, ...] | None, _names("glob", '"hw1-*"')]
Branches = Annotated[tuple[str, ...] | None, _names("branch name", "[main]")]

_TEAM_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def _team_slugs(value: Any) -> tuple[str, ...] | None:
    slugs = _names("team slug", "cs101-staff").func(value)
    for slug in slugs or ():
        if not _TEAM_SLUG.match(slug):
            raise ValueError(
                "a team's slug is its name in its URL: letters, digits, - and _ (cs101-staff)"
            )
    return slugs


# Teams whose members are teachers of the org (besides its owners): the org file's `teachers:`.
Teams = Annotated[tuple[str, ...] | None, BeforeValidator(_team_slugs)]


def _one_value(value: Any) -> Any:
    # An enum's own error prints the value, and an alias bomb's list would take hours to print.
    if isinstance(value, list | dict):
        raise ValueError("expected one value, not a list or a mapping")
    return value


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory: Size = SandboxLimits.memory_bytes
    cpus: float = Field(SandboxLimits.cpus, gt=0, le=64)
    pids: int = Field(SandboxLimits.pids, ge=16, le=32768)


class LateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Annotated[LatePolicy, BeforeValidator(_one_value)] = LatePolicy.GRADE
    penalty_per_day: float = Field(0.0, ge=0, le=1)
    cutoff: Moment = None  # after it a push is not graded at all; None: no cutoff


# Fields the short form did not have: left out of a dump while at their default, so the dump of a
# short-form config (stored with each job) is what it always was.
_NEWER_FIELDS = (
    "repos", "branches", "due", "late", "max_graded_per_day", "after_due", "check_name",
    "grader", "on_grader_push", "results", "template", "repo_name", "student_permission",
    "open_to", "max_team_size", "lock_at_cutoff", "chosen_score",
)  # fmt: skip


def _template(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not REPO_NAME.fullmatch(value.split("/", 1)[-1]):
        raise ValueError("a repository of the org, by name (hw1-template) or as ORG/NAME")
    if value.count("/") > 1:
        raise ValueError("a repository of the org, by name (hw1-template) or as ORG/NAME")
    return value


def _pattern(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 100):
        raise ValueError("a repository name with placeholders ({assignment}-{login})")
    return value


class AssignmentConfig(BaseModel):
    """One assignment's settings. The grader is `image` (a registry reference) or `grader` (a
    repository pushgrade builds it from), never both. Both may be left out only where `load_file`
    reads a file (the org or the repo file may supply one); validating without that context
    requires one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str | None = Field(
        None, validate_default=True, min_length=1, max_length=512, pattern=r"^[^\s]+$"
    )
    timeout: float = Field(SandboxLimits.timeout_s, gt=0, le=3600)
    limits: Limits = Limits()
    network: bool = False
    runtime: Annotated[Runtime, BeforeValidator(_one_value)] = Runtime.RUNC
    run_as_root: bool = False
    visibility: Annotated[VisibilityLevel, BeforeValidator(_one_value)] = VisibilityLevel.FULL
    repos: Globs = None  # None: this repo (the repo file's own assignment)
    branches: Branches = None  # None: the repo's default branch only
    due: Moment = None
    late: LateConfig | None = None
    max_graded_per_day: int | None = Field(None, ge=1, le=100_000)
    after_due: Annotated[VisibilityLevel | None, BeforeValidator(_one_value)] = None
    check_name: str = Field("pushgrade", min_length=1, max_length=100)
    grader: Grader = Field(None, validate_default=True)
    on_grader_push: Annotated[OnGraderPush, BeforeValidator(_one_value)] = OnGraderPush.REBUILD
    results: Annotated[ResultsKind | None, BeforeValidator(_one_value)] = None
    # Handing out (org files only): see ghapp.core.handout.
    template: Annotated[str | None, BeforeValidator(_template)] = None
    repo_name: Annotated[str | None, BeforeValidator(_pattern)] = None
    student_permission: Annotated[StudentPermission, BeforeValidator(_one_value)] = (
        StudentPermission.PUSH
    )
    open_to: Annotated[OpenTo, BeforeValidator(_one_value)] = OpenTo.ANYONE
    max_team_size: int | None = Field(None, ge=2, le=100)
    lock_at_cutoff: bool = False
    chosen_score: Annotated[ChosenScore, BeforeValidator(_one_value)] = ChosenScore.LATEST

    @property
    def hands_out(self) -> bool:
        return self.template is not None

    @property
    def repo_pattern(self) -> str:
        """The pattern each student's (or team's) repository is named by."""
        if self.repo_name is not None:
            return self.repo_name
        return DEFAULT_TEAM_REPO_NAME if self.max_team_size else DEFAULT_REPO_NAME

    @field_validator("grader", mode="after")
    @classmethod
    def _image_required(cls, value: Any, info: ValidationInfo) -> Any:
        # Checked here, after both: an image that failed its own checks is not "missing".
        optional = (info.context or {}).get("image_optional")
        if "image" in info.data and info.data["image"] is None and value is None and not optional:
            raise PydanticCustomError("no_image", "no grader")
        return value

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in _NEWER_FIELDS:
            if name in data and getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data

    def sandbox_spec(self, *, pull_missing: bool = True, image: str | None = None) -> SandboxSpec:
        """The sandbox's input; `image` (the image built from `grader`) overrides `image`."""
        image = image or self.image
        if image is None:
            raise ValueError("no grader image: the config sets no image")
        return SandboxSpec(
            image=image,
            limits=SandboxLimits(
                timeout_s=self.timeout,
                memory_bytes=self.limits.memory,
                cpus=self.limits.cpus,
                pids=self.limits.pids,
                network=self.network,
            ),
            runtime=None if self.runtime is Runtime.RUNC else self.runtime.value,
            as_root=self.run_as_root,
            pull_missing=pull_missing,
            results=self.results.value if self.results else None,
        )


class PushgradeConfig(BaseModel):
    """A whole file: its assignments by name, in file order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assignments: dict[str, AssignmentConfig] = Field(min_length=1)
    # The org file only: team slugs whose members see the dashboard as the org's owners do.
    teachers: Teams = None
    _file: str = PrivateAttr(".github/pushgrade.yml")

    @field_validator("assignments", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected the assignments by name, each with its settings")
        if not value:
            raise ValueError("list at least one assignment under assignments:")
        return value

    @property
    def file(self) -> str:
        return self._file


_FULL_FORM_KEYS = ("assignments", "teachers")
_ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SHORT_FORM_NAME = "default"  # the one assignment of a short-form file


def load_config(text: str | bytes, *, file: str = ".github/pushgrade.yml") -> AssignmentConfig:
    """The short form, standing alone: one assignment for this repo."""
    node, data = parse_yaml(text, file)
    try:
        config = AssignmentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(file, located_problems(err, node, AssignmentConfig)) from None
    problems = [
        ConfigProblem(locate(node, field.split(".")), field, message)
        for field, message in consistency_problems(config)
    ]
    if problems:
        raise ConfigError(file, problems)
    return config


def load_file(
    text: str | bytes,
    *,
    file: str = ".github/pushgrade.yml",
    org: bool = False,
    standalone: bool = False,
) -> PushgradeConfig:
    """Either form; the short form becomes one assignment named "default" with no `repos`.

    `image` may be missing here (the other file may set it): `ghapp.core.policy.resolve` requires
    it, and so does `standalone`: a file whose assignments are complete as written (the org's,
    to which a repo's file adds only `branches` and `check_name`, or a repo's in an org without
    one), where every rule applies. Otherwise settings that contradict each other within one
    assignment are refused here, and those that only contradict once the org and repo files are
    merged by `resolve`. An org file's assignments must each say which repos they are for.
    """
    node, data = parse_yaml(text, file)
    context = {"image_optional": True}
    if "assignments" in data:
        prefix: list[str] = []
        stray = [key for key in data if key not in _FULL_FORM_KEYS]
        if stray:
            raise ConfigError(file, [_stray_problem(node, key) for key in stray])
        if "teachers" in data and not org:
            message = (
                "only the org file (in the org's .github repository) names teachers, not a "
                "repository's own file"
            )
            raise ConfigError(
                file, [ConfigProblem(locate(node, ["teachers"]), "teachers", message)]
            )
        problems = []
        if isinstance(data["assignments"], dict):
            names = list(data["assignments"])
            bad = [n for n in names if not (isinstance(n, str) and _ASSIGNMENT_NAME.match(n))]
            problems = [
                ConfigProblem(
                    locate(node, ["assignments", str(name)]),
                    f"assignments.{str(name)[:40]}",
                    "not an assignment name (a letter or digit, then letters, digits, . _ -)",
                )
                for name in bad
            ]
            good = {n: v for n, v in data["assignments"].items() if n not in bad}
            data = {**data, "assignments": good} if good or not bad else {}
        try:
            config = PushgradeConfig.model_validate(data, context=context)
        except ValidationError as err:
            problems += located_problems(err, node, PushgradeConfig) if data else []
        if problems:
            raise ConfigError(file, problems)
    else:
        try:
            one = AssignmentConfig.model_validate(data, context=context)
        except ValidationError as err:
            problems = located_problems(err, node, AssignmentConfig, ("assignments",))
            raise ConfigError(file, problems) from None
        config = PushgradeConfig(assignments={SHORT_FORM_NAME: one})
    problems = []
    for name, assignment in config.assignments.items():
        prefix = ["assignments", name] if "assignments" in data else []
        if org and assignment.repos is None:
            where = locate(node, prefix) if prefix else ""
            field = ".".join(prefix)
            message = "an org file's assignment needs repos: (a glob on the repo names, 'hw1-*')"
            if not prefix:
                message = "an org file lists assignments:, each with repos: (a glob, 'hw1-*')"
            problems.append(ConfigProblem(where, field, message))
        if standalone and assignment.image is None and assignment.grader is None:
            loc = [*prefix, "image"]
            problems.append(ConfigProblem(locate(node, loc), ".".join(loc), _NO_GRADER[org]))
        mismatch = handout_repos_problem(assignment, name)
        if mismatch is not None:
            loc = [*prefix, "repos"]
            problems.append(ConfigProblem(locate(node, loc), ".".join(loc), mismatch))
        for field, message in consistency_problems(assignment, only_set=not standalone):
            loc = [*prefix, *field.split(".")]
            problems.append(ConfigProblem(locate(node, loc), ".".join(loc), message))
    if problems:
        raise ConfigError(file, problems)
    config._file = file
    return config


_NO_GRADER = {
    True: "this setting is required (or grader:, a repository to build the grader from): a "
    "repo's own file cannot give an org file's assignment its grader",
    False: "this setting is required (or grader:, a repository to build the grader from), "
    "unless the org's file gives this repo's assignment one",
}


def consistency_problems(
    config: AssignmentConfig, *, only_set: bool = False
) -> list[tuple[str, str]]:
    """(dotted field, message) for settings that contradict each other.

    With `only_set`, a rule is checked only where the assignment sets every field it compares:
    a field left out may still come from the other file.
    """
    have = config.model_fields_set
    late_set = config.late.model_fields_set if config.late else set()
    problems = []
    if config.image is not None and config.grader is not None:
        problems.append(
            (
                "grader",
                "an assignment names image: (a registry reference) or grader: (a repository "
                "to build it from), not both",
            )
        )
    if "on_grader_push" in have and config.grader is None and (not only_set or "image" in have):
        problems.append(
            (
                "on_grader_push",
                "applies to an image built from grader: (a repository), not to image:",
            )
        )
    if config.late is not None and config.due is None and (not only_set or "due" in have):
        problems.append(("late", "needs due: (the deadline a push is late for)"))
    cutoff = config.late.cutoff if config.late else None
    if (
        cutoff is not None
        and config.due is not None
        and cutoff < config.due
        and (not only_set or ("due" in have and "cutoff" in late_set))
    ):
        problems.append(
            (
                "late.cutoff",
                f"the cutoff {cutoff.isoformat()} is before due {config.due.isoformat()}",
            )
        )
    problems += _handout_problems(config, have, only_set=only_set)
    if (
        config.after_due is not None
        and VISIBILITY_ORDER.index(config.after_due) < VISIBILITY_ORDER.index(config.visibility)
        and (not only_set or "visibility" in have)
    ):
        problems.append(
            (
                "after_due",
                f"{config.after_due.value!r} shows students less after the deadline than "
                f"visibility {config.visibility.value!r} shows before it",
            )
        )
    return problems


_HANDOUT_FIELDS = (
    "repo_name", "student_permission", "open_to", "max_team_size", "lock_at_cutoff",
)  # fmt: skip


def _handout_problems(
    config: AssignmentConfig, have: set[str], *, only_set: bool
) -> list[tuple[str, str]]:
    problems = []
    if config.template is None and (not only_set or "template" in have):
        problems += [
            (field, "applies to an assignment that hands out repos (template:)")
            for field in _HANDOUT_FIELDS
            if field in have
        ]
    if config.repo_name is not None:
        try:
            check_pattern(config.repo_name, team=config.max_team_size is not None)
        except ValueError as err:
            problems.append(("repo_name", str(err)))
    closes = config.late.cutoff if config.late else None
    if config.late and config.late.policy is LatePolicy.IGNORE:
        closes = closes or config.due
    if config.lock_at_cutoff and closes is None and (not only_set or "late" in have):
        problems.append(
            ("lock_at_cutoff", "needs late.cutoff: (the moment the repos turn read-only)")
        )
    return problems


def handout_repos_problem(config: AssignmentConfig, name: str) -> str | None:
    """Why the repos handed out for assignment `name` would not be graded (its `repos:` globs
    do not match the names its `repo_name` makes), or None."""
    if not config.hands_out or not config.repos:
        return None
    try:
        sample = repo_name_for(
            config.repo_pattern, assignment=name, login="some-student", team="some-team"
        )
    except ValueError:
        return None  # the pattern's own problem is told already
    if any(fnmatchcase(sample.lower(), glob.lower()) for glob in config.repos):
        return None
    return (
        f"does not match the repos this assignment hands out ({sample}, by repo_name "
        f"{config.repo_pattern!r}): they would not be graded"
    )


def _stray_problem(node: yaml.Node | None, key: Any) -> ConfigProblem:
    key = str(key)
    if key in AssignmentConfig.model_fields:
        message = (
            f"{key!r} belongs inside an assignment: a file with assignments: has no settings "
            "of its own at the top level"
        )
    else:
        close = difflib.get_close_matches(key, list(_FULL_FORM_KEYS), n=1)
        message = f"unknown setting {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
    return ConfigProblem(locate(node, [key]), key, message)
