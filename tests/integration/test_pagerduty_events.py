"""PagerDuty Events API v2 (``POST /v2/enqueue``) over HTTP on real PostgreSQL: PagerDuty's
answers, trigger / acknowledge / resolve on one alert, 400s naming the field, and the
per-key rate limit every inbound path shares."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api
from .test_alertmanager_webhook import alert_of, group
from .test_events_api import make_source

ENQUEUE = "/v2/enqueue"


def trigger(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "db/replica-lag",
        "payload": {
            "summary": "replica lag over 30 s",
            "source": "db-2.example",
            "severity": "critical",
            "component": "postgres",
            "group": "prod-db",
            "class": "replication",
            "custom_details": {"lag_s": 42, "firing": "ReplicaLag"},
        },
        "links": [{"href": "https://grafana.example/d/db", "text": "dashboard"}],
        "images": [{"src": "https://grafana.example/render/db.png", "alt": "lag"}],
        "client": "Grafana",
        "client_url": "https://grafana.example",
        **fields,
    }


async def enqueue(api: Api, body: Any, **kw: Any) -> tuple[int, Any]:
    return await api.call("POST", ENQUEUE, json=body, key=None, **kw)


async def test_trigger_acknowledge_resolve_act_on_one_alert(api: Api) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    status, answer = await enqueue(api, trigger(key))
    assert status == 202, answer
    assert answer == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db/replica-lag",
    }
    await api.settle()
    _, alerts = await api.call("GET", "/api/alerts")
    assert len(alerts) == 1
    alert = await alert_of(api, alerts[0]["id"])
    assert alert["summary"] == "replica lag over 30 s" and alert["priority"] == "HIGH"
    assert alert["alertKey"] == "db/replica-lag"
    assert alert["labels"] == {
        "source": "db-2.example",
        "component": "postgres",
        "group": "prod-db",
        "class": "replication",
        "severity": "critical",
    }
    assert alert["customDetails"] == {"lag_s": 42, "firing": "ReplicaLag"}
    assert "**source**: db-2.example" in alert["details"] and "**lag_s**: 42" in alert["details"]
    assert alert["links"] == [
        {"href": "https://grafana.example/d/db", "text": "dashboard"},
        {"href": "https://grafana.example", "text": "Grafana"},
    ]
    assert alert["images"] == [{"src": "https://grafana.example/render/db.png", "alt": "lag"}]
    # the same dedup_key again joins the open alert
    status, _ = await enqueue(api, trigger(key))
    assert status == 202
    assert (await alert_of(api, alert["id"]))["eventsReceived"] == 2
    ack = {"routing_key": key, "event_action": "acknowledge", "dedup_key": "db/replica-lag"}
    status, answer = await enqueue(api, ack)
    assert status == 202 and answer["dedup_key"] == "db/replica-lag"
    assert (await alert_of(api, alert["id"]))["status"] == "ACCEPTED"
    status, _ = await enqueue(api, {**ack, "event_action": "resolve"})
    assert status == 202
    assert (await alert_of(api, alert["id"]))["status"] == "RESOLVED"


async def test_a_trigger_without_dedup_key_is_answered_the_key_it_got(api: Api) -> None:
    source = await make_source(api)
    body = trigger(source["integrationKey"], dedup_key=None)
    body["payload"]["severity"] = "warning"
    status, answer = await enqueue(api, body)
    assert status == 202 and len(answer["dedup_key"]) == 32, answer
    await api.settle()
    _, alerts = await api.call("GET", "/api/alerts")
    assert [a["alertKey"] for a in alerts] == [answer["dedup_key"]]
    assert alerts[0]["priority"] == "LOW"
    resolve = {
        "routing_key": source["integrationKey"],
        "event_action": "resolve",
        "dedup_key": answer["dedup_key"],
    }
    assert (await enqueue(api, resolve))[0] == 202
    assert (await alert_of(api, alerts[0]["id"]))["status"] == "RESOLVED"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"routing_key": None}, "routing_key"),
        ({"event_action": "explode"}, "event_action"),
        ({"payload": None}, "payload"),
        ({"payload": {"source": "x", "severity": "info"}}, "payload.summary"),
        ({"payload": {"summary": "x", "source": " ", "severity": "info"}}, "payload.source"),
        ({"payload": {"summary": "x", "source": "y"}}, "payload.severity"),
        ({"payload": {"summary": "x", "source": "y", "severity": "high"}}, "payload.severity"),
        ({"event_action": "resolve", "dedup_key": None}, "dedup_key"),
        ({"dedup_key": "k" * 256}, "dedup_key"),
        ({"links": [{"text": "no href"}]}, "links[0].href"),
    ],
)
async def test_an_invalid_event_is_400_in_pagerdutys_shape(
    api: Api, change: dict[str, Any], field: str
) -> None:
    source = await make_source(api)
    head = await api.runtime.store.head_position()
    body = {
        k: v for k, v in {**trigger(source["integrationKey"]), **change}.items() if v is not None
    }
    status, answer = await enqueue(api, body)
    assert status == 400, answer
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert answer["errors"][0].startswith(f"{field}:"), answer
    assert await api.runtime.store.head_position() == head


async def test_not_json_and_an_unknown_key_answer_in_pagerdutys_shape(api: Api) -> None:
    status, answer = await api.call("POST", ENQUEUE, data=b"{nope", key=None)
    assert status == 400 and answer["errors"][0].startswith("body:"), answer
    status, answer = await enqueue(api, trigger("no-such-key"))
    assert status == 404 and answer["errors"][0].startswith("routing_key:"), answer


async def test_every_inbound_path_shares_the_keys_rate_limit(api: Api) -> None:
    """ilert's 50 events a minute per alert-source key, whichever path they come by."""
    source = await make_source(api)
    key = source["integrationKey"]
    event = {"integrationKey": key, "eventType": "ALERT", "summary": "x"}
    for _ in range(20):
        assert (await api.call("POST", "/api/events", json=event, key=None))[0] == 202
    for _ in range(15):
        status, _ = await api.call(
            "POST", f"/api/v1/events/prometheus/{key}", json=group(), key=None
        )
        assert status == 202
    for _ in range(15):
        assert (await enqueue(api, trigger(key)))[0] == 202
    status, throttled = await enqueue(api, trigger(key))
    assert status == 429 and throttled["status"] == "throttle event", throttled
    status, problem = await api.call(
        "POST", f"/api/events/prometheus/{key}", json=group(), key=None
    )
    assert status == 429 and problem["code"] == "TOO_MANY_REQUESTS"
    assert (await api.call("POST", "/api/events", json=event, key=None))[0] == 429


