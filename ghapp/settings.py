"""Settings, read once from the environment. Secrets come from the environment or files only and
are never part of a repr, a log line or an error message."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ghapp.core.tenants import PolicyError, Tenancy, is_login, read_policy, single_teacher
from ghapp.store.db import DEFAULT_URL, async_url


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line an operator can act on."""


@dataclass(frozen=True)
class Settings:
    app_id: int
    private_key: bytes = field(repr=False)
    webhook_secret: str = field(repr=False)
    github_api_url: str = "https://api.github.com"
    database_url: str = DEFAULT_URL
    host: str = "127.0.0.1"
    port: int = 8080
    # Where `pushgrade worker` alone answers /healthz and /metrics (0: any free port). A web
    # process and a worker on one machine then do not collide; `serve` answers on `port`.
    worker_port: int = 8081
    workers: int = os.cpu_count() or 1
    public_url: str = ""
    # How long a worker holds a job without renewing: a dead worker's job waits this long.
    lease_s: int = 60
    # GitHub's secondary limits on content-generating requests, per installation (None: none,
    # as on a GitHub Enterprise Server without them).
    writes_per_minute: int | None = 80
    writes_per_hour: int | None = 500
    # How often missed webhook deliveries are looked for (0: never).
    reconcile_s: int = 300
    # On SIGTERM, how long running jobs may go on before they are handed back.
    grace_s: int = 30
    # At start, how long to wait for an unreachable database before giving up (exit 2).
    database_wait_s: int = 60
    # Who is served, what each may use, the ceilings: the operator's policy file, or the
    # single-teacher default (which also caps each installation's running jobs).
    tenancy: Tenancy = field(default_factory=single_teacher)
    # The teacher dashboard: on when an OAuth client is configured (GitHub login).
    oauth_client_id: str = ""
    oauth_client_secret: str = field(default="", repr=False)
    session_secret: str = field(default="", repr=False)
    github_url: str = "https://github.com"  # GitHub's web pages (/login/oauth/…), not its API

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def dashboard(self) -> bool:
        return bool(self.oauth_client_id)


