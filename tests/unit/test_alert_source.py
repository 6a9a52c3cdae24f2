"""AlertSource aggregate rules and the ISO-8601 duration parser/formatter."""

from __future__ import annotations

import pytest

from ilertd.domain.alert_source import AlertSource, generate_integration_key
from ilertd.domain.durations import DurationError, format_duration, parse_duration
from ilertd.domain.errors import DomainError, InvalidValueError


def event_names(source: AlertSource) -> list[str]:
    return [type(e).__name__ for e in source.collect_events()]


def test_defaults_and_normalisation() -> None:
    source = AlertSource.create(name="  Prod API  ")
    assert source.settings == {
        "name": "Prod API",
        "integration_type": "API",
        "escalation_policy_id": None,
        "alert_creation": "ONE_OPEN_ALERT_ALLOWED",
        "alert_grouping_window_s": None,
        "alert_priority_rule": "HIGH",
        "auto_resolution_timeout_s": None,
        "active": True,
        "teams": [],
        "support_hours_id": None,
        "templates": {},
    }
    assert not source.deleted
    assert event_names(source) == ["Created"]


def test_open_integration_type_and_case_insensitive_enums() -> None:
    source = AlertSource.create(
        name="x",
        integration_type="new_tool_2026",
        alert_creation="one_alert_per_email",
        alert_priority_rule="low_during_support_hours",
        support_hours_id=1,
    )
    assert source.integration_type == "NEW_TOOL_2026"
    assert source.alert_creation == "ONE_ALERT_PER_EMAIL"
    assert source.alert_priority_rule == "LOW_DURING_SUPPORT_HOURS"


def test_legacy_incident_creation_names_map_to_alert_ones() -> None:
    source = AlertSource.create(name="x", alert_creation="ONE_PENDING_INCIDENT_ALLOWED")
    assert source.alert_creation == "ONE_PENDING_ALERT_ALLOWED"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "x", "integration_type": "has space"}, "integrationType"),
        ({"name": "x", "integration_type": "9LIVES"}, "integrationType"),
        ({"name": "x", "integration_type": "A" * 65}, "integrationType"),
        ({"name": "x", "integration_type": 3}, "integrationType"),
        ({"name": "x", "alert_creation": "ONE_ALERT_EVER"}, "alertCreation"),
        ({"name": "x", "alert_creation": 1}, "alertCreation"),
        ({"name": "x", "alert_priority_rule": "MEDIUM"}, "alertPriorityRule"),
        ({"name": "x", "alert_creation": "ONE_ALERT_GROUPED_PER_WINDOW"}, "alertGroupingWindow"),
        ({"name": "x", "alert_grouping_window_s": 0}, "alertGroupingWindow"),
        ({"name": "x", "alert_grouping_window_s": True}, "alertGroupingWindow"),
        ({"name": "x", "auto_resolution_timeout_s": -5}, "autoResolutionTimeout"),
        ({"name": "x", "auto_resolution_timeout_s": 400 * 86_400}, "autoResolutionTimeout"),
        ({"name": "x", "auto_resolution_timeout_s": 1.5}, "autoResolutionTimeout"),
        ({"name": "x", "escalation_policy_id": 0}, "escalationPolicy"),
        ({"name": "x", "escalation_policy_id": "7"}, "escalationPolicy"),
        ({"name": "x", "escalation_policy_id": 2**63}, "escalationPolicy"),
        ({"name": "x", "active": "yes"}, "active"),
        ({"name": "x", "active": None}, "active"),
    ],
)
def test_bad_settings_name_their_field(settings: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        AlertSource.create(**settings)
    assert info.value.field == field


def test_grouping_window_rule_passes_with_a_window() -> None:
    source = AlertSource.create(
        name="x", alert_creation="ONE_ALERT_GROUPED_PER_WINDOW", alert_grouping_window_s=300
    )
    assert source.alert_grouping_window_s == 300


def test_update_replaces_everything_and_keeps_the_key() -> None:
    source = AlertSource.create(name="a", escalation_policy_id=7, auto_resolution_timeout_s=60)
    key = source.integration_key
    source.update(name="b", integration_type="GRAFANA", active=False)
    assert source.name == "b" and source.integration_type == "GRAFANA" and not source.active
    assert source.escalation_policy_id is None and source.auto_resolution_timeout_s is None
    assert source.integration_key == key
    assert event_names(source) == ["Created", "Updated"]


def test_update_without_a_change_records_nothing() -> None:
    source = AlertSource.create(name="a", auto_resolution_timeout_s=60)
    source.collect_events()
    source.update(name=" a ", auto_resolution_timeout_s=60)
    assert event_names(source) == []


def test_bad_update_records_nothing_and_changes_nothing() -> None:
    source = AlertSource.create(name="a")
    source.collect_events()
    with pytest.raises(InvalidValueError):
        source.update(name="b", alert_priority_rule="NOPE")
    assert source.name == "a" and event_names(source) == []


def test_regenerated_key_differs() -> None:
    source = AlertSource.create(name="a")
    old = source.integration_key
    source.regenerate_key()
    assert source.integration_key != old
    assert event_names(source) == ["Created", "KeyRegenerated"]


def test_deleted_source_refuses_every_command() -> None:
    source = AlertSource.create(name="a")
    source.delete()
    assert source.deleted
    for command in (source.delete, source.regenerate_key, lambda: source.update(name="b")):
        with pytest.raises(DomainError):
            command()
    assert event_names(source) == ["Created", "Deleted"]


def test_replay_rebuilds_the_same_state() -> None:
    source = AlertSource.create(name="a")
    source.update(name="b", alert_priority_rule="LOW")
    source.regenerate_key()
    events = source.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.settings == source.settings
    assert replayed.integration_key == source.integration_key


def test_integration_keys_are_long_random_hex() -> None:
    keys = {generate_integration_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        assert len(key) == 40 and int(key, 16) >= 0  # 160 bits
    # Every hex digit shows up at every position across 1000 keys: no fixed parts.
    for position in range(40):
        assert len({key[position] for key in keys}) == 16


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT5M", 300),
        ("PT2H", 7200),
        ("PT24H", 86_400),
        ("P1D", 86_400),
        ("P1DT12H", 129_600),
        ("P1W", 604_800),
        ("PT1H30M15S", 5415),
        ("PT90M", 5400),
        ("PT0S", 0),
        ("pt10m", 600),
        (" PT30S ", 30),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "5M",
        "PT5",
        "P1M",
        "P1Y",
        "PT1.5S",
        "-PT5M",
        "PT5M3H",
        "PTM",
        "x" * 65,
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_parse_duration_refuses_non_strings() -> None:
    with pytest.raises(DurationError):
        parse_duration(300)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "PT0S"),
        (30, "PT30S"),
        (300, "PT5M"),
        (3600, "PT1H"),
        (5400, "PT1H30M"),
        (86_400, "PT24H"),
        (90_061, "PT25H1M1S"),
    ],
)
def test_format_duration_as_ilert(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_format_refuses_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)
