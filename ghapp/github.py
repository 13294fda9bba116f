"""Talking to GitHub as the App: JWTs, installation tokens, and the few REST calls pushgrade makes.

Built on gidgethub's aiohttp adapter. Tokens are opaque strings, cached per installation until a
few minutes before they expire. Transient failures (5xx, resets, timeouts) are retried with
jittered backoff; rate limits (403/429 with `retry-after` or an exhausted `x-ratelimit-remaining`)
are waited out, never turned into lost work.
"""

from __future__ import annotations

import asyncio
import base64
import http
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import gidgethub
import gidgethub.aiohttp
import jwt

from ghapp.core.retry import REQUESTS

log = logging.getLogger(__name__)
T = TypeVar("T")

# The REST API version every request names: GitHub falls back to this one for requests that
# name none, but asks integrations to pin it so that a new default never changes an answer.
API_VERSION = "2022-11-28"
API_VERSION_HEADER = "X-GitHub-Api-Version"
TOKEN_MARGIN_S = 300  # renew an installation token this long before it expires
CHECK_RUNS_PAGE = 100
MAX_RATE_LIMIT_WAIT_S = 3600


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class DownloadTooLarge(Exception):
    pass


class GitHubRefused(Exception):
    """GitHub answered no (4xx): its status and message. `missing_permission` when the App's
    installation lacks a permission the call needs (GitHub's 403 "Resource not accessible by
    integration")."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub answered {status}: {message}")
        self.status = status
        self.message = message

    @property
    def missing_permission(self) -> bool:
        return self.status == 403 and "not accessible by integration" in self.message


def _refused(err: gidgethub.BadRequest) -> GitHubRefused:
    message = " ".join(str(a) for a in err.args if a) or err.status_code.phrase
    errors = getattr(err, "errors", None)
    if isinstance(errors, list):
        details = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
        if details:
            message = f"{message}: {'; '.join(details)}"
    return GitHubRefused(int(err.status_code), message)


class _API(gidgethub.aiohttp.GitHubAPI):
    """gidgethub's adapter, plus rate-limit answers turned into RateLimited with their wait."""

    async def _request(self, method, url, headers, body=b""):
        headers = {**headers, API_VERSION_HEADER.lower(): API_VERSION}
        status, response_headers, data = await super()._request(method, url, headers, body)
        if status in (403, 429):
            wait = _rate_limit_wait(response_headers)
            if wait is not None:
                raise RateLimited(wait)
        return status, response_headers, data


def _rate_limit_wait(headers) -> float | None:
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 1.0)
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(float(headers["x-ratelimit-reset"]) - time.time(), 1.0)
        except ValueError:
            return 60.0
    return None


