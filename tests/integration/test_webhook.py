"""POST /webhooks/github over real HTTP on loopback, with a real (migrated) SQLite database."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ghapp.store.db import make_engine, migrate, sessionmaker
from ghapp.store.models import Delivery, Installation, Job, JobState
from tests.payloads import delivery_headers, payload, signed
from web.app import WebState, make_app

SECRET = "it's a secret to everybody"


@pytest.fixture
async def database(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
    await migrate(engine)
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(aiohttp_client, database):
    woken = []
    app = make_app(
        WebState(
            sessions=database,
            webhook_secret=SECRET,
            app_id=None,
            on_new_work=lambda: woken.append(1),
        )
    )
    test_client = await aiohttp_client(app)
    test_client.woken = woken
    return test_client


async def count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def post(client, event: str, data, *, guid=None, secret=SECRET, headers=None):
    body = json.dumps(data).encode() if not isinstance(data, bytes) else data
    sent = delivery_headers(event, body, secret, guid)
    sent.update(headers or {})
    return await client.post("/webhooks/github", data=body, headers=sent)


async def test_push_is_stored_as_a_job_and_answered_202(client, database):
    data = payload("push/with-new-branch.payload.json")
    response = await post(client, "push", data)
    assert response.status == 202
    assert (await response.json())["jobs"] == [1]
    async with database() as session:
        job = await session.get(Job, 1)
    assert (job.state, job.head_sha, job.trigger) == (JobState.RECEIVED, data["after"], "push")
    assert job.received_at.tzinfo is not None
    assert client.woken == [1]


async def test_redelivered_webhook_creates_no_second_job(client, database):
    data = payload("push/with-new-branch.payload.json")
    first = await post(client, "push", data, guid="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = await post(client, "push", data, guid="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (first.status, again.status) == (202, 200)
    assert "duplicate" in (await again.json())["status"]
    assert await count(database, Job) == 1
    assert await count(database, Delivery) == 1


async def test_bad_signature_is_401_and_stores_nothing(client, database):
    data = payload("push/with-new-branch.payload.json")
    response = await post(client, "push", data, secret="wrong secret")
    assert response.status == 401
    assert await count(database, Job) == 0 and await count(database, Delivery) == 0


async def test_missing_signature_is_401_even_with_a_sha1_one(client, database):
    body = json.dumps(payload("push/with-new-branch.payload.json")).encode()
    headers = delivery_headers("push", body, SECRET)
    del headers["X-Hub-Signature-256"]
    import hashlib
    import hmac

    headers["X-Hub-Signature"] = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await client.post("/webhooks/github", data=body, headers=headers)
    assert response.status == 401
    assert await count(database, Delivery) == 0


async def test_signed_but_malformed_json_is_400_and_stores_nothing(client, database):
    response = await post(client, "push", b'{"ref": "refs/heads/main", ')
    assert response.status == 400
    assert await count(database, Delivery) == 0


async def test_missing_delivery_header_is_400(client, database):
    body = b"{}"
    headers = delivery_headers("push", body, SECRET)
    del headers["X-GitHub-Delivery"]
    response = await client.post("/webhooks/github", data=body, headers=headers)
    assert response.status == 400


async def test_payload_over_25_mb_is_413(client, database):
    body = b" " * (25 * 1024 * 1024 + 10)
    response = await client.post(
        "/webhooks/github",
        data=body,
        headers={
            "X-Hub-Signature-256": signed(body, SECRET),
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "x",
        },
    )
    assert response.status == 413
    assert await count(database, Delivery) == 0


async def test_branch_deletion_is_answered_200_and_creates_no_job(client, database):
    response = await post(client, "push", payload("push/with-installation.payload.json"))
    assert response.status == 200
    assert (await response.json())["status"] == "ignored"
    assert await count(database, Job) == 0
    async with database() as session:
        delivery = (await session.execute(select(Delivery))).scalar_one()
    assert delivery.result.startswith("ignored")


async def test_installation_events_remember_and_forget(client, database):
    created = payload("installation/created.payload.json")
    assert (await post(client, "installation", created)).status == 202
    assert await count(database, Installation) == 1
    deleted = payload("installation/deleted.payload.json")
    deleted["installation"]["id"] = created["installation"]["id"]
    assert (await post(client, "installation", deleted)).status == 202
    assert await count(database, Installation) == 0


async def test_healthz_and_metrics(client):
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["database"] == "ok"
    await post(client, "push", payload("push/with-new-branch.payload.json"))
    metrics = await (await client.get("/metrics")).text()
    assert 'pushgrade_webhook_deliveries_total{event="push",result="taken"} 1.0' in metrics


header_names = st.sampled_from(
    ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "Content-Type", "X-Other"]
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(
                st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text()), max_size=5
            ),
        ),
    ),
    headers=st.dictionaries(header_names, header_values, max_size=5),
    sign=st.booleans(),
    event=st.sampled_from(
        [
            "push",
            "check_run",
            "check_suite",
            "installation",
            "installation_repositories",
            "ping",
            "x",
        ]
    ),
)
async def test_arbitrary_requests_never_500_and_store_nothing_unless_signed(
    client, database, body, headers, sign, event
):
    sent = dict(headers)
    if sign:
        sent.update(
            {
                "X-Hub-Signature-256": signed(body, SECRET),
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": f"guid-{hash(body)}",
            }
        )
    before = await count(database, Delivery)
    response = await client.post("/webhooks/github", data=body, headers=sent)
    assert response.status < 500
    if not sign:
        assert response.status in (400, 401, 413)
        assert await count(database, Delivery) == before
