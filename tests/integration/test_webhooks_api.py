"""Tool webhooks over HTTP on real PostgreSQL: alert-source templates (each field, errors
at save and at render, the sandbox), the event filters, and Grafana's contact point."""

from __future__ import annotations

import copy
from typing import Any

from .conftest import Api

BASE = "/api/alert-sources"

TEMPLATES: dict[str, Any] = {
    "alertKeyTemplate": {"textTemplate": "{{ check.id }}"},
    "summaryTemplate": {"textTemplate": "{{ check.name }} is {{ state | upper }}"},
    "detailsTemplate": {"textTemplate": "Host {{ host }}, missing: '{{ nothing.here }}'"},
    "priorityTemplate": {
        "valueTemplate": {"textTemplate": "{{ level }}"},
        "mappings": [{"value": "crit", "priority": "HIGH"}, {"value": "warn", "priority": "LOW"}],
    },
    "linkTemplates": [
        {"text": "Check", "hrefTemplate": {"textTemplate": "https://mon.test/c/{{ check.id }}"}},
        {"text": "Runbook", "hrefTemplate": {"textTemplate": "{{ runbook }}"}},
    ],
    "eventFilter": "env != 'test'",
    "eventTypeFilterCreate": "state == 'down'",
    "eventTypeFilterAccept": "state == 'ack'",
    "eventTypeFilterResolve": "state in ['up', 'ok']",
}


def _path(source: dict[str, Any]) -> str:
    """The source's integrationUrl, as a path on the test server."""
    url = source["integrationUrl"]
    return url[url.index("/api/") :]


async def make_source(api: Api, integration_type: str, **fields: Any) -> dict[str, Any]:
    status, source = await api.call(
        "POST", BASE, json={"name": "tool", "integrationType": integration_type, **fields}
    )
    assert status == 201, source
    await api.settle()
    return source


