"""The image each submission was graded with, on its page: the reference, the image id and the
registry digest (what exists of them), and a regrade that ran another image than its commit's
first grading, marked there and in the repo's history. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ghapp.store.models import Job, JobState, Submission
from tests.web.dash import TEACHER, outcome

REF = "ghcr.io/cs101/hw1:2026"
FIRST_ID = "sha256:" + "1" * 64
OTHER_ID = "sha256:" + "2" * 64
DIGEST = "ghcr.io/cs101/hw1@sha256:" + "d" * 64
BUILT = "pushgrade-grader/cs101-grader-hw1:" + "9" * 40


async def pin(app, job_id: int, **fields) -> None:
    async with app.sessions() as session, session.begin():
        graded = await session.scalar(select(Submission).where(Submission.job_id == job_id))
        for name, value in fields.items():
            setattr(graded, name, value)


async def regraded(app, job_id: int, **fields) -> int:
    """A teacher's regrade of `job_id`'s commit, graded with `fields`; its job id."""
    async with app.sessions() as session, session.begin():
        old = await session.get(Job, job_id)
        new = Job(
            state=JobState.DONE,
            trigger="dashboard",
            installation_id=old.installation_id,
            owner=old.owner,
            repo=old.repo,
            head_sha=old.head_sha,
            sender=TEACHER,
            received_at=old.received_at + timedelta(days=2),
            attempts=1,
            assignment=old.assignment,
            config=old.config,
            note="",
        )
        session.add(new)
        await session.flush()
        session.add(
            Submission(
                job_id=new.id,
                owner=new.owner,
                repo=new.repo,
                head_sha=new.head_sha,
                status="failed",
                conclusion="failure",
                score=3,
                max_score=5,
                outcome=outcome(3),
                graded_at=new.received_at + timedelta(minutes=1),
                **fields,
            )
        )
        return new.id


def pins_of(page: str) -> str:
    """The "Graded with" entry of a submission page ('' when there is none)."""
    if "<dt>Graded with</dt>" not in page:
        return ""
    return page.split("<dt>Graded with</dt>", 1)[1].split("</dd>", 1)[0]


def history_row(page: str, job_id: int) -> str:
    table = page.split("This repository's pushes", 1)[1]
    return table.split(f'href="/jobs/{job_id}">#{job_id}</a>', 1)[1].split("</tr>", 1)[0]


async def test_a_submission_shows_the_reference_id_and_digest_it_was_graded_with(teacher, web_db):
    await pin(web_db, teacher.ids["alice1"], image=REF, image_id=FIRST_ID, image_digest=DIGEST)
    page = await (await teacher.get(f"/jobs/{teacher.ids['alice1']}")).text()
    pins = pins_of(page)
    assert f'<code class="image-ref">{REF}</code>' in pins
    # Short as docker shows them, the full value in the title and in a block to copy.
    assert f'<code class="image-id" title="{FIRST_ID}">111111111111</code>' in pins
    # The digest's name is the reference's own: left out of the short form.
    assert f'<code class="image-digest" title="{DIGEST}">sha256:dddddddddddd</code>' in pins
    assert f"id      {FIRST_ID}" in pins and f"digest  {DIGEST}" in pins
    assert "image-changed" not in pins
    # The live fragment (what the page refreshes itself with) shows them too.
    live = await (await teacher.get(f"/jobs/{teacher.ids['alice1']}?part=live")).text()
    assert pins_of(live) == pins


async def test_an_image_built_from_a_grader_repo_has_an_id_and_no_digest(teacher, web_db):
    await pin(web_db, teacher.ids["alice2"], image=BUILT, image_id=OTHER_ID)
    pins = pins_of(await (await teacher.get(f"/jobs/{teacher.ids['alice2']}")).text())
    assert f'<code class="image-ref">{BUILT}</code>' in pins
    assert "222222222222" in pins and "digest" not in pins


async def test_a_digest_of_another_name_keeps_its_name(teacher, web_db):
    digest = "registry.example:5000/mirror/hw1@sha256:" + "e" * 64
    await pin(web_db, teacher.ids["alice1"], image=REF, image_digest=digest)
    pins = pins_of(await (await teacher.get(f"/jobs/{teacher.ids['alice1']}")).text())
    assert ">registry.example:5000/mirror/hw1@sha256:eeeeeeeeeeee</code>" in pins
    assert "image-id" not in pins  # no id recorded: none shown


async def test_without_pins_a_submission_or_a_waiting_job_renders_as_before(teacher):
    for name in ("bob1", "alice1", "carol1", "dave1"):  # graded, graded, waiting, config error
        answer = await teacher.get(f"/jobs/{teacher.ids[name]}")
        assert answer.status == 200, name
        page = await answer.text()
        assert pins_of(page) == "" and "image-changed" not in page, name
    page = await (await teacher.get(f"/jobs/{teacher.ids['alice2']}")).text()
    assert history_row(page, teacher.ids["alice1"]).rstrip().endswith("<td></td>")


async def test_a_regrade_with_another_image_is_marked_on_its_page_and_in_the_history(
    teacher, web_db
):
    await pin(web_db, teacher.ids["alice1"], image=REF, image_id=FIRST_ID, image_digest=DIGEST)
    other = await regraded(web_db, teacher.ids["alice1"], image=REF, image_id=OTHER_ID)
    same = await regraded(web_db, teacher.ids["alice1"], image=REF, image_id=FIRST_ID)
    page = await (await teacher.get(f"/jobs/{other}")).text()
    pins = pins_of(page)
    assert "222222222222" in pins
    assert 'class="badge image-changed"' in pins and "111111111111" in pins
    assert f'title="This commit was first graded with image id {FIRST_ID}"' in pins
    assert "new image" in history_row(page, other)
    assert "new image" not in history_row(page, same)  # a regrade with the same image
    assert "new image" not in history_row(page, teacher.ids["alice1"])  # the first grading
    assert ">111111111111</code>" in history_row(page, teacher.ids["alice1"])
    assert "image-changed" not in pins_of(await (await teacher.get(f"/jobs/{same}")).text())


async def test_what_the_image_fields_hold_is_escaped(teacher, web_db):
    await pin(web_db, teacher.ids["alice1"], image='x"><script>alert(1)</script>', image_id="<b>")
    page = await (await teacher.get(f"/jobs/{teacher.ids['alice1']}")).text()
    assert "<script>alert(1)" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pins_of(page)
