"""The simulator hands out repositories as GitHub does: generated from a template, shared with
students (invitations for outside collaborators, direct access for org members) and teams,
archived; with GitHub's errors for a name that exists, a template it cannot see, a missing
permission."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest, apps

SCHOOL = "school"
HANDOUT = {
    "administration": "write",
    "contents": "read",
    "metadata": "read",
    "members": "write",
    "checks": "write",
}
STARTER = {"README.md": "# hw1\n", "calc.py": "def add(a, b):\n    pass\n"}


async def token_for(sim, gh, account: str) -> str:
    installation = sim.world.installation_for(account)
    answer = await apps.get_installation_access_token(
        gh,
        installation_id=str(installation.id),
        app_id=str(sim.app_id),
        private_key=sim.private_key_pem,
    )
    return answer["token"]


@pytest.fixture
async def school(sim, gh) -> str:
    """An org that installed the App with what handing out needs; a template; a member
    (alice) and an outside student (bob)."""
    sim.install(SCHOOL, permissions=HANDOUT)
    sim.create_repo(SCHOOL, "hw1-template", files=STARTER, template=True)
    sim.create_repo(SCHOOL, "not-a-template", files=STARTER)
    sim.add_member(SCHOOL, "alice")
    sim.create_user("bob")
    return await token_for(sim, gh, SCHOOL)


async def status_of(call) -> int:
    try:
        await call
    except BadRequest as err:
        return err.status_code
    return 200


async def generate(gh, token, name: str, template: str = "hw1-template", owner: str = SCHOOL):
    return await gh.post(
        f"/repos/{SCHOOL}/{template}/generate",
        data={"owner": owner, "name": name, "private": True},
        oauth_token=token,
    )


async def test_a_repo_is_generated_from_the_template_with_its_files(sim, gh, school):
    made = await generate(gh, school, "hw1-alice")
    assert (made["full_name"], made["private"]) == (f"{SCHOOL}/hw1-alice", True)
    assert made["template_repository"]["full_name"] == f"{SCHOOL}/hw1-template"
    assert made["template_repository"]["is_template"] is True
    repo = sim.world.require_repo(SCHOOL, "hw1-alice")
    assert repo.resolve("main").files == {k: v.encode() for k, v in STARTER.items()}
    assert len(repo.commits) == 1  # starter code, not the template's history
    # The App reaches what it made.
    assert (await gh.getitem(f"/repos/{SCHOOL}/hw1-alice", oauth_token=school))["id"] == repo.id


async def test_generating_a_name_that_exists_is_422_and_changes_nothing(sim, gh, school):
    await generate(gh, school, "hw1-alice")
    with pytest.raises(BadRequest) as err:
        await generate(gh, school, "hw1-alice")
    assert err.value.status_code == 422
    assert err.value.errors[0]["message"] == "name already exists on this account"
    assert len(sim.world.require_repo(SCHOOL, "hw1-alice").commits) == 1


async def test_template_refusals_are_githubs(sim, gh, school, token):
    assert await status_of(generate(gh, school, "x", template="no-such-repo")) == 404
    assert await status_of(generate(gh, school, "x", template="not-a-template")) == 422
    # Another org's installation cannot see this template, nor create repos here.
    sim.create_repo("cs101", "cs-template", files=STARTER, template=True)
    made = gh.post(
        "/repos/cs101/cs-template/generate", data={"owner": SCHOOL, "name": "x"}, oauth_token=school
    )
    assert await status_of(made) == 404
    # cs101's installation lacks `administration: write`.
    ours = gh.post(
        "/repos/cs101/cs-template/generate", data={"owner": "cs101", "name": "y"}, oauth_token=token
    )
    assert await status_of(ours) == 403
    assert sim.world.repo("cs101", "y") is None


async def test_an_outside_student_is_invited_and_a_member_added_at_once(sim, gh, school):
    await generate(gh, school, "hw1-bob")
    invited = await gh.put(
        f"/repos/{SCHOOL}/hw1-bob/collaborators/bob",
        data={"permission": "push"},
        oauth_token=school,
    )
    assert (invited["invitee"]["login"], invited["permissions"]) == ("bob", "write")
    repo = sim.world.require_repo(SCHOOL, "hw1-bob")
    assert sim.permission_of(repo, "bob") is None  # until bob accepts
    again = await gh.put(
        f"/repos/{SCHOOL}/hw1-bob/collaborators/bob",
        data={"permission": "push"},
        oauth_token=school,
    )
    assert again["id"] == invited["id"]  # one invitation, however often asked
    listed = await gh.getitem(f"/repos/{SCHOOL}/hw1-bob/invitations", oauth_token=school)
    assert [i["id"] for i in listed] == [invited["id"]]
    sim.accept_invitation("bob", SCHOOL, "hw1-bob")
    assert sim.permission_of(repo, "bob") == "push"
    seen = await gh.getitem(
        f"/repos/{SCHOOL}/hw1-bob/collaborators/bob/permission", oauth_token=school
    )
    assert (seen["permission"], seen["role_name"]) == ("write", "write")

    await generate(gh, school, "hw1-alice")
    answer = await status_of(
        gh.put(f"/repos/{SCHOOL}/hw1-alice/collaborators/alice", data={}, oauth_token=school)
    )
    assert answer == 200  # 204, no invitation: alice is a member
    assert sim.permission_of(sim.world.require_repo(SCHOOL, "hw1-alice"), "alice") == "push"
    assert sim.invitations_for("alice") == []


async def test_read_access_at_the_cutoff_and_archiving_at_the_end_of_term(sim, gh, school):
    await generate(gh, school, "hw1-alice")
    url = f"/repos/{SCHOOL}/hw1-alice/collaborators/alice"
    await gh.put(url, data={"permission": "push"}, oauth_token=school)
    await gh.put(url, data={"permission": "pull"}, oauth_token=school)
    repo = sim.world.require_repo(SCHOOL, "hw1-alice")
    assert sim.permission_of(repo, "alice") == "pull"
    archived = await gh.patch(
        f"/repos/{SCHOOL}/hw1-alice", data={"archived": True}, oauth_token=school
    )
    assert archived["archived"] is True and repo.archived
    assert await status_of(gh.put(url, data={"permission": "push"}, oauth_token=school)) == 403
    await gh.patch(f"/repos/{SCHOOL}/hw1-alice", data={"archived": False}, oauth_token=school)
    assert not repo.archived


async def test_collaborator_refusals(sim, gh, school, token):
    await generate(gh, school, "hw1-x")
    url = f"/repos/{SCHOOL}/hw1-x/collaborators"
    assert await status_of(gh.put(f"{url}/nobody-known", data={}, oauth_token=school)) == 404
    bad = gh.put(f"{url}/bob", data={"permission": "owner"}, oauth_token=school)
    assert await status_of(bad) == 422
    # cs101's App token cannot touch cs101's repo's collaborators without administration.
    assert (
        await status_of(
            gh.put("/repos/cs101/hw1-alice/collaborators/bob", data={}, oauth_token=token)
        )
        == 403
    )


async def test_a_team_gets_members_and_a_repo(sim, gh, school):
    team = await gh.post(
        f"/orgs/{SCHOOL}/teams",
        data={"name": "Team Rocket", "privacy": "secret"},
        oauth_token=school,
    )
    assert (team["name"], team["slug"]) == ("Team Rocket", "team-rocket")
    clash = gh.post(f"/orgs/{SCHOOL}/teams", data={"name": "team rocket"}, oauth_token=school)
    assert await status_of(clash) == 422
    joined = await gh.put(
        f"/orgs/{SCHOOL}/teams/team-rocket/memberships/alice", data={}, oauth_token=school
    )
    outside = await gh.put(
        f"/orgs/{SCHOOL}/teams/team-rocket/memberships/bob", data={}, oauth_token=school
    )
    assert (joined["state"], outside["state"]) == ("active", "pending")
    await generate(gh, school, "hw2-team-rocket")
    await gh.put(
        f"/orgs/{SCHOOL}/teams/team-rocket/repos/{SCHOOL}/hw2-team-rocket",
        data={"permission": "push"},
        oauth_token=school,
    )
    repo = sim.world.require_repo(SCHOOL, "hw2-team-rocket")
    assert sim.permission_of(repo, "alice") == "push"
    found = await gh.getitem(f"/orgs/{SCHOOL}/teams/team-rocket", oauth_token=school)
    assert (found["members_count"], found["repos_count"]) == (2, 1)
    assert await status_of(gh.getitem(f"/orgs/{SCHOOL}/teams/nope", oauth_token=school)) == 404


async def test_users_are_found_by_login(sim, gh, school):
    assert (await gh.getitem("/users/bob", oauth_token=school))["login"] == "bob"
    assert await status_of(gh.getitem("/users/never-seen", oauth_token=school)) == 404
