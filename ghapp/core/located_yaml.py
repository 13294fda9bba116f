"""YAML files read as untrusted input: parsed with a size cap, each problem located by line and
column, and pydantic's errors said in words a teacher or operator acts on. Used for the config
files (`ghapp.core.config`) and the operator's policy (`ghapp.core.tenants`)."""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True)
class ConfigProblem:
    where: str  # "line 3, column 5" or ""
    field: str  # dotted path, "" for the whole file
    message: str

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.field) if p]
        return f"{' '.join(parts)}: {self.message}" if parts else self.message


class ConfigError(Exception):
    """A file's problems, in the order of its lines (the whole file's first): as a teacher
    reads and fixes it, whatever order the checks found them in."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = sorted(problems, key=_line_order)
        super().__init__(f"{file}: " + "; ".join(str(p) for p in problems) if problems else file)


_WHERE = re.compile(r"line (\d+), column (\d+)")


def _line_order(problem: ConfigProblem) -> tuple[int, int]:
    found = _WHERE.match(problem.where)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def parse_yaml(text: str | bytes, file: str) -> tuple[yaml.Node | None, dict]:
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
    return node, data


def located_problems(
    err: ValidationError,
    node: yaml.Node | None,
    model: type[BaseModel],
    also: tuple[str, ...] = (),
) -> list:
    problems = []
    for issue in err.errors():
        loc = [str(part) for part in issue["loc"]]
        if issue["type"] == "no_image":  # raised after `grader`, about the pair: shown at image
            loc[-1] = "image"
        where = locate(node, loc)
        if issue["type"] == "no_image":
            message = "this setting is required (or grader:, a repository to build the grader from)"
        elif issue["type"] == "extra_forbidden":
            message = f"unknown setting {loc[-1]!r}" + _did_you_mean(loc, model, also)
        elif issue["type"] == "missing":
            message = "this setting is required"
        elif issue["type"] in ("model_type", "dict_type"):
            message = "expected a mapping of settings"
        else:
            message = issue["msg"].removeprefix("Value error, ")
            if "input" in issue and not isinstance(issue["input"], dict | list | date):
                message += f" (got {issue['input']!r})"
        problems.append(ConfigProblem(where, ".".join(loc), message))
    return problems


def _did_you_mean(loc: list[str], model: type[BaseModel], also: tuple[str, ...] = ()) -> str:
    kind: Any = model
    parts = iter(loc[:-1])
    for part in parts:
        kind = _model_in(kind.model_fields[part].annotation) if part in kind.model_fields else None
        if isinstance(kind, tuple):  # a dict of models: the next part is a key
            next(parts, None)
            kind = kind[0]
        if kind is None:
            return ""
    known = [*kind.model_fields, *(also if len(loc) == 1 else ())]
    close = difflib.get_close_matches(loc[-1], known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_in(annotation: Any) -> Any:
    """The model a field holds: itself, in an Optional, or (as a 1-tuple) as a dict's values or
    a list's items."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        inner = _model_in(args[1])
        return (inner,) if inner is not None and not isinstance(inner, tuple) else None
    if origin in (tuple, list) and args:  # a list of models: the next part is an index
        inner = _model_in(args[0])
        return (inner,) if inner is not None and not isinstance(inner, tuple) else None
    if origin in (typing.Union, types.UnionType):
        models = [m for m in map(_model_in, args) if m is not None]
        return models[0] if len(models) == 1 else None
    return None


def locate(node: yaml.Node | None, loc: list[str]) -> str:
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
