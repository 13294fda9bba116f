"""The simulator's OAuth web flow and team memberships, in GitHub's shapes: a code works once and
for ten minutes, errors come as 200 with `error`, JSON only when asked for."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from gidgethub import BadRequest

from .conftest import ORG

CALLBACK = "http://127.0.0.1:1/login/callback"


async def code_for(sim, session, login: str = "prof", state: str = "s1") -> str:
    answer = await session.get(
        f"{sim.url}/login/oauth/authorize",
        params={
            "client_id": sim.oauth.client_id,
            "redirect_uri": CALLBACK,
            "state": state,
            "login": login,
        },
        allow_redirects=False,
    )
    assert answer.status == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    query = parse_qs(target.query)
    assert query["state"] == [state]
    return query["code"][0]


async def trade(sim, session, code: str, *, secret: str | None = None, json: bool = True):
    answer = await session.post(
        f"{sim.url}/login/oauth/access_token",
        data={
            "client_id": sim.oauth.client_id,
            "client_secret": sim.oauth.client_secret if secret is None else secret,
            "code": code,
        },
        headers={"Accept": "application/json"} if json else {},
    )
    assert answer.status == 200  # GitHub answers 200, errors included
    return await answer.json() if json else parse_qs(await answer.text())


async def test_the_authorize_page_is_a_form_that_keeps_the_request(sim, session):
    answer = await session.get(
        f"{sim.url}/login/oauth/authorize",
        params={
            "client_id": sim.oauth.client_id,
            "redirect_uri": CALLBACK,
            "state": '"><script>x</script>',
        },
    )
    page = await answer.text()
    assert answer.status == 200 and 'id="login_field"' in page and "Authorize" in page
    assert "<script>x" not in page and "&quot;&gt;&lt;script&gt;" in page
    unknown = await session.get(
        f"{sim.url}/login/oauth/authorize", params={"client_id": "nope", "redirect_uri": CALLBACK}
    )
    assert unknown.status == 404


async def test_a_code_becomes_a_user_token_once(sim, session, gh):
    code = await code_for(sim, session)
    answer = await trade(sim, session, code)
    assert answer["token_type"] == "bearer" and answer["access_token"].startswith("ghu_")
    assert answer["expires_in"] == 8 * 3600 and "refresh_token" in answer
    me = await gh.getitem("/user", oauth_token=answer["access_token"])
    assert (me["login"], me["type"]) == ("prof", "User") and isinstance(me["id"], int)
    again = await trade(sim, session, code)
    assert again["error"] == "bad_verification_code" and "access_token" not in again


async def test_an_expired_code_and_a_wrong_secret_are_refused_as_github_does(sim, session):
    code = await code_for(sim, session)
    wrong = await trade(sim, session, code, secret="not-it")
    assert wrong["error"] == "incorrect_client_credentials"
    assert wrong["error_description"] == "The client_id and/or client_secret passed are incorrect."
    sim.oauth.codes[code].expires_at = time.time() - 1
    expired = await trade(sim, session, code)
    assert expired["error"] == "bad_verification_code"


async def test_without_accept_json_the_answer_is_form_encoded(sim, session):
    answer = await trade(sim, session, await code_for(sim, session), json=False)
    assert answer["token_type"] == ["bearer"] and answer["access_token"][0].startswith("ghu_")


async def test_a_denial_goes_back_with_an_error(sim, session):
    answer = await session.post(
        f"{sim.url}/login/oauth/authorize",
        data={
            "client_id": sim.oauth.client_id,
            "redirect_uri": CALLBACK,
            "state": "s",
            "deny": "1",
        },
        allow_redirects=False,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s"]


async def test_user_needs_a_user_token(sim, gh, token):
    for credential, status in ((None, 401), ("ghu_made_up", 401), (token, 403)):
        with pytest.raises(BadRequest) as caught:
            await gh.getitem("/user", oauth_token=credential)
        assert caught.value.status_code == status


async def test_team_membership_answers_for_members_only(sim, gh, token):
    sim.add_member(ORG, "ta")
    sim.add_team_member(ORG, "cs101-staff", "ta", role="maintainer")
    found = await gh.getitem(f"/orgs/{ORG}/teams/cs101-staff/memberships/TA", oauth_token=token)
    assert (found["role"], found["state"]) == ("maintainer", "active")
    for url in (
        f"/orgs/{ORG}/teams/cs101-staff/memberships/stranger",
        f"/orgs/{ORG}/teams/no-such-team/memberships/ta",
        "/orgs/other-org/teams/cs101-staff/memberships/ta",
    ):
        with pytest.raises(BadRequest) as caught:
            await gh.getitem(url, oauth_token=token)
        assert caught.value.status_code == 404
    with pytest.raises(ValueError, match="member or maintainer"):
        sim.add_team_member(ORG, "cs101-staff", "x", role="owner")
