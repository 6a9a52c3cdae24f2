"""Alert rules, without a database."""

from __future__ import annotations

import uuid

import pytest

from ilertd.domain.alert import (
    Alert,
    AlertStatus,
    Priority,
    keyed_alert_id,
    normalize_key,
)
from ilertd.domain.errors import DomainError

USER = {"type": "user", "id": 7}
SOURCE = {"type": "source", "id": 3}


def new_alert(priority: str = "HIGH", **overrides: object) -> Alert:
    fields: dict = {
        "source_id": 3,
        "summary": "disk full",
        "details": "",
        "priority": priority,
        "severity": None,
        "alert_key": "host-1/disk",
        "generation": 0,
        "escalation_policy_id": None,
        "routing_key": None,
        "images": [],
        "links": [],
        "labels": {"env": "prod"},
        "custom_details": None,
        "responders": [7],
        "actor": SOURCE,
    }
    fields.update(overrides)
    return Alert(**fields)


def test_lifecycle_pending_accepted_resolved_never_reopens() -> None:
    alert = new_alert()
    assert alert.status is AlertStatus.PENDING
    assert alert.accept(USER, user_id=7)
    assert alert.status is AlertStatus.ACCEPTED and alert.responders == {7: "ACCEPTED"}
    assert alert.accept(USER) is False  # accepting twice is not a second event
    alert.resolve(USER)
    assert alert.status is AlertStatus.RESOLVED
    for command in (
        lambda: alert.accept(USER),
        lambda: alert.resolve(USER),
        lambda: alert.add_event("x", "", [], [], {}, None, SOURCE),
        lambda: alert.escalate(1, USER),
        lambda: alert.raise_priority(USER),
        lambda: alert.add_responder(8, USER),
    ):
        with pytest.raises(DomainError, match="resolved"):
            command()
    names = [type(e).__name__ for e in alert.collect_events()]
    assert names == ["Created", "Accepted", "Resolved"]


def test_dedup_events_merge_labels_and_count() -> None:
    alert = new_alert()
    alert.add_event(
        "disk full", "95%", [], [{"href": "http://x"}], {"host": "h1"}, {"a": 1}, SOURCE
    )
    assert alert.events_received == 2
    assert alert.details == "95%" and alert.labels == {"env": "prod", "host": "h1"}
    assert alert.links == [{"href": "http://x"}] and alert.custom_details == {"a": 1}


def test_raise_priority_only_from_low() -> None:
    alert = new_alert(priority="LOW")
    alert.raise_priority(USER)
    assert alert.priority is Priority.HIGH
    with pytest.raises(DomainError, match="already"):
        alert.raise_priority(USER)


def test_reroute_needs_exactly_one_target_and_resets_escalation() -> None:
    alert = new_alert()
    alert.escalate(1, {"type": "system"}, responders=[9])
    with pytest.raises(DomainError, match="exactly one"):
        alert.reroute(USER)
    with pytest.raises(DomainError, match="exactly one"):
        alert.reroute(USER, user_id=1, policy_id=2)
    alert.accept(USER)
    alert.reroute(USER, policy_id=5)
    assert alert.escalation_policy_id == 5 and alert.escalation_level == 0
    assert alert.status is AlertStatus.PENDING and alert.responders == {}
    alert.reroute(USER, user_id=4)
    assert alert.responders == {4: "PENDING"} and alert.escalation_policy_id is None


def test_accepted_alert_does_not_escalate() -> None:
    alert = new_alert()
    alert.escalate(1, {"type": "system"})
    assert alert.escalation_level == 1
    alert.accept(USER)
    with pytest.raises(DomainError, match="accepted"):
        alert.escalate(2, {"type": "system"})


def test_responders_and_channels() -> None:
    alert = new_alert()
    alert.add_responder(8, USER)
    with pytest.raises(DomainError, match="already"):
        alert.add_responder(8, USER)
    alert.remove_responder(8, USER)
    with pytest.raises(DomainError, match="not a responder"):
        alert.remove_responder(8, USER)
    alert.attach_channel("c1", "SLACK", "#ops", "https://chat.example/ops", USER)
    with pytest.raises(DomainError):
        alert.attach_channel("c1", "SLACK", "#ops", "https://chat.example/ops", USER)
    alert.detach_channel("c1", USER)
    assert alert.channels == {}
    with pytest.raises(DomainError):
        alert.detach_channel("c1", USER)


def test_empty_comment_is_refused() -> None:
    alert = new_alert()
    with pytest.raises(DomainError):
        alert.comment("   ", USER)
    alert.comment("looking", USER)
    assert type(alert.collect_events()[-1]).__name__ == "Commented"


def test_keyed_ids_are_stable_trimmed_and_case_insensitive() -> None:
    source = uuid.uuid4()
    assert normalize_key("  Host-1/Disk ") == "host-1/disk"
    first = keyed_alert_id(source, "Host-1/Disk", 0)
    assert first == keyed_alert_id(source, " host-1/disk", 0)
    assert first != keyed_alert_id(source, "host-1/disk", 1)
    assert first != keyed_alert_id(uuid.uuid4(), "host-1/disk", 0)
    alert = new_alert(id=first)
    assert alert.id == first
