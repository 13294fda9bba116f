"""The operator's policy: which accounts this deployment serves, which images and registry logins
each may use, and the sandbox's ceilings. One YAML file (`PUSHGRADE_POLICY_FILE`), validated at
start with every error located; without one, the single-teacher default.

Only the operator writes this file: no tenant (org) and no student can change what it says. A
config file asks for limits; the ceilings here bound what it may ask for (above one is an
`action_required` naming the field and the ceiling, never silently clamped). Pure: parsing,
validation and lookups; reading secrets and talking to registries is `ghapp.work.tenancy`'s.
Longer than most modules (~450 lines): the schema, its loader and the checks of a config
against it are one contract with the operator, read in one place.

```yaml
defaults:                       # every tenant, unless its own entry says otherwise
  images: [docker.io/library/]  # registry/namespace prefixes every tenant may run
  ceilings: {memory: 2g, cpus: 2, pids: 1024, timeout: 600, output: 16m, network: false,
             running: 4, build_timeout: 900, build_memory: 4g, build_network: true}
tenants:                        # the accounts served (orgs or users), by login
  uni-a-cs101:
    images: [registry.example/uni-a/]
    ceilings: {memory: 4g}
  uni-b-prog1: {}
registries:                     # logins, each tied to the tenants and namespaces it serves
  - registry: registry.example
    namespaces: [uni-a/]
    tenants: [uni-a-cs101]
    username: pushgrade
    password_file: /run/secrets/registry-uni-a
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ghapp.core.config import AssignmentConfig, Size
from ghapp.core.image_rule import ANY, Canonical, canonical_prefix, judge_image, under
from ghapp.core.located_yaml import (
    ConfigError,
    ConfigProblem,
    locate,
    located_problems,
    parse_yaml,
)
from runner.spec import MiB, format_size

GiB = 1024 * MiB
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


def is_login(value: object) -> bool:
    """Whether `value` is spelled as a GitHub account's login (an org's or a user's)."""
    return isinstance(value, str) and _LOGIN.match(value) is not None


_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$")


class PolicyError(ConfigError):
    """The operator's policy file is invalid; the message locates every problem."""


def _prefixes(value: Any) -> Any:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("expected a list of prefixes (registry.example/course/)")
    return tuple(canonical_prefix(item) if isinstance(item, str) else item for item in items)


Prefixes = Annotated[tuple[str, ...], BeforeValidator(_prefixes)]


def _logins(value: Any) -> Any:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("expected account logins (orgs or users), one or a list")
    for item in items:
        if not is_login(item):
            raise ValueError(f"{item!r} is not a GitHub account login")
    return tuple(items)


Logins = Annotated[tuple[str, ...], BeforeValidator(_logins)]


class Ceilings(BaseModel):
    """The most a config may ask for, and what bounds a grader build."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory: Size = 2 * GiB
    cpus: float = Field(2.0, gt=0, le=1024)
    pids: int = Field(1024, ge=16, le=4_194_304)
    timeout: float = Field(600.0, gt=0, le=86_400)
    output: Size = 16 * MiB  # the run stops past this much output
    network: bool = False  # whether a config may turn the network on
    running: int | None = Field(4, ge=1, le=10_000)  # grading jobs at once; null: no cap
    build_timeout: float = Field(900.0, gt=0, le=86_400)
    build_memory: Size = 4 * GiB
    build_network: bool = True  # RUN steps of a grader build reach the network

    def over(self, patch: Mapping[str, Any]) -> Ceilings:
        return Ceilings.model_validate({**self.model_dump(), **patch})


class CeilingsPatch(Ceilings):
    """A tenant's own ceilings: only the ones it sets replace the defaults."""

    def set_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class TenantEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    images: Prefixes = ()
    ceilings: CeilingsPatch = CeilingsPatch()


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    images: Prefixes = ()
    ceilings: Ceilings = Ceilings()


