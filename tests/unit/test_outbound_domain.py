"""Pure rules of connectors, alert actions, delivery chains, event-type mapping and the
retry backoff (no database)."""

from __future__ import annotations

import random
from uuid import uuid4

import pytest

from ilertd.domain.action_delivery import ActionDelivery, chain_id, delivery_id
from ilertd.domain.alert_action import TRIGGER_TYPES, AlertAction
from ilertd.domain.connector import Connector, public_params
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.outbound.dispatcher import backoff
from ilertd.outbound.event_types import TRIGGERING_EVENTS, webhook_event_type


def hook(**fields):
    settings = {
        "name": "siem",
        "connector_type": "webhook",
        "params": {"webhookUrl": "https://siem.example/in"},
    }
    return AlertAction.create(**{**settings, **fields})


def test_connector_credentials_are_kept_unless_replaced_or_cleared() -> None:
    connector = Connector.create(
        name="jira", connector_type="jira", params={"url": "https://x.test", "password": "s1"}
    )
    assert public_params(connector.params) == {"url": "https://x.test"}
    connector.update(name="jira", connector_type="jira", params={"url": "https://x.test"})
    assert connector.params["password"] == "s1"
    assert not connector.collect_events()[1:]  # nothing changed: no event
    connector.update(name="jira", connector_type="jira", params={"password": ""})
    assert "password" not in connector.params and "url" not in connector.params


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"url": "ftp://x"}, "params.url"),
        ({"url": 3}, "params.url"),
        ({"bad name!": "x"}, "params"),
        ("nope", "params"),
    ],
)
def test_connector_rejects_bad_params(params, field) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Connector.create(name="c", connector_type="webhook", params=params)
    assert caught.value.field == field


def test_action_defaults_and_the_virtual_trigger() -> None:
    action = hook()
    assert action.settings["trigger_types"] == list(TRIGGER_TYPES[:-1])
    assert action.settings["trigger_mode"] == "AUTOMATIC"
    assert len(action.signing_secret) == 64
    reminder = hook(trigger_types=["alert-created"], not_resolved_delay_s=60)
    assert reminder.settings["trigger_types"] == ["alert-created", "v-alert-not-resolved"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"connector_type": "pagerduty"}, "connectorType"),
        ({"params": {}}, "params.webhookUrl"),
        ({"trigger_types": ["alert-exploded"]}, "triggerTypes[0]"),
        ({"trigger_types": ["v-alert-not-resolved"]}, "notResolvedDelaySec"),
        ({"conditions": 'priority == "HIGH" and'}, "conditions"),
        ({"escalation_ended_delay_s": 7201}, "escalationEndedDelaySec"),
        ({"alert_source_ids": [0]}, "alertSources[0].id"),
        ({"trigger_mode": "SOMETIMES"}, "triggerMode"),
        ({"connector_type": "jira", "params": {"project": "OPS"}}, "connectorId"),
        ({"connector_type": "email", "params": {"recipients": ["no-at"]}}, "params.recipients[0]"),
        (
            {
                "params": {
                    "webhookUrl": "https://x.test",
                    "headers": [{"key": "Host", "value": "y"}],
                }
            },
            "params.headers[0].key",
        ),
    ],
)
def test_action_rules_name_the_field(fields, field) -> None:
    with pytest.raises(InvalidValueError) as caught:
        hook(**fields)
    assert caught.value.field == field


def test_action_update_records_only_changes_and_deleted_refuses() -> None:
    action = hook()
    action.collect_events()
    action.update(
        name="siem", connector_type="webhook", params={"webhookUrl": "https://siem.example/in"}
    )
    assert action.collect_events() == []
    action.update(name="other", connector_type="webhook", params={"webhookUrl": "https://x.test"})
    assert len(action.collect_events()) == 1
    action.delete()
    with pytest.raises(DomainError):
        action.update(name="x", connector_type="webhook", params={"webhookUrl": "https://x.test"})


def test_a_chain_retries_only_dead_letters_and_keeps_the_first_external_ref() -> None:
    chain = ActionDelivery(alert_id=7, alert_stream=uuid4(), action_id=3)
    first = delivery_id(10, 3)
    chain.succeed(first, "jira (jira)", "alert-created", 1, 201, "{}", "OPS-1")
    chain.succeed(delivery_id(11, 3), "jira (jira)", "alert-resolved", 1, 201, "{}", "OPS-2")
    assert chain.external_ref == "OPS-1"
    with pytest.raises(DomainError):
        chain.request_retry(first, {"type": "user", "id": 1})
    chain.fail(delivery_id(12, 3), "jira (jira)", "alert-resolved", 8, "HTTP 500", 500, None)
    chain.request_retry(delivery_id(12, 3), {"type": "user", "id": 1})
    assert chain.dead == set()


def test_chain_ids_are_stable_and_lanes_separate() -> None:
    stream = uuid4()
    assert chain_id(stream, 3) == chain_id(stream, 3)
    assert chain_id(stream, 3) != chain_id(stream, 3, "open") != chain_id(stream, 4)


@pytest.mark.parametrize(
    ("stored", "data", "expected"),
    [
        ("alert-created", {}, "alert-created"),
        ("alert-accepted", {}, "alert-acknowledged"),
        ("alert-rerouted", {}, "alert-assigned"),
        ("alert-escalated", {"level": 1}, "alert-auto-escalated"),
        ("alert-escalated", {"level": 0, "round": 1}, "alert-auto-escalated"),
        ("alert-escalated", {"level": 0, "round": 0}, None),
        ("alert-resolved", {"reason": "USER"}, "alert-resolved"),
        ("alert-resolved", {"reason": "AUTO_RESOLVE"}, "alert-auto-resolved"),
        ("alert-priority-raised", {}, "alert-raised"),
        ("alert-commented", {}, "alert-comment-added"),
        ("alert-event-received", {}, None),
    ],
)
def test_event_types_map_as_api_md_says(stored, data, expected) -> None:
    assert webhook_event_type(stored, data) == expected
    assert (stored in TRIGGERING_EVENTS) == (stored != "alert-event-received")


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        delay = backoff(attempt, 2.0, 60.0, rng)
        nominal = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert nominal / 2 <= delay <= nominal
