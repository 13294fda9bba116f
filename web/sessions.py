"""Dashboard sign-ins: signed cookies, the server-side session rows, CSRF tokens.

The browser holds two kinds of cookie, each a JWT signed with a key derived from
PUSHGRADE_SESSION_SECRET (HS256 only, with an expiry and an audience of its own, so one kind is
never taken for the other): a short-lived one binding an OAuth `state` to the browser that
started the sign-in, and the session cookie, which names a session row by a random id. The row
holds who signed in, their GitHub user token (encrypted with another derived key: it never
leaves the server) and the CSRF token of their forms. Signing out deletes the row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import jwt
from cryptography.fernet import Fernet, InvalidToken

from ghapp.store import web_sessions
from ghapp.store.models import WebSession, utcnow

SESSION_TTL_S = 8 * 3600  # a GitHub App's user token lives eight hours too
LOGIN_TTL_S = 600  # GitHub's codes live ten minutes: a sign-in takes no longer
ALGORITHM = "HS256"  # pinned: a token naming any other algorithm is refused
_SESSION_AUDIENCE = "pushgrade:session"
_LOGIN_AUDIENCE = "pushgrade:login"


@dataclass(frozen=True)
class SignedIn:
    """The person behind a valid session cookie."""

    session_id: str  # the row's id (a hash of what the cookie carries)
    login: str
    user_id: int
    csrf: str


@dataclass(frozen=True)
class LoginAttempt:
    state: str
    next: str


class Cookies:
    """Signs and reads the dashboard's cookies; knows their names and attributes."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._cookie_key = _derive(secret, "cookie-signing")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, "user-token")))
        self.secure = secure
        # `__Host-`: the browser takes it only over https, for this host and path / alone.
        prefix = "__Host-" if secure else ""
        self.session_name = f"{prefix}pushgrade_session"
        self.login_name = f"{prefix}pushgrade_login"

    def attributes(self, max_age: int) -> dict:
        return {
            "max_age": max_age,
            "path": "/",
            "httponly": True,
            "samesite": "Lax",
            "secure": self.secure,
        }

    def clear(self, response, name: str) -> None:
        """Tell the browser to forget a cookie (with the attributes it was set with)."""
        attributes = self.attributes(0)
        del attributes["max_age"]
        response.del_cookie(name, **attributes)

    def sign_session(self, raw_id: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {"sid": raw_id, "aud": _SESSION_AUDIENCE, "iat": int(now)}
        claims["exp"] = int(now) + SESSION_TTL_S
        return jwt.encode(claims, self._cookie_key, algorithm=ALGORITHM)

    def read_session(self, value: str | None) -> str | None:
        """The raw session id a valid cookie carries, or None (tampered, expired, other kind)."""
        claims = self._decode(value, _SESSION_AUDIENCE, ("sid",))
        sid = claims.get("sid") if claims else None
        return sid if isinstance(sid, str) and 20 <= len(sid) <= 100 else None

    def sign_login(self, attempt: LoginAttempt) -> str:
        now = int(time.time())
        claims = {"state": attempt.state, "next": attempt.next, "aud": _LOGIN_AUDIENCE}
        claims |= {"iat": now, "exp": now + LOGIN_TTL_S}
        return jwt.encode(claims, self._cookie_key, algorithm=ALGORITHM)

    def read_login(self, value: str | None) -> LoginAttempt | None:
        claims = self._decode(value, _LOGIN_AUDIENCE, ("state", "next"))
        if (
            not claims
            or not isinstance(claims["state"], str)
            or not isinstance(claims["next"], str)
        ):
            return None
        return LoginAttempt(state=claims["state"], next=safe_next(claims["next"]))

    def _decode(self, value: str | None, audience: str, required: tuple[str, ...]) -> dict | None:
        if not value or len(value) > 4096:
            return None
        try:
            return jwt.decode(
                value,
                self._cookie_key,
                algorithms=[ALGORITHM],
                audience=audience,
                options={"require": ["exp", "iat", "aud", *required]},
            )
        except jwt.PyJWTError:
            return None

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def unseal(self, sealed: str) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"pushgrade:{purpose}".encode(), hashlib.sha256).digest()


def _row_id(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


def safe_next(path: str | None) -> str:
    """A place on this site to go after signing in: a local path, never another site."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in path)
        or len(path) > 500
    ):
        return "/"
    return path


class SessionStore:
    """Session rows in the database, shared by every web process."""

    def __init__(self, sessions, cookies: Cookies) -> None:
        self.sessions = sessions
        self.cookies = cookies

    async def create(self, *, login: str, user_id: int, token: str) -> str:
        """A new session; returns the raw id for the cookie. Expired rows are cleared here."""
        raw_id = secrets.token_urlsafe(32)
        now = utcnow()
        await web_sessions.add(
            self.sessions,
            WebSession(
                id=_row_id(raw_id),
                login=login,
                user_id=user_id,
                token=self.cookies.seal(token),
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_TTL_S),
            ),
        )
        return raw_id

    async def load(self, raw_id: str) -> SignedIn | None:
        row = await web_sessions.get(self.sessions, _row_id(raw_id))
        if row is None or row.expires_at <= utcnow():
            return None
        return SignedIn(session_id=row.id, login=row.login, user_id=row.user_id, csrf=row.csrf)

    async def user_token(self, signed_in: SignedIn) -> str | None:
        """The person's GitHub user token, for calls made on their behalf."""
        row = await web_sessions.get(self.sessions, signed_in.session_id)
        return None if row is None else self.cookies.unseal(row.token)

    async def end(self, signed_in: SignedIn) -> None:
        await web_sessions.remove(self.sessions, signed_in.session_id)


def csrf_matches(signed_in: SignedIn, offered: object) -> bool:
    return isinstance(offered, str) and hmac.compare_digest(
        offered.encode(), signed_in.csrf.encode()
    )
