"""`.github/pushgrade.yml`: parsing and validation, with every error located by line and column.

Config files are untrusted (students can edit their repo's copy), so loading never raises anything
but `ConfigError`, whose message names the file, the line, the field and what would be valid.
This module knows the short form: one assignment for the repo, its fields at the top level.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from runner.spec import SandboxLimits, SandboxSpec, parse_size

MAX_CONFIG_BYTES = 256 * 1024


class VisibilityLevel(StrEnum):
    HIDDEN = "hidden"
    SCORE = "score"
    TESTS = "tests"
    FULL = "full"


class Runtime(StrEnum):
    RUNC = "runc"
    RUNSC = "runsc"


def _size(value: Any) -> int:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return parse_size(value)
        except OverflowError:  # a size of 400 digits overflows a float
            raise ValueError(f"{value!r} is too large a size") from None
    # Not `{value!r}`: an alias bomb's list would take hours to print; the caller adds the value.
    raise ValueError("not a size (examples: 512m, 1g)")


Size = Annotated[int, BeforeValidator(_size)]


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


class AssignmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = Field(min_length=1, max_length=512, pattern=r"^[^\s]+$")
    timeout: float = Field(SandboxLimits.timeout_s, gt=0, le=3600)
    limits: Limits = Limits()
    network: bool = False
    runtime: Annotated[Runtime, BeforeValidator(_one_value)] = Runtime.RUNC
    run_as_root: bool = False
    visibility: Annotated[VisibilityLevel, BeforeValidator(_one_value)] = VisibilityLevel.FULL

    def sandbox_spec(self, *, pull_missing: bool = True) -> SandboxSpec:
        return SandboxSpec(
            image=self.image,
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
        )


@dataclass(frozen=True)
class ConfigProblem:
    where: str  # "line 3, column 5" or ""
    field: str  # dotted path, "" for the whole file
    message: str

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.field) if p]
        return f"{' '.join(parts)}: {self.message}" if parts else self.message


class ConfigError(Exception):
    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(f"{file}: " + "; ".join(str(p) for p in problems) if problems else file)


def load_config(text: str | bytes, *, file: str = ".github/pushgrade.yml") -> AssignmentConfig:
    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(file, [ConfigProblem("", "", "the file is larger than 256 KiB")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(
                file, [ConfigProblem("", "", f"not UTF-8 text (byte {err.start})")]
            ) from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(file, [ConfigProblem("", "", "the file is larger than 256 KiB")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(file, [ConfigProblem(where, "", f"not valid YAML: {problem}")]) from None
    except RecursionError:
        raise ConfigError(file, [ConfigProblem("", "", "nested too deeply")]) from None
    except (ValueError, OverflowError) as err:  # a scalar PyYAML cannot build: 2001-02-30, 10**5000
        raise ConfigError(file, [ConfigProblem("", "", f"a value cannot be read: {err}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(file, [ConfigProblem("", "", "expected a mapping of settings")])
    try:
        return AssignmentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(file, _problems(err, node, AssignmentConfig)) from None


def _problems(err: ValidationError, node: yaml.Node | None, model: type[BaseModel]) -> list:
    problems = []
    for issue in err.errors():
        loc = [str(part) for part in issue["loc"]]
        where = _where(node, loc)
        if issue["type"] == "extra_forbidden":
            message = f"unknown setting {loc[-1]!r}" + _did_you_mean(loc, model)
        elif issue["type"] == "missing":
            message = "this setting is required"
        else:
            message = issue["msg"].removeprefix("Value error, ")
            if "input" in issue and not isinstance(issue["input"], dict | list):
                message += f" (got {issue['input']!r})"
        problems.append(ConfigProblem(where, ".".join(loc), message))
    return problems


def _did_you_mean(loc: list[str], model: type[BaseModel]) -> str:
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _where(node: yaml.Node | None, loc: list[str]) -> str:
    """Line and column of the YAML node at `loc` (or of its nearest parent that exists)."""
    found = node
    for part in loc:
        if isinstance(found, yaml.MappingNode):
            match = next(
                # The last of duplicate keys is the one PyYAML keeps.
                ((k, v) for k, v in reversed(found.value) if getattr(k, "value", None) == part),
                None,
            )
            if match is None:
                break
            # An unknown key is best pointed at by the key itself.
            found = match[0] if part == loc[-1] else match[1]
        elif (
            isinstance(found, yaml.SequenceNode) and part.isdigit() and int(part) < len(found.value)
        ):
            found = found.value[int(part)]
        else:
            break
    if found is None:
        return ""
    return f"line {found.start_mark.line + 1}, column {found.start_mark.column + 1}"
