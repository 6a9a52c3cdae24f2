"""Alertmanager's webhook body over HTTP (``/api/v1/events/prometheus/{key}``), on real
PostgreSQL: one alert per group, the mapped fields, dedup, resolve, routing, 400s."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api
from .test_events_api import make_source

PATHS = ("/api/v1/events/prometheus", "/api/events/prometheus")


def group(status: str = "firing", **fields: Any) -> dict[str, Any]:
    """A version 4 body as Alertmanager 0.25 sends it, two alerts in the group."""
    labels = {"alertname": "HighLatency", "job": "api", "severity": "critical"}
    return {
        "receiver": "ilert",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "instance": f"web-{n}:9100"},
                "annotations": {"summary": f"p99 over 2s on web-{n}"},
                "startsAt": "2026-12-04T19:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=latency{n}",
                "fingerprint": f"f00{n}",
            }
            for n in (1, 2)
        ],
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        **fields,
    }


async def post(api: Api, key: str, body: Any, path: str = PATHS[0], **kw: Any) -> tuple[int, Any]:
    return await api.call("POST", f"{path}/{key}", json=body, key=None, **kw)


async def alert_of(api: Api, alert_id: int) -> dict[str, Any]:
    await api.settle()
    status, alert = await api.call("GET", f"/api/alerts/{alert_id}?include=customDetails")
    assert status == 200, alert
    return alert


@pytest.mark.parametrize("path", PATHS)
async def test_a_group_opens_one_alert_and_resolved_resolves_it(api: Api, path: str) -> None:
    source = await make_source(api, integrationType="PROMETHEUS")
    key = source["integrationKey"]
    status, first = await post(api, key, group(), path)
    assert status == 202 and first["responseCode"] == "NEW_ALERT_CREATED", first
    assert first["alertKey"] == '{}:{alertname="HighLatency"}'
    alert = await alert_of(api, first["alertId"])
    assert alert["summary"] == "p99 over 2s on web-1"
    assert alert["priority"] == "HIGH" and alert["status"] == "PENDING"
    assert alert["labels"] == {"alertname": "HighLatency", "job": "api", "severity": "critical"}
    assert "web-1:9100" in alert["details"] and "web-2:9100" in alert["details"]
    assert "[FIRING:2]" in alert["details"]
    assert [link["href"] for link in alert["links"]] == [
        "http://prometheus.example:9090/graph?g0.expr=latency1",
        "http://prometheus.example:9090/graph?g0.expr=latency2",
        "http://alertmanager.example:9093",
    ]
    details = alert["customDetails"]
    assert details["receiver"] == "ilert" and details["groupKey"] == first["alertKey"]
    assert [a["fingerprint"] for a in details["alerts"]] == ["f001", "f002"]
    assert details["alerts"][0]["labels"]["instance"] == "web-1:9100"
    # Alertmanager's re-notification of the open group joins its alert
    status, again = await post(api, key, group(), path)
    assert status == 202 and again["responseCode"] == "ALERT_ALREADY_EXISTS"
    assert again["alertId"] == first["alertId"]
    assert (await alert_of(api, first["alertId"]))["eventsReceived"] == 2
    status, resolved = await post(api, key, group("resolved"), path)
    assert status == 202 and resolved["responseCode"] == "ALERT_RESOLVED", resolved
    assert (await alert_of(api, first["alertId"]))["status"] == "RESOLVED"
    # the group firing again later is a new alert: a resolved one never reopens
    status, fresh = await post(api, key, group(), path)
    assert fresh["responseCode"] == "NEW_ALERT_CREATED" and fresh["alertId"] != first["alertId"]


async def test_summary_priority_and_routing_come_from_labels(api: Api) -> None:
    status, alice = await api.call(
        "POST", "/api/users", json={"email": "a@example.test", "firstName": "A", "lastName": "B"}
    )
    assert status == 201
    rules = [{"escalationTimeout": 5, "users": [{"id": alice["id"]}]}]
    status, routed = await api.call(
        "POST",
        "/api/escalation-policies",
        json={"name": "db", "escalationRules": rules, "routingKey": "db-team"},
    )
    assert status == 201, routed
    source = await make_source(api)
    body = group(commonLabels={"alertname": "DiskFull", "ilert_routingkey": "db-team"})
    body["commonAnnotations"] = {}
    for alert in body["alerts"]:
        alert["annotations"] = {}
        alert["labels"] = {"alertname": "DiskFull", "severity": "warning"}
    status, answer = await post(api, source["integrationKey"], body)
    assert status == 202, answer
    alert = await alert_of(api, answer["alertId"])
    assert alert["summary"] == "DiskFull"  # no summary annotation: the alertname
    assert alert["priority"] == "LOW"  # the firing alerts' severity: warning
    assert alert["escalationPolicy"]["id"] == routed["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"groupKey": None}, "groupKey"),
        ({"groupKey": "  "}, "groupKey"),
        ({"status": "exploded"}, "status"),
        ({"alerts": "none"}, "alerts"),
        ({"alerts": [{"labels": {"a": 1}}]}, "alerts[0].labels"),
        ({"commonLabels": ["x"]}, "commonLabels"),
        ({"truncatedAlerts": -1}, "truncatedAlerts"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    source = await make_source(api)
    head = await api.runtime.store.head_position()
    body = {k: v for k, v in {**group(), **change}.items() if v is not None}
    status, problem = await post(api, source["integrationKey"], body)
    assert status == 400 and problem["field"] == field, problem
    assert await api.runtime.store.head_position() == head


async def test_an_unknown_key_is_404_and_not_json_is_400(api: Api) -> None:
    status, problem = await post(api, "no-such-key", group())
    assert status == 404 and problem["field"] == "integrationKey"
    status, problem = await api.call("POST", f"{PATHS[0]}/no-such-key", data=b"{nope", key=None)
    assert status == 400 and problem["field"] == "body"


async def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    source = await make_source(api)
    headers = {"Idempotency-Key": "am-1"}
    first = await post(api, source["integrationKey"], group(), headers=headers)
    head = await api.runtime.store.head_position()
    assert await post(api, source["integrationKey"], group(), headers=headers) == first
    assert await api.runtime.store.head_position() == head
    status, problem = await post(
        api, source["integrationKey"], group(receiver="other"), headers=headers
    )
    assert status == 422 and problem["field"] == "Idempotency-Key"


async def test_the_sources_templates_apply_over_the_mapping(api: Api) -> None:
    """The issue's "alertKey from groupKey, or the source's alertKeyTemplate": templates set
    on a PROMETHEUS source replace the mapped fields; a resolve finds the templated key."""
    source = await make_source(
        api,
        integrationType="PROMETHEUS",
        alertKeyTemplate={"textTemplate": "{{ commonLabels.alertname }}/{{ commonLabels.job }}"},
        summaryTemplate={"textTemplate": "{{ commonLabels.job }}: {{ alerts | length }} slow"},
        priorityTemplate={
            "valueTemplate": {"textTemplate": "{{ commonLabels.severity }}"},
            "mappings": [{"value": "critical", "priority": "LOW"}],
        },
    )
    key = source["integrationKey"]
    status, first = await post(api, key, group())
    assert status == 202 and first["responseCode"] == "NEW_ALERT_CREATED", first
    assert first["alertKey"] == "HighLatency/api"
    alert = await alert_of(api, first["alertId"])
    assert alert["summary"] == "api: 2 slow"
    assert alert["priority"] == "LOW"  # the mapping over the severity label's HIGH
    assert "web-1:9100" in alert["details"]  # no detailsTemplate: the mapping's details
    status, resolved = await post(api, key, group("resolved"))
    assert status == 202 and resolved["responseCode"] == "ALERT_RESOLVED", resolved
    assert resolved["alertId"] == first["alertId"]
    # a template that fails on this body names its field, and nothing is written
    status, _ = await api.call(
        "PUT",
        f"/api/alert-sources/{source['id']}",
        json={
            "name": "prom",
            "integrationType": "PROMETHEUS",
            "summaryTemplate": {"textTemplate": "{{ commonLabels.job + 1 }}"},
        },
    )
    assert status == 200
    await api.settle()
    status, problem = await post(api, key, group())
    assert status == 400 and problem["field"].startswith("summaryTemplate"), problem