class RegistryLogin(BaseModel):
    """A registry login, or anonymous pulls, tied to tenants and the namespaces it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry: str
    namespaces: tuple[str, ...] = ()  # under the registry; empty: all of it
    tenants: Logins
    username: str | None = Field(None, min_length=1, max_length=256)
    password_file: str | None = Field(None, min_length=1, max_length=4096)
    password_env: str | None = None
    credential_helper: str | None = None  # docker-credential-NAME on the workers' PATH
    docker_config: bool = False  # the workers' own DOCKER_CONFIG login for this registry

    @field_validator("registry", mode="before")
    @classmethod
    def _registry(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("expected a registry host (registry.example, ghcr.io, host:5000)")
        host = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
            host = "docker.io"
        if not _HOST.match(host) or "/" in host:
            raise ValueError(f"{value!r} is not a registry host (registry.example, host:5000)")
        return host

    @field_validator("namespaces", mode="before")
    @classmethod
    def _namespaces(cls, value: Any) -> Any:
        items = [value] if isinstance(value, str) else (value or [])
        if not isinstance(items, list | tuple):
            raise ValueError("expected a list of namespaces (course/)")
        for item in items:
            if not isinstance(item, str) or not item.strip("/") or "@" in item or ":" in item:
                raise ValueError(f"{item!r} is not a namespace of the registry (course/)")
        return tuple(items)

    @field_validator("password_env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not _ENV.match(value)):
            raise ValueError("expected the name of an environment variable")
        return value

    @field_validator("credential_helper", mode="before")
    @classmethod
    def _helper(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not _HELPER.match(value)):
            raise ValueError("expected a credential helper's name (pass, ecr-login)")
        return value

    def prefixes(self) -> tuple[str, ...]:
        """The canonical prefixes this entry covers."""
        if not self.namespaces:
            return (canonical_prefix(f"{self.registry}/"),)
        return tuple(
            canonical_prefix(f"{self.registry}/{ns.strip('/')}/") for ns in self.namespaces
        )

    @property
    def kind(self) -> str:
        if self.docker_config:
            return "docker_config"
        if self.credential_helper:
            return "credential_helper"
        if self.username:
            return "password"
        return "anonymous"


class OperatorPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: Defaults = Defaults()
    tenants: dict[str, TenantEntry] = Field(min_length=1)
    registries: tuple[RegistryLogin, ...] = ()

    @field_validator("tenants", mode="before")
    @classmethod
    def _tenants(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ValueError("list the accounts served, by login, each with its settings ({})")
        seen: set[str] = set()
        for login in value:
            if not is_login(login):
                raise ValueError(f"{login!r} is not a GitHub account login")
            if login.lower() in seen:  # logins are case-insensitive: which entry would hold?
                raise ValueError(f"{login!r} is listed twice (logins ignore case)")
            seen.add(login.lower())
        return {login: ({} if entry is None else entry) for login, entry in value.items()}


@dataclass(frozen=True)
class TenantRules:
    """What one served account may use."""

    account: str
    prefixes: tuple[str, ...]  # canonical image prefixes it may run
    ceilings: Ceilings
    logins: tuple[RegistryLogin, ...] = ()
    # The single-teacher default: every registry's login from the workers' DOCKER_CONFIG.
    docker_config_everywhere: bool = False

    def login_for(self, image: Canonical) -> RegistryLogin | None:
        """The login to pull `image` with: the entry tied to this tenant whose namespace covers
        it most closely; None: anonymous (or the DOCKER_CONFIG default)."""
        best: tuple[int, RegistryLogin] | None = None
        for login in self.logins:
            for prefix in login.prefixes():
                if under(image.name, prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), login)
        return best[1] if best else None


@dataclass(frozen=True)
class Tenancy:
    """Who is served and with what. `accounts` None: the single-teacher default, where the one
    account served is the installation that came first (see `ghapp.work.tenancy`)."""

    accounts: frozenset[str] | None
    default: TenantRules
    rules: Mapping[str, TenantRules] = field(default_factory=dict)
    source: str = ""  # the policy file, or "" for the default

    def serves(self, account: str) -> bool | None:
        """True or False; None when it depends on which installation came first."""
        if self.accounts is None:
            return None
        return account.lower() in self.accounts

    def rules_for(self, account: str) -> TenantRules:
        found = self.rules.get(account.lower())
        if found is not None:
            return found
        return TenantRules(
            account,
            self.default.prefixes,
            self.default.ceilings,
            self.default.logins,
            self.default.docker_config_everywhere,
        )

    def running_caps(self) -> tuple[int | None, dict[str, int | None]]:
        """Grading jobs one account may hold at once: the default, and each account's own."""
        return self.default.ceilings.running, {
            login: rules.ceilings.running for login, rules in self.rules.items()
        }


def single_teacher(
    accounts: tuple[str, ...] = (),
    *,
    running: int | None = None,
    ceilings: Ceilings | None = None,
) -> Tenancy:
    """No policy file: one teacher's deployment. The accounts listed (PUSHGRADE_ACCOUNTS), or
    else the first installation's, are served; any image; registry logins from the workers'
    DOCKER_CONFIG; the default ceilings, with `running` as the cap on each account's running
    jobs (None: none)."""
    ceilings = (ceilings or Ceilings()).over({"running": running})
    default = TenantRules("", (ANY,), ceilings, (), docker_config_everywhere=True)
    served = frozenset(a.lower() for a in accounts) if accounts else None
    return Tenancy(served, default)


