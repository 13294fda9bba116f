"""A submission page shows the job's timeline: each step from the push to GitHub accepting the
result, with how long it took. Whatever the stored JSON holds, the page renders."""

from __future__ import annotations

from ghapp.store.models import Job


async def set_phases(app, job_id: int, phases) -> None:
    async with app.sessions() as session, session.begin():
        job = await session.get(Job, job_id)
        job.phases = phases


def timeline_of(page: str) -> str:
    if "<h2>Timeline</h2>" not in page:
        return ""
    return page.split("<h2>Timeline</h2>", 1)[1].split("</table>", 1)[0]


async def test_the_page_shows_each_step_and_its_time(teacher, web_db):
    job_id = teacher.ids["alice1"]
    start = 1_780_000_000.0
    await set_phases(
        web_db,
        job_id,
        {
            "received": start,
            "claimed": start + 0.012,
            "downloaded": start + 0.030,
            "created": start + 0.075,
            "started": start + 0.250,
            "exited": start + 0.400,
            "staged": start + 0.460,
            "accepted": start + 0.481,
        },
    )
    page = await (await teacher.get(f"/jobs/{job_id}")).text()
    timeline = timeline_of(page)
    rows = timeline.split('<tr class="phase-')[1:]
    assert [row.split('"', 1)[0] for row in rows] == [
        "claimed",
        "downloaded",
        "created",
        "started",
        "exited",
        "staged",
        "accepted",
    ]
    assert 'waiting for a worker</td><td class="num">0.012 s</td>' in rows[0]
    assert 'grading ran</td><td class="num">0.150 s</td>' in rows[4]
    assert ">0.481 s</td>" in rows[6]  # after the push
    live = await (await teacher.get(f"/jobs/{job_id}?part=live")).text()
    assert timeline_of(live) == timeline


async def test_no_timeline_for_a_job_without_one_or_with_garbage(teacher, web_db):
    job_id = teacher.ids["bob1"]
    for stored in (None, ["not", "a", "dict"], {"claimed": "soon"}, {"received": "yesterday"}):
        await set_phases(web_db, job_id, stored)
        answer = await teacher.get(f"/jobs/{job_id}")
        assert answer.status == 200, stored
        assert timeline_of(await answer.text()) == "", stored
