"""Read your writes: a read that starts after a 2xx answer sees that write, on every route
and on every instance sharing the database (DESIGN.md, "Guarantees every feature keeps").

No test here calls ``settle()`` between a write and its read: that wait is the daemon's
job now. Each check is repeated, since a missing wait shows only as a race."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .conftest import Api, running_api
from .receiver import Receiver
from .test_alerts_api import new_user
from .test_events_api import make_source, send

ROUNDS = 50
#: revoked keys are used on purpose, many times from one address: not an attack to throttle
UNLIMITED = {"ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0", "ILERTD_AUTH_MAX_FAILURES": "1000000"}


@pytest.fixture
async def api(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn, **UNLIMITED) as running:
        yield running


@contextlib.asynccontextmanager
async def two_instances(dsn: str, read_wait_s: float) -> AsyncIterator[tuple[Api, Api]]:
    """Two daemons on one database: (the engine's leader, the other one)."""
    env = {**UNLIMITED, "ILERTD_HTTP_READ_WAIT_S": str(read_wait_s)}
    async with running_api(dsn, **env) as first, running_api(dsn, **env) as second:
        deadline = time.monotonic() + 10
        while not (first.runtime.runner.runs("outbox") or second.runtime.runner.runs("outbox")):
            assert time.monotonic() < deadline, "no instance leads the engine"
            await asyncio.sleep(0.05)
        leader = first if first.runtime.runner.runs("outbox") else second
        yield leader, second if leader is first else first


@pytest.fixture
async def pair(dsn: str) -> AsyncIterator[tuple[Api, Api]]:
    async with two_instances(dsn, read_wait_s=5) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


async def event(api: Api, key: str, event_type: str, alert_key: str) -> dict[str, Any]:
    body = {"integrationKey": key, "eventType": event_type, "alertKey": alert_key}
    if event_type == "ALERT":
        body["summary"] = f"disk full {alert_key}"
    status, answer = await send(api, body)
    assert status == 202, answer
    return answer


async def get(api: Api, path: str, **kw: Any) -> Any:
    status, body = await api.call("GET", path, **kw)
    assert status == 200, (path, status, body)
    return body


async def test_events_api_writes_are_read_at_once(api: Api) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    for n in range(ROUNDS):
        alert_key = f"host-{n}"
        alert_id = (await event(api, key, "ALERT", alert_key))["alertId"]
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "PENDING", n
        assert (await get(api, "/api/alerts/count?states=PENDING"))["count"] == 1, n

        await event(api, key, "ACCEPT", alert_key)
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "ACCEPTED", n
        listed = await get(api, "/api/alerts?states=ACCEPTED")
        assert [a["id"] for a in listed] == [alert_id], n

        await event(api, key, "RESOLVE", alert_key)
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "RESOLVED", n
        assert (await get(api, "/api/alerts/count?states=PENDING,ACCEPTED"))["count"] == 0, n
        entries = await get(api, f"/api/alerts/{alert_id}/log-entries")
        assert entries[-1]["logEntryType"] == "AlertResolvedLogEntry", n


async def test_rest_writes_are_read_at_once(api: Api) -> None:
    source = await make_source(api)
    for n in range(10):
        user_id = await new_user(api, f"u{n}")
        assert (await get(api, f"/api/users/{user_id}"))["firstName"] == f"u{n}"
        status, issued = await api.call(
            "POST", f"/api/users/{user_id}/api-keys", json={"label": "cli"}
        )
        assert status == 201, issued
        me = await get(api, "/api/users/current", key=issued["apiKey"])
        assert me["id"] == user_id, n
        status, renamed = await api.call(
            "PUT", f"/api/alert-sources/{source['id']}", json={**source, "name": f"prom-{n}"}
        )
        assert status == 200, renamed
        assert (await get(api, f"/api/alert-sources/{source['id']}"))["name"] == f"prom-{n}"
        status, created = await api.call(
            "POST", "/api/alerts", json={"summary": f"by hand {n}", "alertSource": source}
        )
        assert status == 201, created
        status, _ = await api.call(
            "POST", f"/api/alerts/{created['id']}/comments", json={"content": f"note {n}"}
        )
        assert status == 201
        entries = await get(api, f"/api/alerts/{created['id']}/log-entries")
        assert entries[-1]["text"].endswith(f"note {n}"), entries[-1]


async def test_two_instances_read_each_others_writes_at_once(pair: tuple[Api, Api]) -> None:
    leader, other = pair
    source = await make_source(leader)
    key = source["integrationKey"]
    for n in range(ROUNDS // 2):
        writer, reader = (leader, other) if n % 2 else (other, leader)
        alert_key = f"host-{n}"
        alert_id = (await event(writer, key, "ALERT", alert_key))["alertId"]
        assert (await get(reader, f"/api/alerts/{alert_id}"))["status"] == "PENDING", n
        await event(reader, key, "ACCEPT", alert_key)
        assert (await get(writer, f"/api/alerts/{alert_id}"))["status"] == "ACCEPTED", n
        await event(writer, key, "RESOLVE", alert_key)
        assert (await get(reader, "/api/alerts/count?states=PENDING,ACCEPTED"))["count"] == 0
        # a REST write on one right after an Events API 202 from the other finds the alert
        alert_id = (await event(writer, key, "ALERT", alert_key))["alertId"]
        status, accepted = await reader.call("PUT", f"/api/alerts/{alert_id}/accept")
        assert status == 200 and accepted["status"] == "ACCEPTED", (n, accepted)
        await event(writer, key, "RESOLVE", alert_key)
        # a REST write through one, and a request authenticated by its result on the other
        user_id = await new_user(writer, f"u{n}")
        status, issued = await writer.call(
            "POST", f"/api/users/{user_id}/api-keys", json={"label": "cli"}
        )
        assert status == 201, issued
        assert (await get(reader, "/api/users/current", key=issued["apiKey"]))["id"] == user_id


async def test_a_revoked_key_or_deactivated_source_stops_at_once_on_both_instances(
    pair: tuple[Api, Api],
) -> None:
    """API keys' users and alert sources are cached while their read model is unchanged:
    a revocation through one instance must end the key on the other with the next request,
    however often the key was used just before."""
    leader, other = pair
    for n in range(ROUNDS // 5):
        writer, reader = (leader, other) if n % 2 else (other, leader)
        user_id = await new_user(writer, f"r{n}")
        status, issued = await writer.call(
            "POST", f"/api/users/{user_id}/api-keys", json={"label": "cli"}
        )
        assert status == 201, issued
        for _ in range(3):  # cached on both
            for api in (reader, writer):
                assert (await get(api, "/api/users/current", key=issued["apiKey"]))["id"] == user_id
        path = f"/api/users/{user_id}/api-keys/{issued['id']}"
        status, _ = await writer.call("DELETE", path)
        assert status == 204
        for api in (reader, writer):
            status, problem = await api.call("GET", "/api/users/current", key=issued["apiKey"])
            assert status == 403, (n, problem)

        source = await make_source(writer, name=f"s{n}")
        for api in (reader, writer):
            await event(api, source["integrationKey"], "ALERT", f"k{n}")
        status, changed = await writer.call(
            "PUT", f"/api/alert-sources/{source['id']}", json={"name": f"s{n}", "active": False}
        )
        assert status == 200, changed
        for api in (reader, writer):
            body = {"integrationKey": source["integrationKey"], "eventType": "ALERT"}
            status, problem = await send(api, {**body, "summary": "x", "alertKey": f"j{n}"})
            assert status == 409, (n, problem)


async def test_the_other_instance_reads_the_leaders_outbox_at_once(
    pair: tuple[Api, Api], receiver: Receiver
) -> None:
    """Deliveries are the engine leader's read model: the other instance waits for the
    leader's tracking row, and does not wait at all for events the outbox does not want."""
    leader, other = pair
    source = await make_source(leader)
    status, action = await leader.call(
        "POST",
        "/api/alert-actions",
        json={
            "name": "siem",
            "connectorType": "webhook",
            "params": {"webhookUrl": receiver.url},
            "alertSources": [{"id": source["id"]}],
            "triggerTypes": ["alert-created"],
        },
    )
    assert status == 201, action
    for n in range(20):
        writer = (leader, other)[n % 2]
        alert_id = (await event(writer, source["integrationKey"], "ALERT", f"k{n}"))["alertId"]
        found = await get(other, f"/api/deliveries?alert-id={alert_id}")
        assert [d["alertActionId"] for d in found] == [action["id"]], n
        history = await get(other, f"/api/alerts/{alert_id}/actions")
        assert len(history[0]["history"]) == 1, n
        # events the outbox never wants leave its tracking row behind the head
        await new_user(other, f"u{n}")
        started = time.monotonic()
        await get(other, f"/api/deliveries/{found[0]['id']}")
        assert time.monotonic() - started < 1.0, "waited for events the outbox does not want"


async def test_a_read_model_that_cannot_advance_is_a_503_after_the_bound(dsn: str) -> None:
    async with running_api(dsn, **UNLIMITED, ILERTD_HTTP_READ_WAIT_S="0.5") as api:
        source = await make_source(api)
        runner = api.runtime.runner
        await runner.stop_one("alerts")  # the alerts read model stops moving
        try:
            alert_id = (await event(api, source["integrationKey"], "ALERT", "stuck"))["alertId"]
            for path in (f"/api/alerts/{alert_id}", "/api/alerts/count"):
                started = time.monotonic()
                async with api.session.get(
                    api.url(path), headers={"Authorization": f"Bearer {api.key}"}
                ) as response:
                    body = await response.json(content_type=None)
                    assert response.status == 503, body
                    assert response.headers["Retry-After"] == "1"
                    assert response.content_type == "application/problem+json"
                assert time.monotonic() - started >= 0.5
                assert body["code"] == "READ_MODELS_BEHIND" and "alerts" in body["message"]
                assert list(body["behind"]) == ["alerts"]
                assert body["head"] > body["behind"]["alerts"]
            # a route that does not read alerts is not held up by them
            started = time.monotonic()
            await get(api, "/api/users/current")
            assert time.monotonic() - started < 0.5
        finally:
            runner.follow_one("alerts")
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "PENDING"
        metrics = await api.session.get(api.url("/metrics"))
        assert "ilertd_http_read_models_behind_total 2.0" in await metrics.text()


async def test_one_alert_is_read_at_once_while_the_rest_of_the_alerts_model_lags(
    dsn: str,
) -> None:
    """Under ingest the alerts read model as a whole trails the head; a read of one alert
    whose row holds its stream's last event needs no wait, one whose row is behind does."""
    async with running_api(dsn, **UNLIMITED, ILERTD_HTTP_READ_WAIT_S="0.5") as api:
        source = await make_source(api)
        key = source["integrationKey"]
        alert_id = (await event(api, key, "ALERT", "quiet"))["alertId"]
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "PENDING"
        runner = api.runtime.runner
        await runner.stop_one("alerts")
        try:
            await event(api, key, "ALERT", "busy")  # the head moves on, the model does not
            started = time.monotonic()
            assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "PENDING"
            assert time.monotonic() - started < 0.5
            status, body = await api.call("GET", "/api/alerts?states=PENDING")
            assert status == 503, body  # the list needs the whole model
            await event(api, key, "ACCEPT", "quiet")  # now this alert's row is behind too
            status, body = await api.call("GET", f"/api/alerts/{alert_id}")
            assert status == 503 and body["code"] == "READ_MODELS_BEHIND", body
        finally:
            runner.follow_one("alerts")
        assert (await get(api, f"/api/alerts/{alert_id}"))["status"] == "ACCEPTED"


async def test_a_leader_only_read_model_left_behind_is_a_503_on_the_other_instance(
    dsn: str, receiver: Receiver
) -> None:
    async with two_instances(dsn, read_wait_s=1) as (leader, other):
        await _leader_only_left_behind(leader, other, receiver)


async def _leader_only_left_behind(leader: Api, other: Api, receiver: Receiver) -> None:
    source = await make_source(leader)
    status, _ = await leader.call(
        "POST",
        "/api/alert-actions",
        json={
            "name": "siem",
            "connectorType": "webhook",
            "params": {"webhookUrl": receiver.url},
            "triggerTypes": ["alert-created"],
        },
    )
    assert status == 201
    await leader.runtime.runner.stop_one("outbox")  # the leader stops keeping it
    try:
        alert_id = (await event(other, source["integrationKey"], "ALERT", "k"))["alertId"]
        started = time.monotonic()
        status, body = await other.call("GET", f"/api/deliveries?alert-id={alert_id}")
        assert status == 503 and body["code"] == "READ_MODELS_BEHIND", body
        assert list(body["behind"]) == ["outbox"]
        assert time.monotonic() - started >= 1
        assert (await get(other, f"/api/alerts/{alert_id}"))["id"] == alert_id
    finally:
        leader.runtime.runner.follow_one("outbox")
    assert len(await get(other, f"/api/deliveries?alert-id={alert_id}")) == 1
