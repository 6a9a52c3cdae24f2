"""Incident rules and the number counter, without a database."""

from __future__ import annotations

import uuid

import pytest

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.incident import (
    NUMBERS_ID,
    Incident,
    IncidentNumbers,
    IncidentStatus,
    checked_severity,
)
from ilertd.domain.registry import build_registry

USER = {"type": "user", "id": 7}


def new_incident(**fields: object) -> Incident:
    return Incident.declare(number=fields.pop("number", 1), title="db down", actor=USER, **fields)


def kinds(incident: Incident) -> list[str]:
    return [type(e).__name__ for e in incident.collect_events()]


def test_declared_with_defaults() -> None:
    incident = new_incident()
    assert incident.reference == "INC-1"
    assert incident.status is IncidentStatus.DECLARED and incident.severity == 3
    assert kinds(incident) == ["Declared"]


@pytest.mark.parametrize("value", ["SEV0", "SEV6", 0, 6, True, "high", None])
def test_severity_must_be_sev1_to_sev5(value: object) -> None:
    with pytest.raises(InvalidValueError) as error:
        checked_severity(value)
    assert error.value.field == "severity"


def test_severity_names_and_numbers() -> None:
    assert checked_severity("SEV1") == 1 and checked_severity("sev5") == 5
    assert checked_severity(2) == 2


def test_title_is_required() -> None:
    with pytest.raises(InvalidValueError) as error:
        Incident.declare(number=1, title="  ", actor=USER)
    assert error.value.field == "title"


def test_status_moves_in_any_order_and_resolved_is_final_until_reopened() -> None:
    incident = new_incident()
    incident.collect_events()
    assert incident.set_status("MONITORING", USER)
    assert incident.set_status("INVESTIGATING", USER)
    assert not incident.set_status("INVESTIGATING", USER)  # nothing to record
    incident.set_status("RESOLVED", USER)
    assert kinds(incident) == ["StatusChanged", "StatusChanged", "Resolved"]
    for command in (
        lambda: incident.set_status("IDENTIFIED", USER),
        lambda: incident.change(actor=USER, severity=1),
        lambda: incident.add_responder(8, USER),
        lambda: incident.link_alert(5, uuid.uuid4(), USER),
        lambda: incident.resolve(USER),
    ):
        with pytest.raises(DomainError):
            command()
    incident.comment("post-mortem on Monday", USER)  # comments still go
    incident.reopen(USER)
    assert incident.status is IncidentStatus.INVESTIGATING
    with pytest.raises(DomainError):
        incident.reopen(USER)


def test_declared_is_only_the_start() -> None:
    incident = new_incident()
    incident.set_status("IDENTIFIED", USER)
    with pytest.raises(InvalidValueError):
        incident.set_status("DECLARED", USER)


def test_change_records_only_what_changed() -> None:
    incident = new_incident()
    incident.collect_events()
    incident.change(actor=USER, title="db down", summary="", severity=3)
    assert kinds(incident) == []
    incident.change(actor=USER, title="db slow", severity="SEV2")
    assert kinds(incident) == ["TitleChanged", "SeverityChanged"]


def test_alerts_link_once() -> None:
    incident = new_incident()
    stream = uuid.uuid4()
    incident.link_alert(5, stream, USER)
    with pytest.raises(DomainError):
        incident.link_alert(5, stream, USER)
    incident.unlink_alert(5, USER)
    assert incident.alerts == {}
    with pytest.raises(DomainError):
        incident.unlink_alert(5, USER)


def test_responders_commander_and_join() -> None:
    incident = new_incident()
    with pytest.raises(DomainError):
        incident.set_commander(8, USER)  # not a responder
    incident.add_responder(8, USER)
    incident.set_commander(8, USER)
    with pytest.raises(DomainError):
        incident.add_responder(8, USER)
    incident.join(8, USER)
    assert incident.responders == {8: "JOINED"}
    with pytest.raises(DomainError):
        incident.join(8, USER)
    incident.remove_responder(8, USER)
    assert incident.commander is None


def test_affected_services_record_set_and_removed_impacts() -> None:
    incident = new_incident()
    incident.collect_events()
    incident.affect_services({1: "DEGRADED", 2: "MAJOR_OUTAGE"}, USER)
    incident.affect_services({1: "MAJOR_OUTAGE"}, USER)
    assert kinds(incident) == [
        "ServiceAffected",
        "ServiceAffected",
        "ServiceUnaffected",
        "ServiceAffected",
    ]
    assert incident.services == {1: "MAJOR_OUTAGE"}
    with pytest.raises(InvalidValueError):
        incident.affect_services({1: "ON_FIRE"}, USER)


def test_a_resolved_status_update_does_not_resolve() -> None:
    incident = new_incident()
    incident.post_status_update(
        status="INVESTIGATING", message="looking", actor=USER, services={1: "DEGRADED"}
    )
    incident.post_status_update(status="RESOLVED", message="fixed", actor=USER)
    assert incident.status is IncidentStatus.DECLARED
    assert incident.public_services == {1: "DEGRADED"}  # kept: named by the previous one
    with pytest.raises(InvalidValueError) as error:
        incident.post_status_update(status="DECLARED", message="x", actor=USER)
    assert error.value.field == "status"
    with pytest.raises(InvalidValueError) as error:
        incident.post_status_update(status="MONITORING", message="  ", actor=USER)
    assert error.value.field == "message"


def test_numbers_count_up_from_one() -> None:
    numbers = IncidentNumbers.start()
    assert numbers.id == NUMBERS_ID
    assert [numbers.take(uuid.uuid4()) for _ in range(3)] == [1, 2, 3]


def test_stored_type_names() -> None:
    registry = build_registry()
    names = set(registry.types_of("incident"))
    for name in (
        "incident-declared",
        "incident-severity-changed",
        "incident-status-changed",
        "incident-resolved",
        "incident-reopened",
        "incident-alert-linked",
        "incident-responder-joined",
        "incident-commander-set",
        "incident-service-affected",
        "incident-status-update-posted",
    ):
        assert name in names
    assert "incident-numbers-taken" in registry.types_of("incident-numbers")
