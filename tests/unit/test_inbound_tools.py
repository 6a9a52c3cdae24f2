"""The pure mappings of tool bodies to Events API events: Alertmanager's webhook
(ilertd.inbound.prometheus) and PagerDuty's Events API v2 and v1 (ilertd.inbound.pagerduty)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from ilertd.contract.events import (
    MAX_ALERT_KEY,
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_SUMMARY,
    EventType,
)
from ilertd.contract.pagerduty import PagerDutyEventRequest, PagerDutyV1EventRequest
from ilertd.contract.prometheus import AlertmanagerWebhook
from ilertd.domain.errors import InvalidValueError
from ilertd.inbound.pagerduty import event_from_pagerduty, event_from_pagerduty_v1
from ilertd.inbound.prometheus import event_from_alertmanager, group_alert_key

KEY = "il1prom0123456789"


def am_alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", **labels},
        "annotations": {},
        "startsAt": "2026-12-04T19:00:00Z",
        "generatorURL": "http://prom.example:9090/graph",
        "fingerprint": "abc",
    }


def webhook(**fields: Any) -> AlertmanagerWebhook:
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": "firing",
        "receiver": "ilert",
        "alerts": [am_alert()],
        **fields,
    }
    return msgspec.convert(body, AlertmanagerWebhook)


def test_a_firing_group_is_an_alert_keyed_by_its_group_key() -> None:
    event = event_from_alertmanager(webhook(), KEY)
    assert event.event_type is EventType.ALERT and event.integration_key == KEY
    assert event.alert_key == '{}:{alertname="DiskFull"}'
    assert event.summary == "DiskFull" and event.priority is None and event.routing_key is None
    assert "**[FIRING:1]**" in event.details and "receiver `ilert`" in event.details
    assert event.links == ({"href": "http://prom.example:9090/graph", "text": "DiskFull source"},)


def test_resolved_is_a_resolve_of_the_same_key() -> None:
    event = event_from_alertmanager(webhook(status="resolved"), KEY)
    assert event.event_type is EventType.RESOLVE
    assert event.alert_key == '{}:{alertname="DiskFull"}'


def test_summary_prefers_the_common_then_the_first_alerts_annotation() -> None:
    first = am_alert()
    first["annotations"] = {"summary": "  first's  "}
    assert event_from_alertmanager(webhook(alerts=[first]), KEY).summary == "first's"
    body = webhook(alerts=[first], commonAnnotations={"summary": "common"})
    assert event_from_alertmanager(body, KEY).summary == "common"
    empty = webhook(alerts=[], commonLabels={})
    assert event_from_alertmanager(empty, KEY).summary.startswith("Alertmanager group {}")
    long = webhook(commonAnnotations={"summary": "x" * 5000})
    assert len(event_from_alertmanager(long, KEY).summary) == MAX_SUMMARY


@pytest.mark.parametrize(
    ("severities", "common", "priority"),
    [
        (["critical"], None, "HIGH"),
        (["Error"], None, "HIGH"),
        (["high"], None, "HIGH"),
        (["warning"], None, "LOW"),
        (["info", "low"], None, "LOW"),
        (["warning", "critical"], None, "HIGH"),  # the highest of the firing alerts
        (["page"], None, None),  # unknown: the source's own rule
        ([None], None, None),
        (["critical"], "warning", "LOW"),  # the common label wins
    ],
)
def test_priority_from_the_severity_label(
    severities: list[str | None], common: str | None, priority: str | None
) -> None:
    alerts = [am_alert(**({"severity": s} if s else {})) for s in severities]
    body = webhook(alerts=alerts, commonLabels={"severity": common} if common else {})
    assert event_from_alertmanager(body, KEY).priority == priority


def test_resolved_alerts_of_a_firing_group_do_not_set_its_priority() -> None:
    alerts = [am_alert("resolved", severity="critical"), am_alert(severity="info")]
    assert event_from_alertmanager(webhook(alerts=alerts), KEY).priority == "LOW"


def test_the_routing_label_routes() -> None:
    common = webhook(commonLabels={"ilert_routingkey": " db "})
    assert event_from_alertmanager(common, KEY).routing_key == "db"
    first = webhook(alerts=[am_alert(ilert_routingkey="web")])
    assert event_from_alertmanager(first, KEY).routing_key == "web"


def test_a_long_group_key_is_hashed_stably() -> None:
    long = "{}:" + "x" * MAX_ALERT_KEY
    assert group_alert_key(long) == group_alert_key(long)
    assert group_alert_key(long).startswith("alertmanager:") and len(group_alert_key(long)) < 100
    assert group_alert_key(" short ") == "short"


def test_what_is_over_the_alerts_limits_is_cut_not_refused() -> None:
    labels = {f"k{n:03}": "v" * 2000 for n in range(MAX_LABELS + 20)}
    many = [
        {**am_alert(), "annotations": {"description": "d" * 2000}, "generatorURL": f"ftp://{n}"}
        for n in range(200)
    ]
    event = event_from_alertmanager(webhook(commonLabels=labels, alerts=many), KEY)
    assert len(event.labels) == MAX_LABELS
    assert all(len(value) == MAX_LABEL_VALUE for value in event.labels.values())
    assert len(event.details) <= MAX_DETAILS
    assert event.links == ()  # not http(s): left out
    # the group's own fields alone are over the customDetails limit: what identifies it
    assert event.custom_details == {"status": "firing", "groupKey": '{}:{alertname="DiskFull"}'}
    details = event_from_alertmanager(webhook(alerts=many), KEY).custom_details
    assert details is not None and len(orjson.dumps(details)) <= MAX_CUSTOM_DETAILS_BYTES
    assert 0 < len(details["alerts"]) < 200
    assert details["alertsOmitted"] + len(details["alerts"]) == 200


KEY_PD = "il1pd0123456789"


def pd(**fields: Any) -> PagerDutyEventRequest:
    body = {
        "routing_key": KEY_PD,
        "event_action": "trigger",
        "payload": {"summary": "lag", "source": "db-2", "severity": "error"},
        **fields,
    }
    return msgspec.convert(body, PagerDutyEventRequest)


def test_a_trigger_is_an_alert() -> None:
    event = event_from_pagerduty(pd(dedup_key=" k-1 "), "generated")
    assert event.event_type is EventType.ALERT and event.alert_key == "k-1"
    assert event.summary == "lag" and event.priority == "HIGH"
    assert event.labels == {"source": "db-2", "severity": "error"}
    assert event.integration_key == KEY_PD and event.custom_details is None


def test_a_trigger_without_a_dedup_key_gets_the_new_one() -> None:
    assert event_from_pagerduty(pd(), "generated").alert_key == "generated"


@pytest.mark.parametrize(
    ("action", "event_type"),
    [("acknowledge", EventType.ACCEPT), ("resolve", EventType.RESOLVE)],
)
def test_acknowledge_accepts_and_resolve_resolves(action: str, event_type: EventType) -> None:
    event = event_from_pagerduty(pd(event_action=action, dedup_key="k", payload=None), "g")
    assert event.event_type is event_type and event.alert_key == "k"
    with pytest.raises(InvalidValueError) as caught:
        event_from_pagerduty(pd(event_action=action, dedup_key=" "), "g")
    assert caught.value.field == "dedup_key"


@pytest.mark.parametrize(
    ("severity", "priority"),
    [("critical", "HIGH"), ("error", "HIGH"), ("warning", "LOW"), ("info", "LOW")],
)
def test_severity_maps_to_priority(severity: str, priority: str) -> None:
    body = pd(payload={"summary": "s", "source": "x", "severity": severity})
    assert event_from_pagerduty(body, "g").priority == priority


def test_custom_details_are_kept_and_listed() -> None:
    payload = {"summary": "s", "source": "x", "severity": "info", "custom_details": {"a": [1]}}
    event = event_from_pagerduty(pd(payload=payload), "g")
    assert event.custom_details == {"a": [1]} and "**a**: [1]" in event.details
    payload["custom_details"] = "plain text"
    event = event_from_pagerduty(pd(payload=payload), "g")
    assert event.custom_details == {"details": "plain text"}
    payload["custom_details"] = {"big": "x" * MAX_CUSTOM_DETAILS_BYTES}
    with pytest.raises(InvalidValueError) as caught:
        event_from_pagerduty(pd(payload=payload), "g")
    assert caught.value.field == "payload.custom_details"


def test_links_and_images_keep_only_web_urls() -> None:
    body = pd(
        links=[{"href": "https://a.example", "text": "a"}, {"href": "javascript:alert(1)"}],
        images=[{"src": "https://i.example/x.png", "href": "file:///etc"}, {"src": "nope"}],
        client="Grafana",
        client_url="https://grafana.example",
    )
    event = event_from_pagerduty(body, "g")
    assert event.links == (
        {"href": "https://a.example", "text": "a"},
        {"href": "https://grafana.example", "text": "Grafana"},
    )
    assert event.images == ({"src": "https://i.example/x.png"},)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (None, "payload"),
        ({"source": "x", "severity": "info"}, "payload.summary"),
        ({"summary": "s", "source": "  ", "severity": "info"}, "payload.source"),
        ({"summary": "s", "source": "x"}, "payload.severity"),
    ],
)
def test_a_trigger_needs_summary_source_and_severity(
    payload: dict[str, Any] | None, field: str
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        event_from_pagerduty(pd(payload=payload), "g")
    assert caught.value.field == field


def pd_v1(**fields: Any) -> PagerDutyV1EventRequest:
    body = {"service_key": KEY_PD, "event_type": "trigger", "description": " disk full ", **fields}
    return msgspec.convert(body, PagerDutyV1EventRequest)


def test_a_v1_trigger_is_an_alert_without_a_priority() -> None:
    event = event_from_pagerduty_v1(pd_v1(details="raw text"), "generated")
    assert event.event_type is EventType.ALERT and event.alert_key == "generated"
    assert event.summary == "disk full" and event.priority is None
    assert event.custom_details == {"details": "raw text"} and event.details == "raw text"


def test_v1_contexts_without_a_web_url_are_left_out() -> None:
    contexts = [
        {"type": "link", "href": "https://a.example"},
        {"type": "link"},
        {"type": "image", "src": "https://i.example/x.png", "alt": "x"},
        {"type": "image", "src": "data:image/png;base64,AAAA"},
    ]
    event = event_from_pagerduty_v1(pd_v1(contexts=contexts), "g")
    assert event.links == ({"href": "https://a.example"},)
    assert event.images == ({"src": "https://i.example/x.png", "alt": "x"},)


def test_v1_acknowledge_and_resolve_need_the_incident_key() -> None:
    event = event_from_pagerduty_v1(pd_v1(event_type="resolve", incident_key="k"), "g")
    assert event.event_type is EventType.RESOLVE and event.alert_key == "k"
    for body, field in (
        (pd_v1(event_type="acknowledge"), "incident_key"),
        (pd_v1(description="  "), "description"),
    ):
        with pytest.raises(InvalidValueError) as caught:
            event_from_pagerduty_v1(body, "g")
        assert caught.value.field == field