async def post(api: Api, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
    return await api.call("POST", path, json=body, key=None, **kw)


async def alert(api: Api, alert_id: int) -> dict[str, Any]:
    await api.settle()
    status, body = await api.call("GET", f"/api/alerts/{alert_id}")
    assert status == 200, body
    return body


async def alert_count(api: Api) -> int:
    await api.settle()
    status, body = await api.call("GET", "/api/alerts/count")
    assert status == 200
    return int(body["count"])


def check(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "check": {"id": "C-1", "name": "web"},
        "state": state,
        "host": "h1",
        "level": "warn",
        "env": "prod",
        **extra,
    }


async def test_templates_are_stored_and_answered_by_include(api: Api) -> None:
    source = await make_source(api, "CUSTOM", **TEMPLATES)
    for field, value in TEMPLATES.items():
        assert source[field] == value, field  # a write answers them all
    assert source["integrationUrl"].endswith(f"/api/v1/events/custom/{source['integrationKey']}")
    status, plain = await api.call("GET", f"{BASE}/{source['id']}")
    assert status == 200 and not set(TEMPLATES) & set(plain)
    status, some = await api.call(
        "GET", f"{BASE}/{source['id']}?include=summaryTemplate,eventFilter&include=linkTemplates"
    )
    assert status == 200
    assert {f for f in TEMPLATES if f in some} == {
        "summaryTemplate",
        "eventFilter",
        "linkTemplates",
    }
    assert some["linkTemplates"] == TEMPLATES["linkTemplates"]
    status, listed = await api.call("GET", f"{BASE}?include=priorityTemplate")
    assert status == 200 and listed[0]["priorityTemplate"] == TEMPLATES["priorityTemplate"]
    # PUT replaces the whole source: templates left out are gone
    status, replaced = await api.call(
        "PUT",
        f"{BASE}/{source['id']}",
        json={"name": "tool", "integrationType": "CUSTOM", "eventFilter": "true"},
    )
    assert status == 200 and replaced["eventFilter"] == "true"
    assert "summaryTemplate" not in replaced


async def test_each_template_field_maps_a_webhook_body(api: Api) -> None:
    source = await make_source(api, "CUSTOM", **TEMPLATES)
    path = _path(source)
    assert path.startswith("/api/v1/events/custom/")
    status, opened = await post(api, path, check("down", runbook=""))
    assert status == 200 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    got = await alert(api, opened["alertId"])
    assert got["summary"] == "web is DOWN"
    assert got["details"] == "Host h1, missing: ''"
    assert got["alertKey"] == "C-1"
    assert got["priority"] == "LOW"
    # a blank link is left out, the other one kept with its text
    assert got["links"] == [{"href": "https://mon.test/c/C-1", "text": "Check"}]
    # the same key joins the open alert
    status, again = await post(api, path, check("down", level="crit"))
    assert status == 200 and again["responseCode"] == "ALERT_ALREADY_EXISTS"
    assert again["alertId"] == opened["alertId"]
    status, accepted = await post(api, path, check("ack"))
    assert accepted["responseCode"] == "ALERT_ACCEPTED"
    # eventFilter false, and a body no type filter takes: ignored, nothing written
    head = await api.runtime.store.head_position()
    status, dropped = await post(api, path, check("down", env="test"))
    assert status == 200 and dropped["responseCode"] == "EVENT_IGNORED"
    assert "eventFilter" in dropped["message"]
    status, other = await post(api, path, check("flapping"))
    assert other["responseCode"] == "EVENT_IGNORED" and "eventTypeFilterCreate" in other["message"]
    assert await api.runtime.store.head_position() == head
    # /api/events/... answers 202, as the Events API's new path
    status, resolved = await post(api, path.replace("/api/v1/", "/api/"), check("ok"))
    assert status == 202 and resolved["responseCode"] == "ALERT_RESOLVED"
    assert (await alert(api, opened["alertId"]))["status"] == "RESOLVED"


async def test_routing_template_picks_the_policy(api: Api) -> None:
    _, me = await api.call("GET", "/api/users/current")
    status, policy = await api.call(
        "POST",
        "/api/escalation-policies",
        json={
            "name": "db team",
            "routingKey": "db",
            "escalationRules": [{"escalationTimeout": 5, "users": [{"id": me["id"]}]}],
        },
    )
    assert status == 201, policy
    source = await make_source(api, "CUSTOM", routingTemplate={"textTemplate": "{{ team }}"})
    status, opened = await post(api, _path(source), {"summary": "slow", "team": "db"})
    assert status == 200 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    got = await alert(api, opened["alertId"])
    assert got["summary"] == "slow"  # no summaryTemplate: the body's own summary
    assert got["escalationPolicy"]["id"] == policy["id"]


async def test_template_errors_at_save_are_400_naming_the_field(api: Api) -> None:
    cases = [
        ({"summaryTemplate": {"textTemplate": "{{ x "}}, "summaryTemplate.textTemplate"),
        ({"eventFilter": "state =="}, "eventFilter"),
        ({"eventTypeFilterResolve": "a b"}, "eventTypeFilterResolve"),
        ({"detailsTemplate": {"textTemplate": "{{ ''.__class__ }}"}}, "detailsTemplate"),
        ({"alertKeyTemplate": {"textTemplate": "{{ x['__globals__'] }}"}}, "alertKeyTemplate"),
        ({"summaryTemplate": {"textTemplate": "{{ cycler.__init__ }}"}}, "summaryTemplate"),
        ({"summaryTemplate": {"textTemplate": "{{ x.items() }}"}}, "summaryTemplate"),
        ({"summaryTemplate": {"textTemplate": "{{ 'a' * 100000000 }}"}}, "summaryTemplate"),
        ({"detailsTemplate": {"textTemplate": "{% for i in range(9) %}{% endfor %}"}}, "detail"),
        ({"eventFilter": "x.__class__.__mro__"}, "eventFilter"),
        (
            {
                "linkTemplates": [
                    {"text": "a", "hrefTemplate": {"textTemplate": "{{ x|attr('y') }}"}}
                ]
            },
            "linkTemplates[0].hrefTemplate",
        ),
        (
            {
                "priorityTemplate": {
                    "valueTemplate": {"textTemplate": "{{ x }}"},
                    "mappings": [{"value": "a", "priority": "URGENT"}],
                }
            },
            "priorityTemplate.mappings[0].priority",
        ),
        ({"priorityTemplate": {"mappings": []}}, "priorityTemplate.valueTemplate"),
    ]
    head = await api.runtime.store.head_position()
    for fields, field in cases:
        status, body = await api.call(
            "POST", BASE, json={"name": "bad", "integrationType": "CUSTOM", **fields}
        )
        assert status == 400, (fields, body)
        assert body["field"].startswith(field), (fields, body)
    assert await api.runtime.store.head_position() == head
    # and on PUT
    source = await make_source(api, "CUSTOM")
    status, body = await api.call(
        "PUT",
        f"{BASE}/{source['id']}",
        json={"name": "x", "integrationType": "CUSTOM", "eventFilter": "{{ x }}"},
    )
    assert status == 400 and body["field"] == "eventFilter"


async def test_render_errors_at_event_time_are_400_naming_the_field(api: Api) -> None:
    source = await make_source(
        api,
        "CUSTOM",
        summaryTemplate={"textTemplate": "n={{ n + 'x' }}"},
        eventTypeFilterResolve="n > 'a'",
        linkTemplates=[{"text": "t", "hrefTemplate": {"textTemplate": "{{ url }}"}}],
    )
    path = _path(source)
    status, body = await post(api, path, {"n": 1})
    assert status == 400 and body["field"] == "eventTypeFilterResolve", body
    source2 = await make_source(
        api,
        "CUSTOM",
        summaryTemplate={"textTemplate": "n={{ n + 'x' }}"},
        linkTemplates=[{"text": "t", "hrefTemplate": {"textTemplate": "{{ url }}"}}],
    )
    status, body = await post(api, _path(source2), {"n": 1})
    assert status == 400 and body["field"] == "summaryTemplate", body
    source3 = await make_source(
        api,
        "CUSTOM",
        summaryTemplate={"textTemplate": "{{ what }}"},
        linkTemplates=[
            {"text": "ok", "hrefTemplate": {"textTemplate": "{{ nothing }}"}},
            {"text": "t", "hrefTemplate": {"textTemplate": "{{ url }}"}},
        ],
        eventTypeFilterAccept="what == 'ack'",
    )
    status, body = await post(api, _path(source3), {"what": "x", "url": "javascript:alert(1)"})
    assert status == 400 and body["field"] == "linkTemplates[1].hrefTemplate", body
    status, body = await post(api, _path(source3), {"what": "", "url": ""})
    assert status == 400 and body["field"] == "summaryTemplate", body  # renders blank
    status, body = await post(api, _path(source3), {"what": "ack"})
    assert status == 400 and body["field"] == "alertKeyTemplate", body  # nothing to accept
    assert await alert_count(api) == 0


async def test_sandbox_refuses_escapes_at_render(api: Api) -> None:
    """What the save-time check cannot see (a key computed from the body) the sandbox
    still refuses: an unsafe attribute renders as undefined, i.e. empty."""
    source = await make_source(
        api,
        "CUSTOM",
        summaryTemplate={"textTemplate": "x{{ obj[attr] }}{{ obj[attr][attr] }}"},
    )
    status, opened = await post(api, _path(source), {"obj": "s", "attr": "__class__"})
    assert status == 200 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    assert (await alert(api, opened["alertId"]))["summary"] == "x"


async def test_wrong_type_or_key_is_404_and_bad_json_400(api: Api) -> None:
    source = await make_source(api, "CUSTOM")
    key = source["integrationKey"]
    status, body = await post(api, f"/api/v1/events/other/{key}", {"a": 1})
    assert status == 404 and body["field"] == "type"
    status, body = await post(api, "/api/v1/events/custom/not-a-key", {"a": 1})
    assert status == 404 and body["field"] == "key"
    status, body = await post(api, f"/api/v1/events/custom/{key}", [1, 2])
    assert status == 400 and body["field"] == "body"
    # the same type in any case, as ilert's URLs use lower case
    status, body = await post(api, f"/api/v1/events/CUSTOM/{key}", {"summary": "s"})
    assert status == 200 and body["responseCode"] == "NEW_ALERT_CREATED"


async def test_idempotency_key_on_a_webhook(api: Api) -> None:
    source = await make_source(api, "CUSTOM")
    headers = {"Idempotency-Key": "retry-1"}
    status, first = await post(api, _path(source), {"summary": "s"}, headers=headers)
    assert status == 200 and first["responseCode"] == "NEW_ALERT_CREATED"
    status, again = await post(api, _path(source), {"summary": "s"}, headers=headers)
    assert again == first
    assert await alert_count(api) == 1


#: A Grafana unified alerting webhook notification, in the shape Grafana's documentation
#: of the webhook contact point gives (two alerts of one group, firing).
GRAFANA_FIRING: dict[str, Any] = {
    "receiver": "ilertd",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighCPU", "instance": "web-1", "severity": "critical"},
            "annotations": {"summary": "CPU above 90%", "description": "web-1 is busy"},
            "startsAt": "2026-12-04T18:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.test/alerting/grafana/abc/view?orgId=1",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana.test/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "https://grafana.test/d/dash1?orgId=1",
            "panelURL": "https://grafana.test/d/dash1?orgId=1&viewPanel=2",
            "values": {"B": 93.5, "C": 1},
            "valueString": "[ var='B' labels={instance=web-1} value=93.5 ]",
        },
        {
            "status": "firing",
            "labels": {"alertname": "HighCPU", "instance": "web-2", "severity": "critical"},
            "annotations": {"summary": "CPU above 90%"},
            "startsAt": "2026-12-04T18:00:30Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.test/alerting/grafana/abc/view?orgId=1",
            "fingerprint": "a1b2c3d4e5f60718",
            "silenceURL": "https://grafana.test/alerting/silence/new?alertmanager=grafana&b",
            "dashboardURL": "",
            "panelURL": "",
            "values": None,
            "valueString": "[ var='B' labels={instance=web-2} value=91 ]",
        },
    ],
    "groupLabels": {"alertname": "HighCPU"},
    "commonLabels": {"alertname": "HighCPU", "severity": "critical"},
    "commonAnnotations": {"summary": "CPU above 90%"},
    "externalURL": "https://grafana.test/",
    "version": "1",
    "groupKey": '{}/{__grafana_autogenerated__="true"}:{alertname="HighCPU"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:2] HighCPU (critical)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=93.5\nLabels:\n - alertname = HighCPU\n",
}


