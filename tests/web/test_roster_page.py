"""The roster page: a teacher imports GitHub Classroom's CSV, sees the students and unlinks a
login; a bad file is refused whole with its problems by line; the form's token and size hold."""

from __future__ import annotations

import aiohttp

from tests.web.dash import ORG

CLASSROOM = (
    b'"identifier","github_username","github_id","name"\n'
    b'"s1001","alice-dev","583231","Alice Liddell"\n'
    b'"s1002","","","Bob Builder"\n'
)


def upload(data: bytes, csrf: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("roster", data, filename="classroom_roster.csv", content_type="text/csv")
    return form


async def test_a_teacher_imports_classrooms_roster_and_sees_it(teacher):
    answer = await teacher.post(f"/orgs/{ORG}/roster", upload(CLASSROOM, await teacher.csrf()))
    assert answer.status == 303
    assert answer.headers["Location"] == (
        f"/orgs/{ORG}/roster?added=2&updated=0&unchanged=0&linked=2"  # and the seed's alice
    )
    page = await (await teacher.get(answer.headers["Location"])).text()
    assert "<strong>Imported</strong>: 2 new, 0 updated, 0 unchanged; 2 of the roster" in page
    assert "Alice Liddell" in page and "Bob Builder" in page
    assert ">alice-dev</a>" in page and "not linked" in page
    assert "roster import by prof" in page
    org = await (await teacher.get(f"/orgs/{ORG}")).text()
    assert f'href="/orgs/{ORG}/roster"' in org
    other = await (await teacher.get("/orgs/cs202/roster")).text()
    assert "Zed Zebra" not in other  # not this teacher's org


async def test_a_bad_file_imports_nothing_and_names_each_problem(teacher):
    bad = b"identifier,login\ns2001,ok-login\n,x\ns2003,not a login\n"
    answer = await teacher.post(f"/orgs/{ORG}/roster", upload(bad, await teacher.csrf()))
    assert answer.status == 400
    page = await answer.text()
    assert "Nothing was imported" in page
    assert "<li>line 3: no identifier</li>" in page
    assert "<li>line 4: &#39;not a login&#39; is not a GitHub login</li>" in page
    roster = await (await teacher.get(f"/orgs/{ORG}/roster")).text()
    assert "s2001" not in roster


async def test_a_login_another_student_holds_is_refused_whole(teacher):
    clash = b"identifier,login\ns3001,alice\n"  # the seed links alice to S-0042-ALICE
    answer = await teacher.post(f"/orgs/{ORG}/roster", upload(clash, await teacher.csrf()))
    assert answer.status == 400
    assert "would belong to both S-0042-ALICE and s3001" in await answer.text()


async def test_unlinking_a_login(teacher):
    csrf = await teacher.csrf()
    answer = await teacher.post(
        f"/orgs/{ORG}/roster/unlink", {"csrf": csrf, "identifier": "s-0042-alice"}
    )
    assert answer.status == 303 and answer.headers["Location"].endswith("?unlinked=1")
    page = await (await teacher.get(answer.headers["Location"])).text()
    assert "is unlinked" in page and "not linked" in page
    again = await teacher.post(
        f"/orgs/{ORG}/roster/unlink", {"csrf": csrf, "identifier": "S-0042-ALICE"}
    )
    assert again.status == 404


async def test_the_forms_token_size_and_file_are_required(teacher):
    refused = await teacher.post(f"/orgs/{ORG}/roster", upload(CLASSROOM, "guess"))
    assert refused.status == 403
    csrf = await teacher.csrf()
    huge = await teacher.post(
        f"/orgs/{ORG}/roster", upload(b"identifier\n" + b"s\n" * 1_100_000, csrf)
    )
    assert huge.status == 413
    empty = aiohttp.FormData({"csrf": csrf})
    empty.add_field("roster", b"", filename="empty.csv")
    assert (await teacher.post(f"/orgs/{ORG}/roster", empty)).status == 400
    not_multipart = await teacher.post(f"/orgs/{ORG}/roster", {"csrf": csrf})
    assert not_multipart.status == 400
    page = await (await teacher.get(f"/orgs/{ORG}/roster")).text()
    assert "Bob Builder" not in page
