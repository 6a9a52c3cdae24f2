"""Paging into incidents without a database: the pure planning rules (an incident's
severity decides the urgency; a fake clock decides who is muted), what the pages and
change notices say, and the incident's subscriber and responder events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from ilertd.domain.errors import DomainError
from ilertd.domain.incident import Incident
from ilertd.notify.email_page import build_page_email
from ilertd.notify.incident_page import IncidentPage
from ilertd.notify.planning import Planned, decide, incident_priority
from projections.incident_people import describe_page
from projections.pager_incidents import change_text

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
USER = {"id": 4, "email": "ann@example.test", "muted_until": None, "deleted_at": None}
ACTOR = {"type": "user", "id": 7}


def rule(rule_id: int, method: str, delay: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "method": method,
        "target": extra.get("target", f"{method.lower()}-target"),
        "delay_min": delay,
        "priority_type": extra.get("priority_type", "HIGH_PRIORITY"),
        "update_type": extra.get("update_type"),
    }


RULES = [
    rule(1, "EMAIL"),
    rule(2, "SMS", 5),
    rule(3, "EMAIL", 1, priority_type="LOW_PRIORITY"),
]


@pytest.mark.parametrize(
    ("severity", "priority"), [(1, "HIGH"), (2, "HIGH"), (3, "LOW"), (5, "LOW")]
)
def test_sev1_and_sev2_page_with_high_urgency(severity: int, priority: str) -> None:
    assert incident_priority(severity) == priority


def test_an_incident_page_follows_the_alert_rules_for_its_urgency() -> None:
    high = decide("INCIDENT", incident_priority(1), USER, RULES, NOW, "topic-")
    assert high.plans == (
        Planned("EMAIL", "email-target", 0, 1),
        Planned("SMS", "sms-target", 5, 2),
    )
    low = decide("INCIDENT", incident_priority(4), USER, RULES, NOW, "topic-")
    assert low.plans == (Planned("EMAIL", "email-target", 1, 3),)


def test_a_muted_user_is_skipped_until_the_clock_passes_the_mute() -> None:
    muted = {**USER, "muted_until": NOW + timedelta(minutes=30)}
    assert "muted until" in (decide("INCIDENT", "HIGH", muted, RULES, NOW, "t").skipped or "")
    later = NOW + timedelta(minutes=31)
    assert decide("INCIDENT", "HIGH", muted, RULES, later, "t").skipped is None


def test_a_change_follows_only_the_updates_rules_of_its_type() -> None:
    rules = [
        rule(5, "EMAIL", update_type="INCIDENT_STATUS_CHANGED"),
        rule(6, "SMS", update_type="INCIDENT_STATUS_UPDATE_POSTED"),
    ]
    told = decide("INCIDENT_STATUS_CHANGED", "LOW", USER, rules, NOW, "t")
    assert told.plans == (Planned("EMAIL", "email-target", 0, 5),)
    none = decide("INCIDENT_SEVERITY_CHANGED", "LOW", USER, rules, NOW, "t")
    assert none.plans == () and "no updates rule" in (none.skipped or "")


def _page(**fields: Any) -> IncidentPage:
    base: dict[str, Any] = {
        "alert_id": 42,
        "summary": "Checkout\r\nis down",
        "details": "payments fail",
        "priority": "HIGH",
        "source_name": "INC-7",
        "alert_url": "https://ilertd.example.test/api/incidents/42",
        "links": {"join": "https://ilertd.example.test/r/abc.def"},
        "reference": "INC-7",
        "severity": 1,
        "status": "INVESTIGATING",
    }
    return IncidentPage(**{**base, **fields})


def test_a_page_names_the_incident_and_offers_a_join_link() -> None:
    page = _page()
    assert page.email_subject() == "[ilertd] Paged into INC-7 SEV1: Checkout is down"
    text = page.email_text()
    assert "Join: https://ilertd.example.test/r/abc.def" in text
    assert "Open the incident: https://ilertd.example.test/api/incidents/42" in text
    mail = message_from_bytes(
        build_page_email("ilertd <pager@example.test>", "ann@example.test", page).data,
        policy=policy.default,
    )
    html = mail.get_body(("html",)).get_content()
    assert "https://ilertd.example.test/r/abc.def" in html and "Open the incident" in html
    assert page.sms_text() == "[ilertd] Paged into INC-7 SEV1: Checkout is down"
    assert "Join it in ilertd" in page.voice_text() and "incident 7" in page.voice_text()


def test_a_change_says_what_changed_and_offers_nothing() -> None:
    update, details = change_text(
        "incident-status-update-posted", {"status": "MONITORING", "message": "fixed, watching"}
    )
    page = _page(links={}, update=update, details=details)
    assert page.email_subject() == (
        "[ilertd] INC-7 SEV1 status update posted (MONITORING): Checkout is down"
    )
    assert "fixed, watching" in page.email_text() and "/r/" not in page.email_text()
    assert change_text("incident-severity-changed", {"previous": 3, "severity": 1}) == (
        "severity changed from SEV3 to SEV1",
        "",
    )


def test_alert_actions_are_not_links_of_an_incident_page() -> None:
    with pytest.raises(ValueError, match="unknown link actions"):
        _page(links={"accept": "https://ilertd.example.test/r/abc.def"})


def test_the_timeline_names_the_channel_not_the_address() -> None:
    kind, text = describe_page(
        "alert-notifications-sent", {"user_id": 4, "method": "EMAIL", "target": "a@x.test"}
    )
    assert kind == "PAGE_SENT" and text == "Notified user 4 by EMAIL"
    kind, text = describe_page(
        "alert-notifications-failed",
        {"user_id": 4, "method": "SMS", "target": "+49151", "error": "down", "retry_at": None},
    )
    assert kind == "PAGE_FAILED" and "+49151" not in text and "giving up" in text


def test_subscribers_come_and_go_once_each() -> None:
    incident = Incident.declare(number=1, title="db down", actor=ACTOR)
    incident.subscribe(4, ACTOR)
    with pytest.raises(DomainError):
        incident.subscribe(4, ACTOR)
    incident.unsubscribe(4, ACTOR)
    with pytest.raises(DomainError):
        incident.unsubscribe(4, ACTOR)
    assert [type(e).__name__ for e in incident.collect_events()][1:] == [
        "SubscriberAdded",
        "SubscriberRemoved",
    ]


def test_a_responder_records_what_named_them() -> None:
    incident = Incident.declare(number=1, title="db down", actor=ACTOR)
    incident.add_responder(5, ACTOR, via="schedule", named=12)
    added = incident.collect_events()[-1]
    assert (added.via, added.named) == ("schedule", 12)  # type: ignore[attr-defined]
    incident.join(5, ACTOR)
    assert incident.responders == {5: "JOINED"}
