"""Signing in with GitHub through the simulator's OAuth pages, and everything that must not sign
anyone in: a wrong state, a code used twice, another browser's callback, forged cookies."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import func, select

from ghapp.store.models import WebSession
from pushgrade.demo import simulator_settings
from pushgrade.serve import running
from tests.web.dash import ORG, SESSION_SECRET, STUDENT, TEACHER, Client, seed
from web.sessions import SESSION_TTL_S, Cookies

SESSION = "pushgrade_session"


@pytest.fixture
async def client(sim, web):
    await seed(web, sim)
    browser = Client(web.url, sim)
    yield browser
    await browser.close()


async def sessions_stored(web) -> int:
    async with web.sessions() as session:
        return await session.scalar(select(func.count()).select_from(WebSession))


async def test_a_signed_out_browser_signs_in_and_lands_where_it_was_going(client, web):
    welcome = await client.get("/")
    assert welcome.status == 200 and 'href="/login"' in await welcome.text()
    page = await client.get(f"/orgs/{ORG}/queue")
    target = urlsplit(page.headers["Location"])
    assert page.status == 303 and target.path == "/login"
    assert parse_qs(target.query) == {"next": ["/orgs/cs101/queue"]}
    location, query = await client.start_login("/orgs/cs101/queue")
    assert location.startswith(f"{client.sim.url}/login/oauth/authorize?")
    assert query["client_id"] == client.sim.oauth.client_id
    assert query["redirect_uri"] == f"{web.url}/login/callback"
    assert len(query["state"]) >= 32
    landed = await client.get((await client.authorize(location, TEACHER))[len(web.url) :])
    assert landed.status == 303 and landed.headers["Location"] == "/orgs/cs101/queue"
    home = await client.get("/")
    assert f'href="/orgs/{ORG}"' in await home.text()
    assert "cs202" not in await home.text()  # a teacher of cs101 only


async def test_the_session_cookie_is_signed_http_only_lax_and_carries_no_token(client, web, sim):
    landed = await client.sign_in(TEACHER)
    cookie = landed.cookies[SESSION]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # pushgrade is on http://127.0.0.1 here
    header = jwt.get_unverified_header(cookie.value)
    claims = jwt.decode(cookie.value, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert set(claims) == {"sid", "aud", "iat", "exp"} and claims["exp"] - claims["iat"] == 8 * 3600
    [user_token] = sim.oauth.tokens
    assert user_token not in cookie.value
    for path in ("/", f"/orgs/{ORG}", f"/orgs/{ORG}/assignments/hw1"):
        assert user_token not in await (await client.get(path)).text()
    async with web.sessions() as session:
        row = (await session.execute(select(WebSession))).scalar_one()
    assert row.login == TEACHER and user_token not in row.token  # kept, encrypted
    assert Cookies(SESSION_SECRET, secure=False).unseal(row.token) == user_token
    assert row.id != claims["sid"]  # the row is found by a hash of the cookie's id


async def test_over_https_the_cookies_are_secure_and_host_only(sim, tmp_path):
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'tls.sqlite3'}")
    settings = dataclasses.replace(settings, workers=0, public_url="https://grades.example.edu")
    async with running(settings) as started:
        browser = Client(started.url, sim)
        try:
            answer = await browser.get("/login")
        finally:
            await browser.close()
    set_cookie = answer.headers["Set-Cookie"]
    assert set_cookie.startswith("__Host-pushgrade_login=")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    redirect = urlsplit(answer.headers["Location"])
    assert "redirect_uri=https%3A%2F%2Fgrades.example.edu%2Flogin%2Fcallback" in redirect.query


async def test_a_wrong_state_signs_nobody_in(client, web):
    location, query = await client.start_login()
    callback = await client.authorize(location, TEACHER)
    forged = callback.replace(query["state"], "x" * len(query["state"]))
    answer = await client.get(forged[len(web.url) :])
    assert answer.status == 400 and "does not belong to this browser" in await answer.text()
    assert SESSION not in answer.cookies and await sessions_stored(web) == 0


async def test_a_callback_in_another_browser_signs_nobody_in(client, web, sim):
    location, _ = await client.start_login()
    callback = await client.authorize(location, TEACHER)
    stranger = Client(web.url, sim)  # no login cookie: the state was never bound to it
    try:
        answer = await stranger.get(callback[len(web.url) :])
    finally:
        await stranger.close()
    assert answer.status == 400 and "not started in this browser" in await answer.text()
    assert await sessions_stored(web) == 0


async def test_a_replayed_code_signs_nobody_in(client, web):
    location, _ = await client.start_login()
    callback = await client.authorize(location, TEACHER)
    login_cookie = client.cookie("pushgrade_login")
    assert (await client.get(callback[len(web.url) :])).status == 303
    assert client.cookie("pushgrade_login") in (None, "")  # used up
    # The same callback again, even with the browser's login cookie put back: GitHub refuses
    # the code a second time, and no second session starts.
    client.set_cookie("pushgrade_login", login_cookie)
    replay = await client.get(callback[len(web.url) :])
    assert replay.status == 400 and "bad_verification_code" in await replay.text()
    assert await sessions_stored(web) == 1


async def test_a_denied_authorization_signs_nobody_in(client, web):
    location, _ = await client.start_login()
    answer = await client.http.get(f"{location}&deny=1", allow_redirects=False)
    callback = answer.headers["Location"]
    assert "error=access_denied" in callback
    refused = await client.get(callback[len(web.url) :])
    assert refused.status == 400 and "access_denied" in await refused.text()
    assert await sessions_stored(web) == 0


async def test_after_sign_in_next_never_leaves_the_site(client):
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        location, _ = await client.start_login(elsewhere.replace("/", "%2F"))
        landed = await client.get((await client.authorize(location, TEACHER))[len(client.base) :])
        assert landed.headers["Location"] == "/"


def forged_cookies(valid: str) -> dict[str, str]:
    claims = jwt.decode(valid, options={"verify_signature": False})
    codec = Cookies(SESSION_SECRET, secure=False)
    key = codec._cookie_key  # the real signing key: only the algorithm or the claims are off
    head, payload, signature = valid.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    now = int(time.time())
    other_payload = jwt.encode(claims | {"sid": "y" * 43}, key, "HS256").split(".")[1]
    return {
        "signature tampered": f"{head}.{payload}.{flipped}",
        "another key": jwt.encode(claims, "another key, long enough for HS256 ......", "HS256"),
        "no algorithm": jwt.encode(claims, None, algorithm="none"),
        "another algorithm": jwt.encode(claims, key, algorithm="HS512"),
        "claims changed": f"{head}.{other_payload}.{signature}",
        "expired": jwt.encode(
            claims | {"iat": now - SESSION_TTL_S - 60, "exp": now - 60}, key, algorithm="HS256"
        ),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key, "HS256"),
        "a login cookie": codec.sign_login(type("A", (), {"state": claims["sid"], "next": "/"})),
        "garbage": "not-a-jwt",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512, forged
async def test_tampered_forged_and_expired_cookies_are_signed_out(client, web):
    await client.sign_in(TEACHER)
    valid = client.cookie(SESSION)
    assert (await client.get(f"/orgs/{ORG}")).status == 200
    for what, value in forged_cookies(valid).items():
        client.set_cookie(SESSION, value)
        answer = await client.get(f"/orgs/{ORG}")
        assert answer.status == 303, what
        assert answer.headers["Location"].startswith("/login"), what
        assert "hw1" not in await answer.text(), what


async def test_signing_out_needs_the_form_token_and_ends_the_session_for_good(client, web):
    await client.sign_in(STUDENT)
    valid = client.cookie(SESSION)
    refused = await client.post("/logout", {"csrf": "not-the-token"})
    assert refused.status == 403 and await sessions_stored(web) == 1
    signed_out = await client.post("/logout", {"csrf": await client.csrf()})
    assert signed_out.status == 303 and await sessions_stored(web) == 0
    client.set_cookie(SESSION, valid)  # the old cookie, kept by someone
    assert (await client.get(f"/orgs/{ORG}")).status == 303


async def test_a_wrong_client_secret_signs_nobody_in(sim, tmp_path):
    settings = simulator_settings(sim, f"sqlite+aiosqlite:///{tmp_path / 'bad.sqlite3'}")
    settings = dataclasses.replace(settings, workers=0, oauth_client_secret="not-the-secret")
    async with running(settings) as started:
        browser = Client(started.url, sim)
        try:
            answer = await browser.sign_in(TEACHER)
        finally:
            await browser.close()
        assert answer.status == 400
        text = await answer.text()
    assert "incorrect_client_credentials" in text and "not-the-secret" not in text


async def test_signing_in_again_ends_the_earlier_session(client, web):
    await client.sign_in(STUDENT)
    await client.sign_in(TEACHER)
    assert await sessions_stored(web) == 1
    assert (await client.get(f"/orgs/{ORG}")).status == 200