def grafana_resolved() -> dict[str, Any]:
    body = copy.deepcopy(GRAFANA_FIRING)
    body["status"], body["state"] = "resolved", "ok"
    body["title"] = "[RESOLVED] HighCPU (critical)"
    for item in body["alerts"]:
        item["status"], item["endsAt"] = "resolved", "2026-12-04T18:10:00Z"
    return body


async def test_grafana_firing_then_resolved(api: Api) -> None:
    source = await make_source(api, "GRAFANA")
    path = _path(source)
    assert path == f"/api/v1/events/grafana/{source['integrationKey']}"
    status, opened = await post(api, path, GRAFANA_FIRING)
    assert status == 200 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    got = await alert(api, opened["alertId"])
    assert got["summary"] == "[FIRING:2] HighCPU (critical)"
    assert got["details"].startswith("**Firing**")
    assert got["alertKey"] == GRAFANA_FIRING["groupKey"]
    assert got["priority"] == "HIGH"
    assert got["labels"] == {"alertname": "HighCPU", "severity": "critical"}
    assert [link["text"] for link in got["links"]] == [
        "Source",
        "Dashboard",
        "Panel",
        "Silence",
        "Silence",
    ]
    # Grafana's repeat notification joins the same alert
    status, again = await post(api, path.replace("/api/v1/", "/api/"), GRAFANA_FIRING)
    assert status == 202 and again["responseCode"] == "ALERT_ALREADY_EXISTS"
    assert again["alertId"] == opened["alertId"]
    status, resolved = await post(api, path, grafana_resolved())
    assert status == 200 and resolved["responseCode"] == "ALERT_RESOLVED"
    assert (await alert(api, opened["alertId"]))["status"] == "RESOLVED"
    assert await alert_count(api) == 1