V1 = "/generic/2010-04-15/create_event.json"


async def test_events_api_v1_triggers_acknowledges_and_resolves(api: Api) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    body = {
        "service_key": key,
        "event_type": "trigger",
        "incident_key": "srv/disk",
        "description": "disk full on srv-1",
        "details": {"free": "0%"},
        "client": "Nagios",
        "client_url": "https://nagios.example",
        "contexts": [
            {"type": "link", "href": "https://wiki.example/disk", "text": "runbook"},
            {"type": "image", "src": "https://graphs.example/disk.png"},
        ],
    }
    status, answer = await api.call("POST", V1, json=body, key=None)
    assert status == 200, answer
    assert answer == {"status": "success", "message": "Event processed", "incident_key": "srv/disk"}
    await api.settle()
    _, alerts = await api.call("GET", "/api/alerts")
    alert = await alert_of(api, alerts[0]["id"])
    assert alert["summary"] == "disk full on srv-1" and alert["alertKey"] == "srv/disk"
    assert alert["customDetails"] == {"free": "0%"} and "**free**: 0%" in alert["details"]
    assert alert["links"] == [
        {"href": "https://wiki.example/disk", "text": "runbook"},
        {"href": "https://nagios.example", "text": "Nagios"},
    ]
    assert alert["images"] == [{"src": "https://graphs.example/disk.png"}]
    for event_type, state in (("acknowledge", "ACCEPTED"), ("resolve", "RESOLVED")):
        change = {"service_key": key, "event_type": event_type, "incident_key": "srv/disk"}
        status, _ = await api.call("POST", V1, json=change, key=None)
        assert status == 200
        assert (await alert_of(api, alert["id"]))["status"] == state


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_type": "trigger", "description": "x"}, "service_key"),
        ({"service_key": "k", "event_type": "trigger"}, "description"),
        ({"service_key": "k", "event_type": "resolve"}, "incident_key"),
        (
            {"service_key": "no-such-key", "event_type": "trigger", "description": "x"},
            "service_key",
        ),
    ],
)
async def test_v1_refusals_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    status, answer = await api.call("POST", V1, json=body, key=None)
    assert status in (400, 404) and answer["status"] == "invalid event", answer
    assert answer["errors"][0].startswith(f"{field}:"), answer


async def test_a_body_over_the_size_limit_is_413(api: Api) -> None:
    huge = {"routing_key": "k", "event_action": "trigger", "pad": "x" * 2_000_000}
    status, _ = await enqueue(api, huge)
    assert status == 413
