"""The Events API and the alert lifecycle over HTTP, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Api


async def make_source(api: Api, **fields: Any) -> dict[str, Any]:
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "prom", "integrationType": "API", **fields}
    )
    assert status == 201, source
    await api.settle()
    return source


async def send(api: Api, body: Any, path: str = "/api/events", **kw: Any) -> tuple[int, Any]:
    return await api.call("POST", path, json=body, key=None, **kw)


async def test_alert_dedup_accept_resolve_by_events(api: Api) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    status, first = await send(
        api,
        {
            "integrationKey": key,
            "eventType": "ALERT",
            "summary": "disk full",
            "alertKey": " Host-1/Disk ",
            "labels": {"env": "prod"},
        },
    )
    assert status == 202 and first["responseCode"] == "NEW_ALERT_CREATED"
    status, again = await send(
        api,
        {
            "apiKey": key,
            "eventType": "ALERT",
            "summary": "still full",
            "incidentKey": "host-1/disk",
        },
        path="/api/v1/events",
    )
    assert status == 200 and again["responseCode"] == "ALERT_ALREADY_EXISTS"
    assert again["alertId"] == first["alertId"] and again["incidentKey"] == "Host-1/Disk"
    await api.settle()
    status, alert = await api.call("GET", f"/api/alerts/{first['alertId']}")
    assert status == 200 and alert["status"] == "PENDING" and alert["eventsReceived"] == 2
    assert alert["alertSource"] == {"id": source["id"], "name": "prom"}
    status, accepted = await send(
        api, {"integrationKey": key, "eventType": "ACCEPT", "alertKey": "HOST-1/DISK"}
    )
    assert accepted["responseCode"] == "ALERT_ACCEPTED"
    status, resolved = await send(
        api, {"integrationKey": key, "eventType": "RESOLVE", "alertKey": "host-1/disk"}
    )
    assert resolved["responseCode"] == "ALERT_RESOLVED"
    status, none_open = await send(
        api, {"integrationKey": key, "eventType": "RESOLVE", "alertKey": "host-1/disk"}
    )
    assert status == 202 and none_open["responseCode"] == "NO_OPEN_ALERT"
    # a resolved alert never reopens: the next ALERT opens a new one
    status, fresh = await send(
        api,
        {
            "integrationKey": key,
            "eventType": "ALERT",
            "summary": "again",
            "alertKey": "host-1/disk",
        },
    )
    assert fresh["responseCode"] == "NEW_ALERT_CREATED" and fresh["alertId"] != first["alertId"]
    await api.settle()
    status, entries = await api.call("GET", f"/api/alerts/{first['alertId']}/log-entries")
    assert [e["logEntryType"] for e in entries] == [
        "AlertReceivedLogEntry",
        "AlertReceivedLogEntry",
        "AlertAcceptedLogEntry",
        "AlertResolvedLogEntry",
    ]
    assert all(e["alertId"] == first["alertId"] and e["timestamp"] for e in entries)
    status, counted = await api.call("GET", "/api/alerts/count?states=RESOLVED")
    assert counted == {"count": 1}


async def test_concurrent_alerts_with_one_key_open_one_alert(api: Api) -> None:
    source = await make_source(api)
    body = {
        "integrationKey": source["integrationKey"],
        "eventType": "ALERT",
        "summary": "flood",
        "alertKey": "same",
    }
    answers = await asyncio.gather(*(send(api, body) for _ in range(30)))
    assert all(status == 202 for status, _ in answers), answers
    assert len({a["alertId"] for _, a in answers}) == 1
    assert sum(a["responseCode"] == "NEW_ALERT_CREATED" for _, a in answers) == 1
    await api.settle()
    status, alert = await api.call("GET", f"/api/alerts/{answers[0][1]['alertId']}")
    assert status == 200 and alert["eventsReceived"] == 30


async def test_idempotency_key_retry_creates_nothing_new(api: Api) -> None:
    source = await make_source(api)
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    headers = {"Idempotency-Key": "retry-1"}
    first = await send(api, body, headers=headers)
    head = await api.runtime.store.head_position()
    # the same request again, its keys in another order: the first answer, nothing written
    second = await send(api, dict(reversed(body.items())), headers=headers)
    assert first == second and first[1]["responseCode"] == "NEW_ALERT_CREATED", (first, second)
    assert await api.runtime.store.head_position() == head
    await api.settle()
    assert (await api.call("GET", "/api/alerts/count"))[1] == {"count": 1}


async def test_idempotency_key_retries_of_joining_and_accepting_get_their_first_answers(
    api: Api,
) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    opened = await send(
        api, {"integrationKey": key, "eventType": "ALERT", "summary": "x", "alertKey": "k"}
    )
    joined = {"integrationKey": key, "eventType": "ALERT", "summary": "again", "alertKey": "k"}
    accept = {"integrationKey": key, "eventType": "ACCEPT", "alertKey": "k"}
    for body, code, header in (
        (joined, "ALERT_ALREADY_EXISTS", "j-1"),
        (accept, "ALERT_ACCEPTED", "a-1"),
    ):
        first = await send(api, body, headers={"Idempotency-Key": header})
        retry = await send(api, body, headers={"Idempotency-Key": header})
        assert first == retry and first[1]["responseCode"] == code, (first, retry)
        assert first[1]["alertId"] == opened[1]["alertId"]
    await api.settle()
    _, alert = await api.call("GET", f"/api/alerts/{opened[1]['alertId']}")
    assert alert["eventsReceived"] == 2 and alert["status"] == "ACCEPTED"


async def test_idempotency_key_with_another_body_is_422_and_writes_nothing(api: Api) -> None:
    source = await make_source(api)
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    headers = {"Idempotency-Key": "reused"}
    assert (await send(api, body, headers=headers))[0] == 202
    head = await api.runtime.store.head_position()
    status, problem = await send(api, {**body, "summary": "y"}, headers=headers)
    assert status == 422 and problem["field"] == "Idempotency-Key", problem
    assert problem["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await api.runtime.store.head_position() == head


async def test_bad_events_are_4xx_naming_the_field_and_write_nothing(api: Api) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    head = await api.runtime.store.head_position()
    cases = [
        ({"integrationKey": key, "eventType": "EXPLODE", "summary": "x"}, 400, "eventType"),
        ({"integrationKey": key, "eventType": "ALERT"}, 400, "summary"),
        ({"eventType": "ALERT", "summary": "x"}, 400, "integrationKey"),
        (
            {"integrationKey": key, "eventType": "ALERT", "summary": "x", "severity": 9},
            400,
            "severity",
        ),
        ([1, 2], 400, "body"),
        ({"integrationKey": "nope", "eventType": "ALERT", "summary": "x"}, 404, "integrationKey"),
    ]
    for body, status, field in cases:
        got, problem = await send(api, body)
        assert got == status, (body, problem)
        assert field in problem["message"]
    got, problem = await api.call("POST", "/api/events", data=b"{not json", key=None)
    assert got == 400 and problem["field"] == "body"
    huge = {"integrationKey": key, "eventType": "ALERT", "summary": "x", "details": "y" * 2_000_000}
    got, _ = await send(api, huge)
    assert got == 413
    assert await api.runtime.store.head_position() == head


async def test_rate_limit_per_integration_key(api: Api) -> None:
    source = await make_source(api)
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    statuses = [(await send(api, body))[0] for _ in range(55)]
    assert statuses[:50] == [202] * 50
    assert 429 in statuses[50:]


async def test_rest_accept_resolve_comment_and_filters(api: Api) -> None:
    source = await make_source(api)
    status, created = await api.call(
        "POST",
        "/api/alerts",
        json={"summary": "manual", "alertSource": {"id": source["id"]}, "priority": "LOW"},
    )
    assert status == 201 and created["status"] == "PENDING" and created["priority"] == "LOW"
    alert_id = created["id"]
    status, accepted = await api.call("PUT", f"/api/alerts/{alert_id}/accept")
    assert status == 200 and accepted["status"] == "ACCEPTED"
    status, _ = await api.call(
        "POST", f"/api/alerts/{alert_id}/comments", json={"content": "on it"}
    )
    assert status == 201
    status, resolved = await api.call("PUT", f"/api/alerts/{alert_id}/resolve")
    assert status == 200 and resolved["status"] == "RESOLVED" and resolved["resolvedOn"]
    status, problem = await api.call("PUT", f"/api/alerts/{alert_id}/accept")
    assert status == 409 and "resolved" in problem["message"]
    assert (await api.call("GET", "/api/alerts/999999"))[0] == 404
    status, listed = await api.call(
        "GET", "/api/alerts?state=RESOLVED&alert-source=" + str(source["id"])
    )
    assert [a["id"] for a in listed] == [alert_id]
    assert (await api.call("GET", "/api/alerts?states=PENDING"))[1] == []
    status, problem = await api.call("GET", "/api/alerts?max-results=101")
    assert status == 400 and problem["field"] == "max-results"
    status, problem = await api.call("GET", "/api/alerts?states=OPEN")
    assert status == 400 and problem["field"] == "states"
    status, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
    assert [e["logEntryType"] for e in entries] == [
        "AlertCreatedByUserLogEntry",
        "AlertAcceptedLogEntry",
        "AlertCommentLogEntry",
        "AlertResolvedLogEntry",
    ]
    assert "on it" in entries[2]["text"]
