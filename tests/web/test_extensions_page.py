"""Granting and revoking extensions from the gradebook: teachers only, dates checked, shown on
the row they apply to."""

from __future__ import annotations

import html

import pytest

from tests.web.dash import ORG, OTHER_TEACHER, STUDENT, Client

GRANT = f"/orgs/{ORG}/assignments/hw1/extensions"


async def test_a_teacher_grants_and_revokes_an_extension(teacher):
    csrf = await teacher.csrf()
    answer = await teacher.post(
        GRANT, {"csrf": csrf, "repo": "hw1-bob", "due": "2026-11-25T12:00", "cutoff": ""}
    )
    assert answer.status == 303 and answer.headers["Location"].endswith("/hw1#extensions")
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    by_repo = page.split('<table class="gradebook">', 1)[1]
    bob = by_repo.split(">hw1-bob</a>", 1)[1].split("</tr>", 1)[0]
    assert "extended to 2026-11-25 12:00:00 UTC" in bob
    table = page.split('id="extensions"', 1)[1]
    assert "hw1-bob" in table and "by prof" in table
    alice = by_repo.split(">hw1-alice</a>", 1)[1].split("</tr>", 1)[0]
    assert "extended" not in alice
    revoked = await teacher.post(f"{GRANT}/revoke", {"csrf": csrf, "repo": "hw1-bob"})
    assert revoked.status == 303
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert "extended to" not in page


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"repo": "hw1-bob", "due": "2026-11-20T12:00"}, "must be after the assignment's"),
        ({"repo": "hw1-bob", "due": "soon"}, "is not a date and time"),
        (
            {"repo": "hw1-bob", "due": "2026-11-25T12:00", "cutoff": "2026-11-24T00:00"},
            "the cutoff must not be before the new due date",
        ),
        ({"repo": "lab1-zed", "due": "2026-11-25T12:00"}, "has no repository 'lab1-zed'"),
    ],
)
async def test_a_grant_that_cannot_be_is_refused_and_says_why(teacher, form, said):
    answer = await teacher.post(GRANT, {"csrf": await teacher.csrf(), **form})
    assert answer.status == 400
    assert said in html.unescape(await answer.text())
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert "extended to" not in page


@pytest.mark.parametrize("login", [STUDENT, OTHER_TEACHER])
async def test_nobody_else_grants_one(sim, web_db, teacher, login):
    client = Client(web_db.url, sim)
    assert (await client.sign_in(login)).status == 303
    answer = await client.post(
        GRANT, {"csrf": await client.csrf(), "repo": "hw1-alice", "due": "2026-12-25T12:00"}
    )
    assert answer.status == 403
    await client.close()
    page = await (await teacher.get(f"/orgs/{ORG}/assignments/hw1")).text()
    assert "extended to" not in page
