"""The operator's policy at work: whether a job's account is served, the login a tenant pulls an
image with, and the images a tenant's grader build may start from.

Every org (or user) the App is installed on is a tenant. The policy (`ghapp.core.tenants`) says
which are served and what each may use; this module reads the few facts it needs for that from the
database (which installation came first, for the single-teacher default) and secrets from files,
environment variables and credential helpers, at the moment a pull needs them (never logged).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from ghapp.core.image_rule import (
    DockerfileRefused,
    canonical,
    dockerfile_images,
    judge_image,
    onbuild_images,
)
from ghapp.core.tenants import RegistryLogin, Tenancy, TenantRules, single_teacher
from ghapp.store import deliveries
from runner.registry import (
    Credentials,
    PullAuth,
    credentials_for,
    docker_config_path,
    from_helper,
)

log = logging.getLogger(__name__)

FIRST_TTL_S = 60.0  # how long the first installation's account is remembered before a new look


class Tenants:
    """The policy, and what it takes to apply it."""

    def __init__(self, sessions, tenancy: Tenancy | None = None) -> None:
        self.sessions = sessions
        self.tenancy = tenancy or single_teacher()
        self._first: tuple[float, str | None] = (float("-inf"), None)
        self._refused: set[str] = set()  # accounts already logged as not served

    async def serves(self, account: str, installation_id: int | None = None) -> bool:
        """Whether pushes of `account` are graded. The first refusal of each account is logged
        once, for the operator."""
        served, first = self.tenancy.serves(account), None
        if served is None:
            first = await self.first_account()
            served = first is None or first.lower() == account.lower()
        if not served and account.lower() not in self._refused:
            self._refused.add(account.lower())
            why = (
                f"not a tenant in {self.tenancy.source}"
                if self.tenancy.source
                else "the deployment serves only "
                + (
                    ", ".join(sorted(self.tenancy.accounts))
                    if self.tenancy.accounts
                    else f"{first} (the first installation)"
                )
                + " (PUSHGRADE_POLICY_FILE or PUSHGRADE_ACCOUNTS to serve more)"
            )
            log.warning(
                "account %s (installation %s) is not served: %s; its pushes are not graded",
                account,
                installation_id,
                why,
            )
        return served

    async def first_account(self) -> str | None:
        """The single-teacher default's tenant: the account of the installation made first (or,
        when none was recorded, of the first push ever received)."""
        at, found = self._first
        if found is not None and time.monotonic() - at < FIRST_TTL_S:
            return found
        found = await deliveries.first_account(self.sessions)
        self._first = (time.monotonic(), found)
        return found

    def rules(self, account: str) -> TenantRules:
        return self.tenancy.rules_for(account)

    # -- logins --------------------------------------------------------------------------------

    async def pull_auth(self, rules: TenantRules, reference: str) -> PullAuth | None:
        """Who pulls `reference` for this tenant, with which login. None in the single-teacher
        default: the worker's DOCKER_CONFIG, as `docker pull` would."""
        if rules.docker_config_everywhere:
            return None
        image = canonical(reference)
        login = rules.login_for(image)
        credentials = await asyncio.to_thread(_credentials, login, image.host) if login else None
        return PullAuth(rules.account.lower(), credentials)

    # -- builds --------------------------------------------------------------------------------

    def build_bases(self, rules: TenantRules, dockerfile: str, *, owner: str) -> list[str]:
        """The images a grader's Dockerfile starts from, each one this tenant may use; raises
        `DockerfileRefused` naming the first that it may not."""
        return _allowed(dockerfile_images(dockerfile), rules, owner, "FROM")

    def onbuild_sources(self, rules: TenantRules, triggers: list[str], *, owner: str) -> list[str]:
        """The images a base image's ONBUILD triggers take, each one this tenant may use."""
        return _allowed(onbuild_images(triggers), rules, owner, "ONBUILD in a base image: from")


def _allowed(images: list[str], rules: TenantRules, owner: str, what: str) -> list[str]:
    for image in images:
        verdict = judge_image(image, rules.prefixes, who=owner)
        if not verdict.allowed:
            raise DockerfileRefused(f"{what} {image}: {verdict.reason}")
    return images


def _credentials(login: RegistryLogin, host: str) -> Credentials | None:
    """The secret behind a login entry, read now (a rotated file applies at the next pull)."""
    match login.kind:
        case "docker_config":
            return credentials_for(host, docker_config_path())
        case "credential_helper":
            assert login.credential_helper is not None
            return from_helper(login.credential_helper, host)
        case "password":
            assert login.username is not None
            if login.password_file is not None:
                try:
                    secret = Path(login.password_file).read_text().strip()
                except OSError as err:
                    log.warning(
                        "cannot read the password file of the %s login: %s",
                        login.registry,
                        err.strerror,
                    )
                    return None
            else:
                secret = os.environ.get(login.password_env or "", "")
                if not secret:
                    log.warning("%s is not set: pulling from %s anonymously",
                                login.password_env, login.registry)  # fmt: skip
                    return None
            return Credentials(login.username, secret)
    return None