async def with_retries(call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run `call`, retrying transient failures with jittered backoff and waiting out rate limits."""
    transient = 0
    while True:
        try:
            return await call()
        except RateLimited as err:
            wait = min(err.retry_after, MAX_RATE_LIMIT_WAIT_S)
            log.warning("%s: GitHub rate limit, waiting %.0f s", what, wait)
            await asyncio.sleep(wait)
        except (gidgethub.GitHubBroken, aiohttp.ClientError, TimeoutError) as err:
            transient += 1
            if REQUESTS.gives_up(transient):
                raise
            delay = REQUESTS.wait_s(transient)
            log.warning("%s failed (%s), retry %d in %.1f s", what, err, transient, delay)
            await asyncio.sleep(delay)


@dataclass
class _Token:
    value: str
    expires_at: float


class GitHubApp:
    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str | bytes,
        base_url: str,
        session: aiohttp.ClientSession,
        user_agent: str = "pushgrade",
    ) -> None:
        self.app_id = str(app_id)
        self._private_key = private_key
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.user_agent = user_agent
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}

    def jwt(self) -> str:
        now = int(time.time())
        # iat 60 s in the past allows for clock drift; exp well within GitHub's 10 minutes.
        payload = {"iat": now - 60, "exp": now + 540, "iss": self.app_id}
        return jwt.encode(payload, self._private_key, algorithm="RS256")

    def _api(self, token: str | None = None) -> _API:
        return _API(self.session, self.user_agent, oauth_token=token, base_url=self.base_url)

    async def installation_token(self, installation_id: int) -> str:
        token = self._tokens.get(installation_id)
        if token and token.expires_at - TOKEN_MARGIN_S > time.time():
            return token.value
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:  # one token request per installation, however many jobs ask at once
            token = self._tokens.get(installation_id)
            if token and token.expires_at - TOKEN_MARGIN_S > time.time():
                return token.value
            data = await with_retries(
                lambda: self._api().post(
                    f"/app/installations/{installation_id}/access_tokens", data={}, jwt=self.jwt()
                ),
                what=f"token for installation {installation_id}",
            )
            expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
            self._tokens[installation_id] = _Token(data["token"], expires.timestamp())
            return data["token"]

    async def deliveries(self, *, since: datetime) -> AsyncIterator[dict]:
        """The App's webhook deliveries, newest first, back to `since` (`GET
        /app/hook/deliveries`, with the App's JWT; every attempt, failed ones included)."""
        api = self._api()
        items = api.getiter("/app/hook/deliveries?per_page=100", jwt=self.jwt())
        async for item in items:
            delivered = parse_moment(item.get("delivered_at"))
            if delivered is not None and delivered < since:
                return
            yield item

    async def delivery(self, delivery_id: int) -> dict:
        """One delivery with its request payload (`GET /app/hook/deliveries/{id}`)."""
        return await with_retries(
            lambda: self._api().getitem(f"/app/hook/deliveries/{delivery_id}", jwt=self.jwt()),
            what=f"delivery {delivery_id}",
        )

    def installation(self, installation_id: int, *, patient: bool = True) -> InstallationClient:
        return InstallationClient(self, installation_id, patient=patient)


class InstallationClient:
    """The REST calls pushgrade makes on behalf of one installation."""

    def __init__(self, app: GitHubApp, installation_id: int, *, patient: bool = True) -> None:
        """`patient`: retry transient failures and wait out rate limits in place. The outbox
        is not patient: it hands `RateLimited` and failures back, to block the installation
        and to retry later, without holding anything while it waits."""
        self.app = app
        self.installation_id = installation_id
        self.patient = patient

    async def _call(self, method: str, url: str, *, data: Any = None, what: str) -> Any:
        async def once():
            api = self.app._api(await self.app.installation_token(self.installation_id))
            if method == "GET":
                return await api.getitem(url)
            return await getattr(api, method.lower())(url, data=data)

        return await with_retries(once, what=what) if self.patient else await once()

    async def commit_sha(self, owner: str, repo: str, ref: str | None) -> str | None:
        """The commit a branch, tag or sha names (None: the default branch's head), or None
        when there is no such ref or the installation cannot see the repository."""
        try:
            if ref is None:
                found = await self._call("GET", f"/repos/{owner}/{repo}", what="read a repo")
                ref = str(found.get("default_branch") or "")
            item = await self._call(
                "GET", f"/repos/{owner}/{repo}/commits/{quote(ref, safe='/')}", what="read a ref"
            )
        except gidgethub.BadRequest as err:
            if err.status_code in (404, 422):
                return None
            raise
        sha = item.get("sha") if isinstance(item, dict) else None
        return sha if isinstance(sha, str) and sha else None

    async def file(self, owner: str, repo: str, path: str, ref: str | None) -> bytes | None:
        """A file's bytes at `ref` (None: the default branch), or None when there is no such
        file or the installation cannot see the repository."""
        found = await self.blob(owner, repo, path, ref)
        return None if found is None else found[1]

    async def blob(
        self, owner: str, repo: str, path: str, ref: str | None
    ) -> tuple[str, bytes] | None:
        """A file's git blob sha and bytes at `ref` (None: the default branch), or None."""
        # A branch may be named "a&b#c": the ref is a query value, encoded whole.
        query = f"?ref={quote(ref, safe='')}" if ref else ""
        where = quote(path.strip("/"), safe="/")
        try:
            item = await self._call(
                "GET", f"/repos/{owner}/{repo}/contents/{where}{query}", what=f"read {path}"
            )
        except gidgethub.BadRequest as err:
            if err.status_code == 404:
                return None
            raise
        if not isinstance(item, dict) or item.get("type") != "file":
            return None
        return str(item.get("sha") or ""), base64.b64decode(item.get("content") or "")

    # -- handing out ---------------------------------------------------------------------------

    async def repo(self, owner: str, name: str) -> dict | None:
        """A repository the installation can see, or None."""
        try:
            found = await self._call(
                "GET", f"/repos/{quote(owner)}/{quote(name)}", what=f"read {owner}/{name}"
            )
        except gidgethub.BadRequest as err:
            if err.status_code == 404:
                return None
            raise _refused(err) from None
        return found if isinstance(found, dict) else None

    async def generate_repo(
        self, template_owner: str, template: str, *, owner: str, name: str, description: str
    ) -> dict:
        """A new private repository from `template`'s default branch (one commit, no history);
        GitHubRefused: 422 when the name exists or the repository is no template, 404 when the
        installation cannot see the template, 403 without `administration: write`."""
        try:
            return await self._call(
                "POST",
                f"/repos/{quote(template_owner)}/{quote(template)}/generate",
                data={"owner": owner, "name": name, "private": True, "description": description},
                what=f"create {owner}/{name}",
            )
        except gidgethub.BadRequest as err:
            raise _refused(err) from None

    async def add_collaborator(
        self, owner: str, name: str, login: str, *, permission: str
    ) -> dict | None:
        """Give `login` `permission` on the repository: the invitation GitHub made (someone
        outside the org must accept it), or None when access is immediate (an org member, or
        a collaborator already, whose permission is changed)."""
        try:
            answer = await self._call(
                "PUT",
                f"/repos/{quote(owner)}/{quote(name)}/collaborators/{quote(login)}",
                data={"permission": permission},
                what=f"share {owner}/{name}",
            )
        except gidgethub.BadRequest as err:
            raise _refused(err) from None
        return answer if isinstance(answer, dict) else None

    async def set_archived(self, owner: str, name: str, *, archived: bool) -> None:
        """Archive the repository (read-only for everyone) or unarchive it."""
        try:
            await self._call(
                "PATCH",
                f"/repos/{quote(owner)}/{quote(name)}",
                data={"archived": archived},
                what=f"archive {owner}/{name}",
            )
        except gidgethub.BadRequest as err:
            raise _refused(err) from None

    async def permission(self, owner: str, name: str, login: str) -> str:
        """`login`'s permission on the repository: admin, write, read or none."""
        try:
            answer = await self._call(
                "GET",
                f"/repos/{quote(owner)}/{quote(name)}/collaborators/{quote(login)}/permission",
                what=f"permission on {owner}/{name}",
            )
        except gidgethub.BadRequest as err:
            if err.status_code == 404:
                return "none"
            raise _refused(err) from None
        value = answer.get("permission") if isinstance(answer, dict) else None
        return value if isinstance(value, str) else "none"

    async def org_role(self, org: str, login: str) -> str | None:
        """`admin` for an owner of `org`, `member` for another active member, None for anyone
        else (or when `org` is a user account, which has no members)."""
        try:
            membership = await self._call(
                "GET", f"/orgs/{org}/memberships/{login}", what=f"membership of {login}"
            )
        except gidgethub.BadRequest as err:
            if err.status_code in (403, 404):
                return None
            raise
        if not isinstance(membership, dict) or membership.get("state") != "active":
            return None
        role = membership.get("role")
        return role if isinstance(role, str) else None

    async def team_member(self, org: str, team_slug: str, login: str) -> bool:
        """Whether `login` is an active member (or maintainer) of the org's team `team_slug`;
        False for anyone else, or when there is no such team."""
        try:
            membership = await self._call(
                "GET",
                f"/orgs/{org}/teams/{team_slug}/memberships/{login}",
                what=f"team membership of {login}",
            )
        except gidgethub.BadRequest as err:
            if err.status_code in (403, 404):
                return False
            raise
        return isinstance(membership, dict) and membership.get("state") == "active"

    async def create_check_run(self, owner: str, repo: str, body: dict) -> dict:
        return await self._call(
            "POST", f"/repos/{owner}/{repo}/check-runs", data=body, what="create check run"
        )

    async def update_check_run(self, owner: str, repo: str, check_run_id: int, body: dict) -> dict:
        return await self._call(
            "PATCH",
            f"/repos/{owner}/{repo}/check-runs/{check_run_id}",
            data=body,
            what=f"update check run {check_run_id}",
        )

    async def find_check_run(self, owner: str, repo: str, sha: str, external_id: str) -> int | None:
        """Our check run for this job on this commit, if one was made (after a crash, say).

        Every page is read: a commit may carry hundreds of check runs (other apps' CI, a
        teacher's many re-runs), newest first."""
        url = (
            f"/repos/{owner}/{repo}/commits/{sha}/check-runs?filter=all&per_page={CHECK_RUNS_PAGE}"
        )

        async def search() -> int | None:
            api = self.app._api(await self.app.installation_token(self.installation_id))
            async for run in api.getiter(url, iterable_key="check_runs"):
                if run.get("external_id") == external_id and str(
                    (run.get("app") or {}).get("id")
                ) == str(self.app.app_id):
                    return run["id"]
            return None

        return (
            await with_retries(search, what="list check runs") if self.patient else await search()
        )

    async def download_tarball(
        self, owner: str, repo: str, sha: str, dest: Path, *, cap: int
    ) -> int:
        """Stream the commit tarball to `dest` through GitHub's redirect, `cap` bytes at most."""

        async def once() -> int:
            token = await self.app.installation_token(self.installation_id)
            url = f"{self.app.base_url}/repos/{owner}/{repo}/tarball/{sha}"
            headers = {
                "Authorization": f"token {token}",
                "User-Agent": self.app.user_agent,
                API_VERSION_HEADER: API_VERSION,
            }
            timeout = aiohttp.ClientTimeout(total=300, sock_read=60)
            async with self.app.session.get(url, headers=headers, timeout=timeout) as response:
                if response.status in (403, 429):
                    wait = _rate_limit_wait(response.headers)
                    if wait is not None:
                        raise RateLimited(wait)
                # gidgethub's exceptions want an HTTPStatus (they read its phrase).
                if response.status >= 500:
                    raise gidgethub.GitHubBroken(http.HTTPStatus(response.status))
                if response.status != 200:
                    raise gidgethub.BadRequest(http.HTTPStatus(response.status))
                size = 0
                with dest.open("wb") as out:
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        if size > cap:
                            raise DownloadTooLarge(
                                f"the commit's archive is larger than {cap} bytes"
                            )
                        out.write(chunk)
                return size

        return await with_retries(once, what=f"download {owner}/{repo}@{sha[:7]}")


def parse_moment(value: object) -> datetime | None:
    """GitHub's ISO 8601 timestamp (\"2026-11-25T01:02:03Z\"), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