async def test_grafana_takes_the_sources_templates_over_its_mapping(api: Api) -> None:
    source = await make_source(
        api,
        "GRAFANA",
        alertKeyTemplate={"textTemplate": "cpu-{{ commonLabels.alertname }}"},
        detailsTemplate={
            "textTemplate": "{{ alerts | length }} hosts: {{ commonAnnotations.summary }}"
        },
        linkTemplates=[
            {
                "text": "Runbook",
                "hrefTemplate": {"textTemplate": "https://wiki.test/{{ groupLabels.alertname }}"},
            }
        ],
    )
    path = _path(source)
    status, opened = await post(api, path, GRAFANA_FIRING)
    assert status == 200 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    got = await alert(api, opened["alertId"])
    assert got["alertKey"] == "cpu-HighCPU"
    assert got["summary"] == "[FIRING:2] HighCPU (critical)"  # no summaryTemplate: Grafana's
    assert got["details"] == "2 hosts: CPU above 90%"
    assert got["links"][0] == {"href": "https://wiki.test/HighCPU", "text": "Runbook"}
    assert [link["text"] for link in got["links"][1:]][:1] == ["Source"]
    status, resolved = await post(api, path, grafana_resolved())
    assert status == 200 and resolved["responseCode"] == "ALERT_RESOLVED", resolved
    assert resolved["alertId"] == opened["alertId"]


async def test_grafana_bad_bodies_name_the_field(api: Api) -> None:
    source = await make_source(api, "GRAFANA")
    path = _path(source)
    cases = [
        ({**GRAFANA_FIRING, "status": "weird"}, "status"),
        ({k: v for k, v in GRAFANA_FIRING.items() if k != "groupKey"}, "groupKey"),
        ({**GRAFANA_FIRING, "alerts": "nope"}, "alerts"),
        ({**GRAFANA_FIRING, "commonLabels": {"a": 1}}, "commonLabels"),
    ]
    for body, field in cases:
        status, answer = await post(api, path, body)
        assert status == 400 and answer["field"].startswith(field), (field, answer)
    assert await alert_count(api) == 0
