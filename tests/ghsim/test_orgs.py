"""Org memberships, as pushgrade reads them to tell a teacher (an owner) from a student."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest

from .conftest import ORG


async def test_an_owner_is_an_admin_member_and_a_member_is_not(sim, gh, token):
    sim.add_member(ORG, "prof", role="admin")
    sim.add_member(ORG, "student")
    owner = await gh.getitem(f"/orgs/{ORG}/memberships/prof", oauth_token=token)
    assert (owner["role"], owner["state"], owner["user"]["login"]) == ("admin", "active", "prof")
    assert owner["organization"]["login"] == ORG
    member = await gh.getitem(f"/orgs/{ORG}/memberships/STUDENT", oauth_token=token)
    assert member["role"] == "member"


async def test_a_non_member_and_another_org_answer_404(sim, gh, token):
    sim.add_member("other-org", "prof", role="admin")
    for url in (f"/orgs/{ORG}/memberships/stranger", "/orgs/other-org/memberships/prof"):
        with pytest.raises(BadRequest) as caught:
            await gh.getitem(url, oauth_token=token)
        assert caught.value.status_code == 404


async def test_without_a_token_membership_is_refused(sim, gh):
    sim.add_member(ORG, "prof", role="admin")
    with pytest.raises(BadRequest) as caught:
        await gh.getitem(f"/orgs/{ORG}/memberships/prof")
    assert caught.value.status_code == 401


def test_roles_are_admin_or_member(sim):
    with pytest.raises(ValueError, match="admin or member"):
        sim.add_member(ORG, "x", role="owner")
