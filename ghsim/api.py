"""The REST API's plumbing: GitHub-shaped errors, credentials, recording, faults, pagination."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from ghsim.auth import AuthError, looks_like_jwt, verify_app_jwt
from ghsim.limits import Admission, Refusal, content_generating
from ghsim.state import IssuedToken, RecordedRequest, Repo

if TYPE_CHECKING:
    from ghsim.server import GitHubSimulator

SIM: web.AppKey[GitHubSimulator] = web.AppKey("sim")
INSTALLATION_ID = web.RequestKey("installation_id", int)
APP_AUTH = web.RequestKey("app_auth", bool)
RECORDED = web.RequestKey("recorded", RecordedRequest)
DOCS = "https://docs.github.com/rest"
SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
RATE_LIMIT = 5000
# The REST API versions GitHub answers (`X-GitHub-Api-Version`); a request naming none gets the
# oldest, as on GitHub, and one naming another is refused with a 400.
API_VERSIONS = ("2022-11-28", "2026-03-10")
VERSIONS_DOCS = "https://docs.github.com/rest/about-the-rest-api/api-versions"
_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


class ApiError(Exception):
    """An answer GitHub gives as `{"message", "documentation_url"[, "errors"]}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        docs: str = DOCS,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
        self.headers, self.docs = headers or {}, docs

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.docs}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return web.json_response(body, status=self.status, headers=self.headers)


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(errors: list[dict[str, Any]], docs: str = DOCS) -> ApiError:
    return ApiError(422, "Validation Failed", errors=errors, docs=docs)


@dataclass
class Fault:
    """Injected trouble: a share of matching requests fail with `status`, all are delayed."""

    fail_ratio: float = 0.0
    status: int = 502
    delay: float = 0.0
    path_prefix: str | None = None
    methods: frozenset[str] | None = None
    times: int | None = None  # how many failures to inject at most (None: unlimited)
    retry_after: int = 60

    def matches(self, request: web.Request) -> bool:
        if self.path_prefix and not request.path.startswith(self.path_prefix):
            return False
        return self.methods is None or request.method in self.methods

    def failure(self) -> web.Response:
        if self.status in (403, 429):
            return ApiError(
                self.status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again.",
                headers={"retry-after": str(self.retry_after), "x-ratelimit-remaining": "0"},
            ).response()
        return web.json_response(
            {"message": "Server Error"} if self.status != 502 else {"message": "Bad Gateway"},
            status=self.status,
        )


async def _body_for_record(request: web.Request) -> Any:
    # read() gives the body again once the handler has read it (aiohttp keeps it), and b""
    # when there is none.
    raw = await request.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


@web.middleware
async def github_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Secondary rate limits (when set) first, then faults, then the handler; errors become
    GitHub's JSON; every request is recorded, refused ones too."""
    sim = request.app[SIM]
    limits = sim.secondary_limits
    installation_id = _token_installation(request) if limits is not None else None
    if limits is None or installation_id is None:
        return await _answer(request, handler)
    verdict = limits.admit(installation_id, write=content_generating(request.method, request.path))
    if isinstance(verdict, Refusal):
        request[INSTALLATION_ID] = installation_id
        response = _secondary_limit_refusal(verdict, limits.status)
        _rate_headers(request, response)
        record = await _record(request, response)
        sim.limit_refusals.setdefault(installation_id, []).append(replace(verdict, request=record))
        return response
    admission: Admission = verdict
    try:
        return await _answer(request, handler)
    finally:
        limits.release(admission, request.get(RECORDED))


def _token_installation(request: web.Request) -> int | None:
    """The installation whose valid token the request carries (never raises: the handler
    answers bad credentials itself)."""
    sim = request.app[SIM]
    token = credential(request)
    issued = sim.world.tokens.get(token) if token is not None else None
    if issued is None or not issued.valid(time.time()):
        return None
    return issued.installation_id if issued.installation_id in sim.world.installations else None


def _secondary_limit_refusal(refusal: Refusal, status: int) -> web.Response:
    request_id = uuid.uuid4().hex[:20].upper()
    if refusal.limit == "concurrent":
        reason = "Please wait a few minutes before you try again."
    else:
        reason = (
            "You have been temporarily blocked from content creation. Please retry your "
            "request again later."
        )
    return ApiError(
        status,
        f"You have exceeded a secondary rate limit. {reason} If you reach out to GitHub "
        f"Support for help, please include the request ID {request_id}.",
        headers={"retry-after": str(refusal.retry_after), "X-GitHub-Request-Id": request_id},
        docs=SECONDARY_DOCS,
    ).response()


async def _answer(request: web.Request, handler: Any) -> web.StreamResponse:
    sim = request.app[SIM]
    fault = sim.fault
    response: web.StreamResponse
    version = request.headers.get("X-GitHub-Api-Version")
    if version is not None and version not in API_VERSIONS:
        response = ApiError(
            400, f"API version {version} is not supported.", docs=VERSIONS_DOCS
        ).response()
        await _record(request, response)
        return response
    if fault is not None and fault.matches(request):
        if fault.delay:
            await asyncio.sleep(fault.delay)
        budget_left = fault.times is None or fault.times > 0
        if fault.fail_ratio and budget_left and sim.rng.random() < fault.fail_ratio:
            if fault.times is not None:
                fault.times -= 1
            response = fault.failure()
            await _record(request, response)
            return response
    try:
        response = await handler(request)
    except ApiError as err:
        response = err.response()
    except web.HTTPNotFound:
        response = not_found().response()
    except web.HTTPMethodNotAllowed:
        response = ApiError(404, "Not Found").response()
    _rate_headers(request, response)
    await _record(request, response)
    return response


def _rate_headers(request: web.Request, response: web.StreamResponse) -> None:
    """GitHub's usual headers, with the primary rate limit of the installation's token."""
    sim = request.app[SIM]
    response.headers.setdefault("X-GitHub-Request-Id", uuid.uuid4().hex[:20].upper())
    response.headers.setdefault(
        "X-GitHub-Api-Version-Selected",
        request.headers.get("X-GitHub-Api-Version") or API_VERSIONS[0],
    )
    installation_id = request.get(INSTALLATION_ID)
    if installation_id is not None:
        used = sim.rate_used[installation_id] = sim.rate_used.get(installation_id, 0) + 1
        response.headers.update(
            {
                "x-ratelimit-limit": str(RATE_LIMIT),
                "x-ratelimit-remaining": str(max(RATE_LIMIT - used, 0)),
                "x-ratelimit-reset": str(int(time.time()) + 3600),
                "x-ratelimit-used": str(used),
                "x-ratelimit-resource": "core",
            }
        )


async def _record(request: web.Request, response: web.StreamResponse) -> RecordedRequest:
    sim = request.app[SIM]
    record = RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        status=response.status,
        installation_id=request.get(INSTALLATION_ID),
        app_auth=bool(request.get(APP_AUTH)),
        body=await _body_for_record(request),
        at=time.time(),
        api_version=request.headers.get("X-GitHub-Api-Version"),
    )
    sim.requests.append(record)
    request[RECORDED] = record
    return record


def credential(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


def require_app(request: web.Request) -> None:
    """Authenticate as the App itself (a JWT), or answer 401 as GitHub does."""
    sim = request.app[SIM]
    token = credential(request)
    if token is None:
        raise ApiError(401, "Requires authentication")
    if not looks_like_jwt(token):
        raise ApiError(401, "A JSON web token could not be decoded")
    try:
        verify_app_jwt(
            token,
            public_key=sim.public_key,
            app_id=sim.app_id,
            client_id=sim.client_id,
            now=time.time(),
        )
    except AuthError as err:
        raise ApiError(401, str(err)) from err
    request[APP_AUTH] = True


def installation_token(request: web.Request) -> IssuedToken | None:
    """The installation token presented, None when there is none; 401 when it is bad."""
    sim = request.app[SIM]
    token = credential(request)
    if token is None:
        return None
    issued = sim.world.tokens.get(token)
    if issued is not None:
        if not issued.valid(time.time()) or issued.installation_id not in sim.world.installations:
            raise ApiError(401, "Bad credentials")
        request[INSTALLATION_ID] = issued.installation_id
        return issued
    if looks_like_jwt(token):
        require_app(request)
        raise ApiError(403, "Resource not accessible by integration")
    raise ApiError(401, "Bad credentials")


def repo_for(request: web.Request, permission: str, level: str = "read") -> Repo:
    """The repository in the path, visible to the caller, with the permission required.

    GitHub hides repositories a token cannot see: 404, never 403."""
    sim = request.app[SIM]
    issued = installation_token(request)
    repo = sim.world.repo(request.match_info["owner"], request.match_info["repo"])
    if issued is None:
        if repo is None or repo.private:
            raise not_found()
        if request.method in _WRITE_METHODS:
            raise ApiError(401, "Requires authentication")
        return repo
    installation = sim.world.installations[issued.installation_id]
    if repo is None or not installation.covers(repo):
        raise not_found()
    if issued.repository_ids is not None and repo.id not in issued.repository_ids:
        raise not_found()
    granted = issued.permissions.get(permission)
    if granted is None or (level == "write" and granted != "write"):
        raise ApiError(403, "Resource not accessible by integration")
    return repo


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as err:
        raise ApiError(400, "Problems parsing JSON") from err


def page_params(request: web.Request) -> tuple[int, int]:
    try:
        per_page = max(1, min(int(request.query.get("per_page", 30)), 100))
        page = max(1, int(request.query.get("page", 1)))
    except ValueError as err:
        raise ApiError(400, "Invalid pagination parameters") from err
    return per_page, page


def link_header(request: web.Request, base_url: str, **params: Any) -> dict[str, str]:
    """`Link: <...>; rel="next"` pointing at the same path with new query parameters."""
    query = {**request.query, **{k: str(v) for k, v in params.items()}}
    return {"Link": f'<{base_url}{request.path}?{urlencode(query)}>; rel="next"'}
