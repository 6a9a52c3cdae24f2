"""The maintenance window's rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.maintenance_window import (
    MaintenanceSuppression,
    MaintenanceWindow,
    Span,
    active_in,
    check_settings,
    is_active,
)

GOOD = {"summary": " upgrade ", "start": "2026-06-01T10:00:00Z", "end": "2026-06-01T12:00Z"}
T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)


def test_settings_are_canonical() -> None:
    settings = check_settings(**GOOD, alert_sources=[3, 1, 3], services=(2,))
    assert settings == {
        "summary": "upgrade",
        "description": "",
        "timezone": "UTC",
        "start": "2026-06-01T10:00:00.000Z",
        "end": "2026-06-01T12:00:00.000Z",
        "alert_sources": [3, 1],
        "services": [2],
        "notifications": {"at_creation": False, "at_start": False, "at_end": False},
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": ""}, "summary"),
        ({"summary": "a\x07b"}, "summary"),
        ({"summary": "x" * 256}, "summary"),
        ({"description": 3}, "description"),
        ({"end": GOOD["start"]}, "end"),
        ({"end": "2026-06-01T09:00Z"}, "end"),
        ({"start": "2026-06-01"}, "start"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"alert_sources": [0]}, "alertSources[0].id"),
        ({"alert_sources": [True]}, "alertSources[0].id"),
        ({"alert_sources": list(range(1, 52))}, "alertSources"),
        ({"services": [1, "2"]}, "services[1].id"),
        ({"notifications": {"at_end": 1}}, "notifications.atEnd"),
    ],
)
def test_bad_values_name_their_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        check_settings(**{**GOOD, **change})
    assert caught.value.field == field


def test_wall_clock_times_follow_the_zone_across_dst() -> None:
    naive = check_settings(summary="x", start="2026-06-01T10:00", end="2026-06-01T11:00")
    assert naive["start"] == "2026-06-01T10:00:00.000Z"  # UTC by default
    winter = check_settings(
        summary="x", start="2026-03-29T01:30", end="2026-03-29T03:30", timezone="Europe/Berlin"
    )
    assert (winter["start"], winter["end"]) == (
        "2026-03-29T00:30:00.000Z",
        "2026-03-29T01:30:00.000Z",
    )
    repeated = check_settings(
        summary="x", start="2026-10-25T02:30", end="2026-10-25T03:30", timezone="Europe/Berlin"
    )
    assert repeated["start"] == "2026-10-25T00:30:00.000Z"  # the first 02:30 (CEST)
    assert repeated["end"] == "2026-10-25T02:30:00.000Z"


def test_active_from_start_until_before_end() -> None:
    end = T0 + timedelta(hours=1)
    assert not is_active(T0, end, T0 - timedelta(microseconds=1))
    assert is_active(T0, end, T0)
    assert is_active(T0, end, end - timedelta(microseconds=1))
    assert not is_active(T0, end, end)


def test_active_in_picks_the_earliest_started_window() -> None:
    later = Span(7, "later", T0 + timedelta(minutes=5), T0 + timedelta(hours=2))
    first = Span(9, "first", T0, T0 + timedelta(hours=1))
    upcoming = Span(3, "upcoming", T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert active_in([], T0) is None
    assert active_in([later, first, upcoming], T0 + timedelta(minutes=10)) == first
    assert active_in([later, first, upcoming], T0 + timedelta(minutes=90)) == later
    assert active_in([later, first, upcoming], T0 + timedelta(hours=3)) is None


def test_a_put_that_changes_nothing_records_nothing_and_a_deleted_window_refuses() -> None:
    window = MaintenanceWindow.create(created_by=4, **GOOD)
    window.collect_events()
    window.update(**GOOD)
    assert window.collect_events() == []
    window.update(**{**GOOD, "summary": "other"})
    assert [type(e).__name__ for e in window.collect_events()] == ["Updated"]
    assert window.settings["summary"] == "other" and window.created_by == 4
    window.delete()
    with pytest.raises(DomainError):
        window.update(**GOOD)
    with pytest.raises(DomainError):
        window.delete()


def test_a_bad_create_records_nothing() -> None:
    with pytest.raises(InvalidValueError):
        MaintenanceWindow.create(created_by=None, **{**GOOD, "end": GOOD["start"]})


def test_a_suppression_keeps_what_came_in() -> None:
    held = MaintenanceSuppression(
        window_id=5, source_id=2, alert_key="disk", summary="full", via="events-api"
    )
    assert (held.window_id, held.source_id, held.alert_key) == (5, 2, "disk")