def from_env(
    env: dict[str, str] | None = None, *, web: bool = True, worker: bool = True
) -> Settings:
    """Settings for a process that serves webhooks (`web`), grades (`worker`), or both. From
    the process's environment (not `env`), a settings file fills in what the environment
    leaves out: PUSHGRADE_ENV_FILE, or `pushgrade.env` in the working folder when there is
    one (`pushgrade setup` writes it)."""
    if env is None:
        env = {**read_env_file(os.environ.get("PUSHGRADE_ENV_FILE", "").strip()), **os.environ}
    env = dict(env)
    missing = []

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name, "").strip()
        return value or default

    app_id = get("PUSHGRADE_APP_ID")
    secret = get("PUSHGRADE_WEBHOOK_SECRET")
    key = _private_key(get("PUSHGRADE_PRIVATE_KEY"), get("PUSHGRADE_PRIVATE_KEY_FILE"))
    if (web or worker) and app_id is None:
        missing.append("PUSHGRADE_APP_ID (the GitHub App's ID)")
    if worker and key is None:
        missing.append("PUSHGRADE_PRIVATE_KEY_FILE (or PUSHGRADE_PRIVATE_KEY)")
    if web and secret is None:
        missing.append("PUSHGRADE_WEBHOOK_SECRET")
    oauth = {name: get(name) for name in _DASHBOARD}
    if web and any(oauth.values()):
        missing += [f"{name} (the dashboard needs it)" for name, v in oauth.items() if v is None]
        if key is None:
            missing.append("PUSHGRADE_PRIVATE_KEY_FILE (the dashboard reads org roles as the App)")
    if missing:
        hint = ""
        if app_id is None:  # no App yet, most likely: say how to get one
            hint = (
                "; `pushgrade setup --public-url URL` registers the GitHub App and writes them "
                "to pushgrade.env"
            )
        raise SettingsError("missing settings: " + ", ".join(missing) + hint)
    session_secret = oauth["PUSHGRADE_SESSION_SECRET"] or ""
    if web and session_secret and len(session_secret) < 32:
        raise SettingsError(
            "PUSHGRADE_SESSION_SECRET must be at least 32 characters; make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    github_url = _url("PUSHGRADE_GITHUB_URL", get("PUSHGRADE_GITHUB_URL", "https://github.com"))
    public_url = (get("PUSHGRADE_PUBLIC_URL", "") or "").rstrip("/")
    if public_url and web and any(oauth.values()):
        _url("PUSHGRADE_PUBLIC_URL", public_url)
    return Settings(
        app_id=_int("PUSHGRADE_APP_ID", app_id) if app_id else 0,
        private_key=key or b"",
        webhook_secret=secret or "",
        github_api_url=get("PUSHGRADE_GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        database_url=database_url(get("PUSHGRADE_DATABASE_URL")),
        host=get("PUSHGRADE_HOST", "127.0.0.1"),
        port=_int("PUSHGRADE_PORT", get("PUSHGRADE_PORT", "8080"), low=0, high=65535),
        worker_port=_int(
            "PUSHGRADE_WORKER_PORT", get("PUSHGRADE_WORKER_PORT", "8081"), low=0, high=65535
        ),
        workers=_workers(get("PUSHGRADE_WORKERS"), worker=worker),
        public_url=public_url,
        lease_s=_int(
            "PUSHGRADE_LEASE_SECONDS", get("PUSHGRADE_LEASE_SECONDS", "60"), low=3, high=3600
        ),
        writes_per_minute=_limit(
            "PUSHGRADE_WRITES_PER_MINUTE", get("PUSHGRADE_WRITES_PER_MINUTE"), 80
        ),
        writes_per_hour=_limit("PUSHGRADE_WRITES_PER_HOUR", get("PUSHGRADE_WRITES_PER_HOUR"), 500),
        reconcile_s=_int(
            "PUSHGRADE_RECONCILE_SECONDS",
            get("PUSHGRADE_RECONCILE_SECONDS", "300"),
            low=0,
            high=86400,
        ),
        grace_s=_int(
            "PUSHGRADE_GRACE_SECONDS", get("PUSHGRADE_GRACE_SECONDS", "30"), low=0, high=86400
        ),
        database_wait_s=_int(
            "PUSHGRADE_DATABASE_WAIT_SECONDS",
            get("PUSHGRADE_DATABASE_WAIT_SECONDS", "60"),
            low=0,
            high=86400,
        ),
        tenancy=_tenancy(
            get("PUSHGRADE_POLICY_FILE"),
            get("PUSHGRADE_ACCOUNTS"),
            get("PUSHGRADE_MAX_RUNNING_PER_INSTALLATION"),
        ),
        oauth_client_id=(oauth["PUSHGRADE_OAUTH_CLIENT_ID"] or "") if web else "",
        oauth_client_secret=(oauth["PUSHGRADE_OAUTH_CLIENT_SECRET"] or "") if web else "",
        session_secret=session_secret if web else "",
        github_url=github_url,
    )


_DASHBOARD = (
    "PUSHGRADE_OAUTH_CLIENT_ID",
    "PUSHGRADE_OAUTH_CLIENT_SECRET",
    "PUSHGRADE_SESSION_SECRET",
)


def _tenancy(policy_file: str | None, accounts: str | None, running: str | None) -> Tenancy:
    """The operator's policy file (PUSHGRADE_POLICY_FILE), or the single-teacher default: the
    accounts PUSHGRADE_ACCOUNTS lists (else the first installation's), each with at most
    PUSHGRADE_MAX_RUNNING_PER_INSTALLATION grading jobs at once (default: 4 when several
    accounts are served, no cap for one)."""
    if policy_file is not None:
        for name, value in (
            ("PUSHGRADE_ACCOUNTS", accounts),
            ("PUSHGRADE_MAX_RUNNING_PER_INSTALLATION", running),
        ):
            if value is not None:
                raise SettingsError(
                    f"{name} and PUSHGRADE_POLICY_FILE are both set: with a policy file, its "
                    "tenants: and ceilings: say it"
                )
        try:
            return read_policy(Path(policy_file))
        except PolicyError as err:
            raise SettingsError(f"PUSHGRADE_POLICY_FILE: {err}") from None
    logins = tuple(a for a in re.split(r"[,\s]+", accounts or "") if a)
    for login in logins:
        if not is_login(login):
            raise SettingsError(f"PUSHGRADE_ACCOUNTS: {login!r} is not a GitHub account login")
    # One account served has no other to starve: its jobs may take every slot.
    cap = (
        _limit("PUSHGRADE_MAX_RUNNING_PER_INSTALLATION", running, 4)
        if running is not None
        else (4 if len(logins) > 1 else None)
    )
    return single_teacher(logins, running=cap)


ENV_FILE = "pushgrade.env"


def read_env_file(named: str) -> dict[str, str]:
    """The PUSHGRADE_ settings of a file of NAME=VALUE lines (blank lines and # comments
    allowed): `named`, or `pushgrade.env` in the working folder if it exists."""
    path = Path(named or ENV_FILE)
    if not named and not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"PUSHGRADE_ENV_FILE: cannot read {path} ({err})") from None
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not equals or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise SettingsError(f"{path}, line {number}: not NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name.startswith("PUSHGRADE_"):
            found[name] = value
    return found


def database_url(value: str | None) -> str:
    """PUSHGRADE_DATABASE_URL as the async URL pushgrade connects with (see `db.async_url`)."""
    try:
        return async_url(value)
    except ValueError as err:
        raise SettingsError(f"PUSHGRADE_DATABASE_URL{err}") from None


def _workers(value: str | None, *, worker: bool) -> int:
    """Grading slots in a process that grades: at least one (a process that only serves
    webhooks is `pushgrade web`, whatever this says)."""
    if value is None:
        return os.cpu_count() or 1
    if worker and value.strip() == "0":
        raise SettingsError(
            "PUSHGRADE_WORKERS must be at least 1 in a process that grades; to serve webhooks "
            "without grading, run `pushgrade web`"
        )
    return _int("PUSHGRADE_WORKERS", value, low=0 if not worker else 1, high=256)


def _url(name: str, value: str) -> str:
    """An http(s) base URL without a trailing slash, or SettingsError."""
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
        raise SettingsError(f"{name} must be an http:// or https:// URL (got {value!r})")
    return value.rstrip("/")


def _limit(name: str, value: str | None, default: int) -> int | None:
    """A write limit: a whole number, or "none" (also 0) for no limit."""
    if value is None:
        return default
    if value.lower() in ("none", "0"):
        return None
    return _int(name, value, low=1, high=1_000_000)


def _int(name: str, value: str, *, low: int = 1, high: int = 2**63) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (got {value!r})") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low} and {high} (got {number})")
    return number


def _private_key(inline: str | None, path: str | None) -> bytes | None:
    if inline:
        key = inline.replace("\\n", "\n").encode()
    elif path:
        try:
            key = Path(path).read_bytes()
        except OSError as err:
            raise SettingsError(
                f"PUSHGRADE_PRIVATE_KEY_FILE: cannot read {path} ({err.strerror})"
            ) from None
    else:
        return None
    if b"PRIVATE KEY-----" not in key:
        raise SettingsError("the App's private key is not a PEM private key")
    return key
