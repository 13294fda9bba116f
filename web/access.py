"""Who may see an org's pages: its teachers, asked of GitHub as the App and cached briefly.

A teacher of an org is an owner of it (membership role `admin`), or a member of a team that the
org file's `teachers:` names; of a user account, that user. Everyone else is refused, a teacher
of another org included. Answers, yes or no, are trusted for `ttl_s`; a GitHub that does not
answer is an error the page reports, never a yes.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ghapp.core.config import ConfigError
from ghapp.github import GitHubApp
from ghapp.store.reads import Account
from ghapp.work.config_reader import ConfigReader

log = logging.getLogger(__name__)

ROLE_TTL_S = 60.0
GITHUB_TIMEOUT_S = 10.0


class GitHubUnavailable(Exception):
    """GitHub did not say, in time, whether someone teaches an org."""


def may_teach(*, login: str, account: Account, org_role: str | None, in_team: bool) -> bool:
    """The rule, without I/O: a user account's user (logins are unique across users and orgs),
    an org's owners and the members of the teams its file names."""
    if login.lower() == account.login.lower():
        return True
    if account.kind == "User":
        return False
    return org_role == "admin" or in_team


class Teachers:
    def __init__(
        self,
        github: GitHubApp,
        configs: ConfigReader | None = None,
        *,
        ttl_s: float = ROLE_TTL_S,
        timeout_s: float = GITHUB_TIMEOUT_S,
    ) -> None:
        self.github = github
        self.configs = configs or ConfigReader()
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._answers: dict[tuple[int, str, str], tuple[float, bool]] = {}
        self.asked = 0  # how many answers came from GitHub rather than the cache

    async def teaches(self, login: str, account: Account) -> bool:
        key = (account.installation_id, account.login.lower(), login.lower())
        cached = self._answers.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            answer = await asyncio.wait_for(self._ask(login, account), self.timeout_s)
        except TimeoutError:
            raise GitHubUnavailable(
                f"GitHub did not answer within {self.timeout_s:.0f} s"
            ) from None
        except Exception as err:
            log.warning("role of %s in %s unknown: %s", login, account.login, type(err).__name__)
            raise GitHubUnavailable(f"GitHub did not answer ({type(err).__name__})") from None
        self.asked += 1
        self._answers[key] = (time.monotonic() + self.ttl_s, answer)
        if len(self._answers) > 10_000:  # drop what has expired; the rest stays
            now = time.monotonic()
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        return answer

    async def _ask(self, login: str, account: Account) -> bool:
        if account.kind == "User" or login.lower() == account.login.lower():
            return may_teach(login=login, account=account, org_role=None, in_team=False)
        gh = self.github.installation(account.installation_id)
        role = await gh.org_role(account.login, login)
        in_team = False
        if role == "member":  # not a member of the org: in none of its teams either
            for team in await self._teams(gh, account.login):
                if await gh.team_member(account.login, team, login):
                    in_team = True
                    break
        return may_teach(login=login, account=account, org_role=role, in_team=in_team)

    async def _teams(self, gh, org: str) -> tuple[str, ...]:
        try:
            config = await self.configs.org_file(gh, org)
        except ConfigError as err:
            # The owners still get in, and see the error on the org's page.
            log.warning("%s: the org file is invalid, so it names no teachers: %s", org, err)
            return ()
        return (config.teachers or ()) if config is not None else ()
