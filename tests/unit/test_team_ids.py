"""The teams a resource belongs to, in the domain: checked ids, and events recorded before
resources had teams replaying as no team."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ilertd.domain.alert_source import AlertSource
from ilertd.domain.errors import InvalidValueError
from ilertd.domain.team_ids import MAX_TEAMS, checked_teams


def test_sorted_without_duplicates() -> None:
    assert checked_teams([5, 3, 5, 1]) == [1, 3, 5]
    assert checked_teams(()) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("1", "teams"),
        ({"id": 1}, "teams"),
        ([1, 0], "teams[1].id"),
        ([True], "teams[0].id"),
        ([2**63], "teams[0].id"),
        ([1] * (MAX_TEAMS + 1), "teams"),
    ],
)
def test_bad_teams_name_the_field(value: object, field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        checked_teams(value)
    assert caught.value.field == field


def test_a_source_of_no_team_changes_teams_by_update_only() -> None:
    source = AlertSource.create(name="x", teams=[7, 2])
    assert source.teams == [2, 7]
    source.collect_events()
    source.update(name="x", teams=[7, 2, 2])
    assert source.collect_events() == []  # the same teams: nothing recorded
    source.update(name="x", teams=[])
    assert source.teams == []


def test_an_event_recorded_before_teams_replays_as_no_team() -> None:
    # as the mapper rebuilds a stored event: its state as stored, no __init__
    created = object.__new__(AlertSource.Created)
    state = {
        "originator_id": uuid4(),
        "originator_version": 1,
        "timestamp": datetime.now(UTC),
        "originator_topic": "ilertd.domain.alert_source:AlertSource",
        "name": "old",
        "integration_type": "API",
        "integration_key": "k" * 40,
        "escalation_policy_id": None,
        "alert_creation": "ONE_OPEN_ALERT_ALLOWED",
        "alert_grouping_window_s": None,
        "alert_priority_rule": "HIGH",
        "auto_resolution_timeout_s": None,
        "active": True,
    }
    object.__setattr__(created, "__dict__", state)
    source = created.mutate(None)
    assert source is not None and source.teams == []
