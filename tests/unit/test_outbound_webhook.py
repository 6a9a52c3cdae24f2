"""The ilert-compatible webhook: body shape, template variables, headers and auth."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from ilertd.domain.alert_action import INCIDENT_TRIGGER_TYPES
from ilertd.outbound.payload import (
    EVENT_TEXT,
    EVENT_TYPES,
    MANUAL_EVENT_TYPE,
    build_webhook,
    template_variables,
    webhook_body,
)
from tests.unit.test_outbound_formats import ALERT_URL, JANE, make_alert

HOOK = "https://receiver.example.com/hook"


def build(alert: dict[str, Any] | None = None, **kwargs: Any):
    options: dict[str, Any] = {"body_template": None, "headers": []}
    options.update(kwargs)
    url = options.pop("url", HOOK)
    event_type = options.pop("event_type", "alert-auto-escalated")
    return build_webhook(url, alert or make_alert(), event_type, ALERT_URL, **options)


def test_event_types_follow_api_md() -> None:
    assert EVENT_TYPES == (
        "alert-created",
        "alert-assigned",
        "alert-auto-escalated",
        "alert-acknowledged",
        "alert-raised",
        "alert-comment-added",
        "alert-escalation-ended",
        "alert-resolved",
        "alert-auto-resolved",
        "alert-responder-added",
        "alert-responder-removed",
        "alert-channel-attached",
        "alert-channel-detached",
        "v-alert-not-resolved",
    )
    # plus ilertd's own type for a manual run of an action, and the incident events
    assert set(EVENT_TEXT) == {*EVENT_TYPES, MANUAL_EVENT_TYPE, *INCIDENT_TRIGGER_TYPES}
    assert EVENT_TEXT["alert-created"] == "Alert created"
    assert EVENT_TEXT["alert-acknowledged"] == "Alert accepted"


def test_webhook_body_matches_the_api_md_example() -> None:
    alert = make_alert(
        escalationPolicy=None,
        responders=[{"user": JANE, "status": "ACCEPTED"}],
    )
    for key in ("resolvedOn", "severity", "escalationPolicy", "images", "links", "labels"):
        del alert[key]
    body = webhook_body(alert, "alert-auto-escalated")
    assert body == {
        "id": "1698262673",
        "summary": "alert by source",
        "details": "alert details",
        "reportTime": "2023-10-25T19:37:53.833Z",
        "status": "ACCEPTED",
        "eventType": "alert-auto-escalated",
        "priority": "HIGH",
        "alertKey": "c4He8Qfa5Ysk",
        "alertSource": {"id": 2252825, "name": "E-Mail"},
        "assignedTo": JANE,
        "responders": [{"user": JANE, "status": "ACCEPTED"}],
    }
    assert list(body)[:7] == [
        "id",
        "summary",
        "details",
        "reportTime",
        "status",
        "eventType",
        "priority",
    ]


def test_webhook_body_keeps_every_field_and_does_not_mutate() -> None:
    alert = make_alert(eventType="stale")
    original = orjson.dumps(alert)
    body = webhook_body(alert, "alert-created")
    assert orjson.dumps(alert) == original
    assert body == {**alert, "id": "1698262673", "eventType": "alert-created"}


def test_template_variables_are_exactly_the_documented_ones() -> None:
    assert template_variables(make_alert(), "alert-created", ALERT_URL) == {
        "alertId": 1698262673,
        "alertKey": "c4He8Qfa5Ysk",
        "alertSummary": "alert by source",
        "alertDetails": "alert details",
        "alertStatus": "ACCEPTED",
        "alertPriority": "HIGH",
        "alertUrl": ALERT_URL,
        "alertSourceId": 2252825,
        "alertSourceName": "E-Mail",
        "escalationPolicyId": 31,
        "escalationPolicyName": "Ops",
        "reportTime": "2023-10-25T19:37:53.833Z",
        "link": "https://grafana.example.com/d/1",
        "eventType": "alert-created",
    }


def test_template_variables_without_policy_or_links() -> None:
    variables = template_variables(
        make_alert(escalationPolicy=None, links=[]), "alert-resolved", ALERT_URL
    )
    assert variables["escalationPolicyId"] is None
    assert variables["escalationPolicyName"] is None
    assert variables["link"] == ""


def test_default_webhook_request() -> None:
    request = build()
    assert request.method == "POST" and request.url == HOOK
    assert request.headers == (("Content-Type", "application/json"),)
    assert orjson.loads(request.body) == webhook_body(make_alert(), "alert-auto-escalated")


def test_json_body_template_escapes_alert_text() -> None:
    alert = make_alert(summary='disk "full"\nback\\slash {{alertKey}}', details="tab\there")
    template = (
        ' {"text": "{{alertSummary}}", "d": "{{ alertDetails }}", "id": {{alertId}},'
        ' "missing": "{{nope}}", "link": "{{link}}"}'
    )
    request = build(alert, body_template=template)
    assert request.header("Content-Type") == "application/json"
    assert orjson.loads(request.body) == {
        "text": 'disk "full"\nback\\slash {{alertKey}}',
        "d": "tab\there",
        "id": 1698262673,
        "missing": "",
        "link": "https://grafana.example.com/d/1",
    }


def test_text_body_template_is_not_escaped() -> None:
    alert = make_alert(summary='say "hi"')
    request = build(alert, body_template="{{eventType}}: {{alertSummary}} <{{alertUrl}}>")
    assert request.header("Content-Type") == "text/plain; charset=utf-8"
    assert request.body == f'alert-auto-escalated: say "hi" <{ALERT_URL}>'.encode()


def test_blank_body_template_means_default_body() -> None:
    assert orjson.loads(build(body_template="  ").body)["eventType"] == "alert-auto-escalated"


def test_custom_headers_follow_content_type_and_may_replace_it() -> None:
    request = build(headers=[("X-Team", "ops"), ("X-Trace", "1")])
    assert request.headers == (
        ("Content-Type", "application/json"),
        ("X-Team", "ops"),
        ("X-Trace", "1"),
    )
    replaced = build(headers=[("content-type", "application/vnd.acme+json"), ("X-A", "b")])
    assert replaced.headers == (("content-type", "application/vnd.acme+json"), ("X-A", "b"))


def test_basic_auth_from_userinfo() -> None:
    request = build(url="https://bot%40acme:p%40ss%3Aw%2Frd%20x@receiver.example.com:8443/h?q=1")
    assert request.url == "https://receiver.example.com:8443/h?q=1"
    token = base64.b64encode(b"bot@acme:p@ss:w/rd x").decode()
    assert request.headers == (
        ("Content-Type", "application/json"),
        ("Authorization", f"Basic {token}"),
    )


def test_basic_auth_supports_utf8_and_an_explicit_header_wins() -> None:
    request = build(url="https://j%C3%BCrgen:pw@receiver.example.com/")
    assert (
        request.header("Authorization")
        == "Basic " + base64.b64encode("jürgen:pw".encode()).decode()
    )
    explicit = build(
        url="https://user:pw@receiver.example.com/", headers=[("Authorization", "Bearer t")]
    )
    assert explicit.headers == (("Content-Type", "application/json"), ("Authorization", "Bearer t"))
    assert explicit.url == "https://receiver.example.com/"


@pytest.mark.parametrize(
    "header",
    [
        ("X-A", "ok\r\nX-Injected: yes"),
        ("X-A", "ok\nmore"),
        ("X-A\r\nX-B", "v"),
        ("Bad Name", "v"),
    ],
)
def test_header_injection_is_rejected(header: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        build(headers=[header])


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        build(event_type="alert-deleted")
