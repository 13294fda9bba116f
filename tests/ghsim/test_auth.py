"""App JWTs and installation tokens are checked as GitHub checks them."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from gidgethub import BadRequest, apps
from gidgethub.aiohttp import GitHubAPI

from ghsim import GitHubSimulator
from ghsim.auth import generate_private_key

from .conftest import ORG, REPO, app_jwt


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(sim: GitHubSimulator, **claims: object) -> str:
    """An RS256 JWT built by hand: PyJWT refuses to encode a numeric `iss`, GitHub accepts it."""
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 540, "iss": sim.app_id, **claims}
    header = {"alg": "RS256", "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    key = serialization.load_pem_private_key(sim.private_key_pem, password=None)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


async def status_of(gh: GitHubAPI, url: str, **auth: str) -> int:
    try:
        await gh.getitem(url, **auth)
    except BadRequest as err:
        return err.status_code
    return 200


async def test_gidgethub_jwt_authenticates_as_the_app(sim, gh):
    answer = await gh.getitem("/app", jwt=app_jwt(sim))
    assert answer["id"] == sim.app_id
    assert answer["slug"] == "pushgrade"
    assert {"checks": "write", "contents": "read"}.items() <= answer["permissions"].items()


async def test_numeric_and_string_iss_are_both_accepted(sim, gh):
    assert await status_of(gh, "/app", jwt=signed(sim, iss=sim.app_id)) == 200
    assert await status_of(gh, "/app", jwt=signed(sim, iss=str(sim.app_id))) == 200


async def test_expired_jwt_is_refused(sim, gh):
    now = int(time.time())
    expired = signed(sim, iat=now - 700, exp=now - 100)
    assert await status_of(gh, "/app", jwt=expired) == 401


async def test_jwt_living_longer_than_ten_minutes_is_refused(sim, gh):
    now = int(time.time())
    assert await status_of(gh, "/app", jwt=signed(sim, iat=now, exp=now + 1200)) == 401


async def test_jwt_issued_in_the_future_is_refused(sim, gh):
    now = int(time.time())
    assert await status_of(gh, "/app", jwt=signed(sim, iat=now + 300, exp=now + 600)) == 401


async def test_jwt_signed_with_another_key_is_refused(sim, gh):
    forged = apps.get_jwt(app_id=str(sim.app_id), private_key=generate_private_key())
    with pytest.raises(BadRequest) as caught:
        await gh.getitem("/app", jwt=forged)
    assert caught.value.status_code == 401
    assert "could not be decoded" in str(caught.value)


async def test_jwt_for_another_app_id_is_refused(sim, gh):
    assert await status_of(gh, "/app", jwt=signed(sim, iss=sim.app_id + 1)) == 401


async def test_app_endpoints_need_a_jwt_not_an_installation_token(sim, gh, token):
    assert await status_of(gh, "/app", oauth_token=token) == 401
    assert await status_of(gh, "/app") == 401


async def test_installation_is_found_by_repository(sim, gh):
    answer = await gh.getitem(f"/repos/{ORG}/{REPO}/installation", jwt=app_jwt(sim))
    assert answer["account"]["login"] == ORG
    assert answer["id"] == sim.world.installation_for(ORG).id
    listed = await gh.getitem("/app/installations", jwt=app_jwt(sim))
    assert [i["id"] for i in listed] == [answer["id"]]


async def test_installation_token_has_github_shape_and_one_hour_life(sim, gh):
    installation = sim.world.installation_for(ORG)
    answer = await apps.get_installation_access_token(
        gh,
        installation_id=str(installation.id),
        app_id=str(sim.app_id),
        private_key=sim.private_key_pem,
    )
    assert answer["token"].startswith("ghs_")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer["expires_at"])
    expires = datetime.strptime(answer["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 3500 < expires.timestamp() - time.time() <= 3600
    assert answer["repository_selection"] == "selected"
    assert answer["permissions"]["checks"] == "write"
    assert sim.requests[-1].status == 201 and sim.requests[-1].app_auth


async def test_tokens_are_opaque_strings_of_varying_length(sim, gh):
    installation = sim.world.installation_for(ORG)
    url, bearer = f"/app/installations/{installation.id}/access_tokens", app_jwt(sim)
    tokens = [(await gh.post(url, data=b"", jwt=bearer))["token"] for _ in range(12)]
    assert len(set(tokens)) == 12
    assert len({len(t) for t in tokens}) > 3


async def test_installation_token_reads_its_repository(sim, gh, token):
    answer = await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert answer["full_name"] == f"{ORG}/{REPO}"
    assert answer["private"] is True
    assert sim.requests[-1].installation_id == sim.world.installation_for(ORG).id


async def test_bearer_scheme_works_for_installation_tokens(sim, session, token):
    async with session.get(
        f"{sim.url}/repos/{ORG}/{REPO}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200


async def test_expired_token_is_refused_with_401(sim, gh, token):
    sim.expire_tokens()
    with pytest.raises(BadRequest) as caught:
        await gh.getitem(f"/repos/{ORG}/{REPO}", oauth_token=token)
    assert caught.value.status_code == 401
    assert "Bad credentials" in str(caught.value)


async def test_short_token_ttl_expires_by_itself(app_key, session):
    async with GitHubSimulator(private_key_pem=app_key, token_ttl=0.2) as short:
        installation = short.install(ORG)
        short.create_repo(ORG, REPO)
        gh = GitHubAPI(session, "ghsim-tests", base_url=short.url)
        answer = await apps.get_installation_access_token(
            gh, installation_id=str(installation.id), app_id=str(short.app_id), private_key=app_key
        )
        assert await status_of(gh, f"/repos/{ORG}/{REPO}", oauth_token=answer["token"]) == 200
        time.sleep(0.3)
        assert await status_of(gh, f"/repos/{ORG}/{REPO}", oauth_token=answer["token"]) == 401


async def test_unknown_token_is_refused_with_401(sim, gh):
    assert await status_of(gh, f"/repos/{ORG}/{REPO}", oauth_token="ghs_nonsense") == 401


async def test_repository_outside_the_installation_is_hidden_with_404(sim, gh, token):
    sim.create_repo("other-org", "secret")
    sim.create_repo(ORG, "not-selected", join_installation=False)
    assert await status_of(gh, "/repos/other-org/secret", oauth_token=token) == 404
    assert await status_of(gh, f"/repos/{ORG}/not-selected", oauth_token=token) == 404
    assert await status_of(gh, f"/repos/{ORG}/no-such-repo", oauth_token=token) == 404


async def test_private_repository_is_hidden_without_credentials(sim, gh):
    assert await status_of(gh, f"/repos/{ORG}/{REPO}") == 404


async def test_token_limited_to_some_repositories_sees_only_those(sim, gh):
    sim.create_repo(ORG, "hw1-bob")
    installation = sim.world.installation_for(ORG)
    answer = await gh.post(
        f"/app/installations/{installation.id}/access_tokens",
        data={"repositories": [REPO]},
        jwt=app_jwt(sim),
    )
    assert [r["name"] for r in answer["repositories"]] == [REPO]
    assert await status_of(gh, f"/repos/{ORG}/{REPO}", oauth_token=answer["token"]) == 200
    assert await status_of(gh, f"/repos/{ORG}/hw1-bob", oauth_token=answer["token"]) == 404


async def test_missing_permission_is_403(app_key, session):
    async with GitHubSimulator(private_key_pem=app_key) as sim:
        installation = sim.install(ORG, permissions={"metadata": "read"})
        sim.create_repo(ORG, REPO)
        gh = GitHubAPI(session, "ghsim-tests", base_url=sim.url)
        answer = await apps.get_installation_access_token(
            gh, installation_id=str(installation.id), app_id=str(sim.app_id), private_key=app_key
        )
        assert await status_of(gh, f"/repos/{ORG}/{REPO}", oauth_token=answer["token"]) == 200
        url = f"/repos/{ORG}/{REPO}/contents/README.md"
        assert await status_of(gh, url, oauth_token=answer["token"]) == 403
