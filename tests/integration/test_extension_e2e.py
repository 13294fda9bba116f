"""An extension, end to end: the same push is late for the class and on time for the student
whose due date a teacher extended, and the check run says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ghapp.store import extensions
from tests.conftest import BUSYBOX
from tests.integration.e2e import ORG, new_repo

pytestmark = pytest.mark.docker

QUICK = f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - works"]\n'


async def test_an_extended_student_is_on_time_where_the_class_is_late(sim, app, build_image):
    image = build_image(QUICK)
    due = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    settings = {"due": f'"{due.isoformat()}"', "late": "{policy: penalty, penalty_per_day: 0.5}"}
    for repo in ("hw1-alice", "hw1-bob"):
        new_repo(sim, repo, image, **settings)
    extended_to = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    await extensions.grant(
        app.sessions,
        org=ORG,
        assignment="default",
        repo="hw1-alice",
        due=extended_to,
        cutoff=None,
        by="prof",
    )
    alice = await sim.push(ORG, "hw1-alice", {"a.txt": "1"})
    bob = await sim.push(ORG, "hw1-bob", {"b.txt": "1"})
    ran = await sim.wait_for_check_run(ORG, "hw1-alice", alice, status="completed", timeout=120)
    late = await sim.wait_for_check_run(ORG, "hw1-bob", bob, status="completed", timeout=120)
    assert not ran["output"]["title"].startswith("Late"), ran["output"]
    assert "📅 Your due date is extended to" in ran["output"]["summary"]
    assert ": on time (due" in ran["output"]["summary"]
    assert late["output"]["title"].startswith("Late"), late["output"]
    assert "extended" not in late["output"]["summary"]
