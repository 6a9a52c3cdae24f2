"""Pure parts of the mapping: type names and field restoration, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.errors import UnknownEventTypeError
from eventstore.mapping import EventMapper, EventRegistry, kebab
from ilertd.domain.registry import build_registry
from ilertd.domain.user import User


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alert", "alert"),
        ("AlertSource", "alert-source"),
        ("APIKeyAdded", "api-key-added"),
        ("ApiKeyIssued", "api-key-issued"),
        ("Escalated2", "escalated2"),
    ],
)
def test_kebab(name: str, expected: str) -> None:
    assert kebab(name) == expected


def test_user_events_are_registered_with_stream_type() -> None:
    registry = build_registry()
    assert registry.stream_type(User) == "user"
    for name in ("user-registered", "user-api-key-issued", "user-api-key-revoked"):
        assert registry.knows(name)
    with pytest.raises(UnknownEventTypeError):
        registry.topic_of("user-teleported")


def test_round_trip_restores_datetimes_and_uuids() -> None:
    mapper = EventMapper(build_registry())
    user = User(username="a", email="a@x", role="USER")
    key_id = uuid.uuid4()
    user.issue_api_key(key_id, "hash", "label")
    rows = mapper.to_new_events(user.collect_events(), {"actor": "t"})
    assert [r.type for r in rows] == ["user-registered", "user-api-key-issued"]
    for version, row in enumerate(rows, start=1):
        stored = StoredEvent(user.id, version, build_registry().topic_of(row.type), row.data)
        event = mapper._mapper.to_domain_event(stored)
        assert isinstance(event.timestamp, datetime) and event.timestamp.tzinfo == UTC
        if version == 2:
            assert event.key_id == key_id


def test_duplicate_type_names_are_refused() -> None:
    registry = EventRegistry()
    registry.register(User)
    with pytest.raises(ValueError, match="already taken"):
        registry.register_event(User.ApiKeyRevoked, "user-registered")
