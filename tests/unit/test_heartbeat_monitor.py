"""The heartbeat rules with a fake clock: when a timer's moment is overdue, a checkpoint or
nothing; the state the API shows; which pings the events record; new key on a new interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.heartbeat_monitor import (
    Due,
    HeartbeatMonitor,
    HeartbeatState,
    decide,
    legacy_stream_id,
    state_at,
)

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_overdue_only_when_even_the_newest_ping_is_an_interval_old() -> None:
    assert decide(now=at(60), recorded=T0, latest=None, interval_s=60) is Due.OVERDUE
    assert decide(now=at(59), recorded=T0, latest=None, interval_s=60) is Due.NOTHING
    assert decide(now=at(60), recorded=T0, latest=at(30), interval_s=60) is Due.CHECKPOINT
    assert decide(now=at(95), recorded=T0, latest=at(30), interval_s=60) is Due.OVERDUE
    # a written ping older than the recorded one (a checkpoint took it already)
    assert decide(now=at(30), recorded=T0, latest=at(-5), interval_s=60) is Due.NOTHING
    assert decide(now=at(999), recorded=None, latest=at(1), interval_s=60) is Due.NOTHING


def test_state_is_unknown_until_the_first_ping_then_healthy_then_overdue() -> None:
    assert state_at(T0, None, False, 60) is HeartbeatState.UNKNOWN
    assert state_at(at(59), T0, False, 60) is HeartbeatState.HEALTHY
    assert state_at(at(60), T0, False, 60) is HeartbeatState.OVERDUE  # before the timer
    assert state_at(at(1), T0, True, 60) is HeartbeatState.OVERDUE


def test_only_state_changes_need_an_event() -> None:
    monitor = HeartbeatMonitor.create(name="job", interval_s=60, alert_source_id=7)
    assert monitor.needs_ping_event()
    monitor.ping(T0)
    assert not monitor.needs_ping_event()
    with pytest.raises(DomainError):
        monitor.ping(at(10))
    monitor.checkpoint(at(50))
    assert monitor.last_ping_at == at(50)
    monitor.go_overdue(at(110), alert_opened=True)
    with pytest.raises(DomainError):
        monitor.go_overdue(at(111), alert_opened=True)  # once per overdue period
    assert monitor.needs_ping_event() and monitor.alert_open
    monitor.ping(at(120))
    assert not monitor.overdue and not monitor.alert_open
    types = [type(e).__name__ for e in monitor.collect_events()]
    assert types == ["Created", "Pinged", "Pinged", "WentOverdue", "Pinged"]


def test_a_new_interval_issues_a_new_key_and_restarts_the_clock() -> None:
    monitor = HeartbeatMonitor.create(name="job", interval_s=60)
    key = monitor.integration_key
    monitor.ping(T0)
    monitor.update(name="job", interval_s=60, alert_summary="renamed")
    assert monitor.integration_key == key and monitor.last_ping_at == T0
    monitor.update(name="job", interval_s=120, alert_summary="renamed")
    assert monitor.integration_key != key and monitor.last_ping_at is None


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": "x", "interval_s": 24}, "intervalSec"),
        ({"name": "x", "interval_s": 2_678_401}, "intervalSec"),
        ({"name": "x", "interval_s": True}, "intervalSec"),
        ({"name": "", "interval_s": 30}, "name"),
        ({"name": "x", "interval_s": 30, "alert_source_id": 0}, "alertSource.id"),
    ],
)
def test_bad_settings_name_their_field(settings: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        HeartbeatMonitor.create(**settings)
    assert raised.value.field == field


def test_a_legacy_source_has_one_monitor_stream() -> None:
    first = HeartbeatMonitor.for_legacy_source(42, "cron")
    again = HeartbeatMonitor.for_legacy_source(42, "cron")
    assert first.id == again.id == legacy_stream_id(42)
    assert first.integration_key is None and first.alert_source_id == 42