def load_policy(text: str | bytes, *, file: str) -> Tenancy:
    """The operator's policy file, or `PolicyError` naming each problem's line and field."""
    try:
        node, data = parse_yaml(text, file)
    except ConfigError as err:
        raise PolicyError(err.file, err.problems) from None
    try:
        policy = OperatorPolicy.model_validate(data)
    except ValidationError as err:
        raise PolicyError(file, located_problems(err, node, OperatorPolicy)) from None
    problems = []
    served = {login.lower() for login in policy.tenants}
    for index, login in enumerate(policy.registries):
        where = ["registries", str(index)]

        def problem(loc: list[str], message: str) -> ConfigProblem:
            return ConfigProblem(locate(node, loc), ".".join(loc), message)

        for account in login.tenants:
            if account.lower() not in served:
                problems.append(
                    problem(
                        [*where, "tenants"],
                        f"{account!r} is not one of the tenants: list it under tenants: first",
                    )
                )
        kinds = [
            k
            for k, on in (
                ("username", login.username is not None),
                ("credential_helper", login.credential_helper is not None),
                ("docker_config", login.docker_config),
            )
            if on
        ]
        if len(kinds) > 1:
            problems.append(problem(where, f"one login per entry: {' or '.join(kinds)}, not both"))
        secrets = [s for s in (login.password_file, login.password_env) if s is not None]
        if login.username is not None and len(secrets) != 1:
            problems.append(
                problem(
                    where, "a username needs its password from password_file or password_env (one)"
                )
            )
        if login.username is None and secrets:
            problems.append(problem(where, "a password needs its username"))
        if login.password_file is not None and not Path(login.password_file).is_file():
            problems.append(
                problem([*where, "password_file"], f"no readable file at {login.password_file}")
            )
        try:
            login.prefixes()
        except ValueError as err:
            problems.append(problem([*where, "namespaces"], str(err)))
    if problems:
        raise PolicyError(file, problems)
    default_ceilings = policy.defaults.ceilings
    rules: dict[str, TenantRules] = {}
    for login, entry in policy.tenants.items():
        mine = tuple(r for r in policy.registries if login.lower() in _lower(r.tenants))
        prefixes = policy.defaults.images + entry.images
        prefixes += tuple(p for r in mine for p in r.prefixes())
        ceilings = default_ceilings.over(entry.ceilings.set_values())
        rules[login.lower()] = TenantRules(login, _unique(prefixes), ceilings, mine)
    default = TenantRules("", policy.defaults.images, default_ceilings)
    return Tenancy(frozenset(served), default, rules, source=file)


def read_policy(path: Path) -> Tenancy:
    try:
        text = path.read_bytes()
    except OSError as err:
        problem = ConfigProblem("", "", f"cannot read it ({err.strerror})")
        raise PolicyError(str(path), [problem]) from None
    return load_policy(text, file=str(path))


def _lower(items: tuple[str, ...]) -> set[str]:
    return {item.lower() for item in items}


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# -- what a config may ask for ---------------------------------------------------------------


def tenant_problems(
    config: AssignmentConfig, rules: TenantRules, *, owner: str
) -> list[tuple[str, str]]:
    """(field, message) for each thing `config` asks that this tenant may not have: an image
    the operator did not tie to it, a grader repository of another account, a setting above a
    ceiling. Empty: it may be graded as it says."""
    problems: list[tuple[str, str]] = []
    if config.image is not None:
        verdict = judge_image(config.image, rules.prefixes, who=owner)
        if not verdict.allowed:
            problems.append(("image", verdict.reason))
    if config.grader is not None:
        grader_owner, name = config.grader.full_name(owner)
        if grader_owner.lower() != owner.lower():
            problems.append(
                (
                    "grader",
                    f"{grader_owner}/{name} belongs to another account: a grader is built only "
                    f"from a repository of {owner}",
                )
            )
    ceilings = rules.ceilings
    asked = (
        ("timeout", config.timeout, ceilings.timeout, _seconds),
        ("limits.memory", config.limits.memory, ceilings.memory, format_size),
        ("limits.cpus", config.limits.cpus, ceilings.cpus, _number),
        ("limits.pids", config.limits.pids, ceilings.pids, _number),
    )
    for name, value, ceiling, show in asked:
        if value > ceiling:
            problems.append(
                (
                    name,
                    f"{show(value)} is above this deployment's ceiling of {show(ceiling)}: "
                    "lower it, or ask the operator to raise the ceiling",
                )
            )
    if config.network and not ceilings.network:
        problems.append(
            (
                "network",
                "this deployment does not let graders reach the network (its ceiling is "
                "network: false): set network: false, or ask the operator",
            )
        )
    return problems


def in_one_line(problems: list[tuple[str, str]]) -> str:
    """`tenant_problems` as one line: each field and what is wrong with it."""
    return "; ".join(f"{field}: {message}" for field, message in problems)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _number(value: float) -> str:
    return f"{value:g}"
