"""The Service aggregate's settings and the pure status and uptime rules: worst wins, one
timeline of overlapping intervals, outages, and uptime percentages (hypothesis checks them
against a minute-by-minute count)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilertd.contract.common import OPTIONAL_TRIMMED_PATTERN
from ilertd.contract.services import DESCRIPTION_PATTERN
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.service import (
    DOWN,
    Interval,
    Segment,
    Service,
    ServiceStatus,
    checked_settings,
    outages,
    timeline,
    uptime,
    uptime_percentage,
    worst_status,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
STATUSES = [s.value for s in ServiceStatus if s is not ServiceStatus.OPERATIONAL]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- worst wins ----------------------------------------------------------------------------


def test_worst_wins_in_the_documented_order() -> None:
    order = ["MAJOR_OUTAGE", "PARTIAL_OUTAGE", "DEGRADED", "UNDER_MAINTENANCE", "OPERATIONAL"]
    for index, status in enumerate(order):
        assert worst_status(order[index:]) == status
    assert worst_status([]) == "OPERATIONAL"
    assert worst_status(["NOT_A_STATUS", "DEGRADED"]) == "DEGRADED"


@given(st.lists(st.sampled_from([s.value for s in ServiceStatus])))
def test_worst_does_not_depend_on_order(statuses: list[str]) -> None:
    assert worst_status(statuses) == worst_status(reversed(statuses))
    assert worst_status(statuses) == worst_status([*statuses, "OPERATIONAL"])


# --- timelines -----------------------------------------------------------------------------


def test_a_timeline_merges_overlaps_worst_first() -> None:
    intervals = [
        Interval("DEGRADED", at(10), None),
        Interval("MAJOR_OUTAGE", at(20), at(30)),
        Interval("DEGRADED", at(0), at(15)),
    ]
    assert timeline(intervals, at(0), at(60)) == [
        Segment(ServiceStatus.DEGRADED, at(0), at(20)),
        Segment(ServiceStatus.MAJOR_OUTAGE, at(20), at(30)),
        Segment(ServiceStatus.DEGRADED, at(30), None),  # still going on
    ]
    assert outages(intervals, at(0), at(60)) == [
        Segment(ServiceStatus.MAJOR_OUTAGE, at(20), at(30))
    ]


def test_an_outage_beyond_the_range_is_clipped_and_an_open_one_has_no_end() -> None:
    closed = [Interval("PARTIAL_OUTAGE", at(-10), at(100))]
    assert outages(closed, at(0), at(60)) == [Segment(ServiceStatus.PARTIAL_OUTAGE, at(0), at(60))]
    open_one = [Interval("PARTIAL_OUTAGE", at(-10), None)]
    assert outages(open_one, at(0), at(60)) == [Segment(ServiceStatus.PARTIAL_OUTAGE, at(0), None)]
    assert outages(open_one, at(0), at(0)) == []


def test_a_partial_outage_turning_major_is_two_outages() -> None:
    intervals = [
        Interval("PARTIAL_OUTAGE", at(0), at(10)),
        Interval("MAJOR_OUTAGE", at(10), at(20)),
    ]
    assert [s.status for s in outages(intervals, at(0), at(30))] == [
        "PARTIAL_OUTAGE",
        "MAJOR_OUTAGE",
    ]


#: intervals in minutes from T0: (status, since, length or None for open)
interval_lists = st.lists(
    st.tuples(
        st.sampled_from(STATUSES),
        st.integers(-30, 120),
        st.one_of(st.none(), st.integers(0, 90)),
    ),
    max_size=6,
)


def _intervals(raw: list[tuple[str, int, int | None]]) -> list[Interval]:
    return [
        Interval(status, at(since), None if length is None else at(since + length))
        for status, since, length in raw
    ]


def _in_force(intervals: list[Interval], moment: datetime) -> str:
    return worst_status(
        i.status for i in intervals if i.since <= moment and (i.until is None or moment < i.until)
    ).value


@settings(max_examples=300)
@given(interval_lists, st.integers(0, 60), st.integers(1, 60))
def test_a_timeline_is_the_worst_status_at_every_minute(
    raw: list[tuple[str, int, int | None]], start: int, length: int
) -> None:
    intervals = _intervals(raw)
    segments = timeline(intervals, at(start), at(start + length))
    # contiguous from start to end, neighbours differ
    assert segments[0].since == at(start)
    for before, after in pairwise(segments):
        assert before.until == after.since and before.status != after.status
    assert (segments[-1].until or at(start + length)) == at(start + length)
    for minute in range(start, start + length):
        moment = at(minute)
        segment = next(s for s in segments if s.since <= moment < (s.until or at(start + length)))
        assert segment.status == _in_force(intervals, moment)


@settings(max_examples=300)
@given(interval_lists)
def test_uptime_counts_only_outages_as_down(raw: list[tuple[str, int, int | None]]) -> None:
    intervals = _intervals(raw)
    end = at(120)
    # a one-day window, minute by minute (every boundary is a whole minute)
    down = sum(_in_force(intervals, end - timedelta(minutes=m + 1)) in DOWN for m in range(1440))
    exact = 100 * (1440 - down) / 1440
    percent = uptime_percentage(intervals, end, 1)
    assert percent <= exact < percent + 0.001 + 1e-9
    assert (percent == 100) == (down == 0)


def test_degraded_and_maintenance_are_not_downtime() -> None:
    intervals = [
        Interval("DEGRADED", at(0), at(600)),
        Interval("UNDER_MAINTENANCE", at(600), None),
    ]
    figures = uptime(intervals, at(1440))
    assert figures.outages == []
    assert figures.percentages == {"p90": 100, "p60": 100, "p30": 100}


def test_uptime_over_90_60_and_30_days() -> None:
    now = at(0)
    # one hour of major outage 45 days ago: inside 90 and 60, outside 30
    hour = Interval("MAJOR_OUTAGE", now - timedelta(days=45), now - timedelta(days=45, hours=-1))
    figures = uptime([hour], now)
    assert figures.range_start == now - timedelta(days=90) and figures.range_end == now
    assert figures.percentages["p30"] == 100
    assert figures.percentages["p60"] == 99.93  # 1 - 1/1440 = 99.9305...
    assert figures.percentages["p90"] == 99.953  # 1 - 1/2160 = 99.9537...
    assert [(o.status, o.since) for o in figures.outages] == [("MAJOR_OUTAGE", hour.since)]


# --- the aggregate -------------------------------------------------------------------------


def test_settings_are_normalised_with_defaults() -> None:
    assert checked_settings(name=" Shop ", alias=" ", teams=[3, 1, 3]) == {
        "name": "Shop",
        "alias": None,
        "description": None,
        "teams": [1, 3],
        "one_open_incident_only": False,
        "show_uptime_history": True,
    }


@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a", "alias": 1}, "alias"),
        ({"name": "a", "alias": "x" * 256}, "alias"),
        ({"name": "a", "description": "x" * 4097}, "description"),
        ({"name": "a", "description": "a\x07"}, "description"),
        ({"name": "a", "one_open_incident_only": "true"}, "oneOpenIncidentOnly"),
        ({"name": "a", "show_uptime_history": 0}, "showUptimeHistory"),
        ({"name": "a", "teams": [0]}, "teams[0].id"),
    ],
)
def test_bad_settings_name_the_field(settings_: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        checked_settings(**settings_)
    assert caught.value.field == field


def test_an_update_that_changes_nothing_records_nothing_and_a_deleted_one_refuses() -> None:
    service = Service.create(name="Shop", description="the shop")
    service.collect_events()
    service.update(name=" Shop", description="the shop ")
    assert service.collect_events() == []
    service.update(name="Store", description="the shop")
    assert [type(e).__name__ for e in service.collect_events()] == ["Updated"]
    service.delete()
    with pytest.raises(DomainError):
        service.update(name="Again")


# --- the document's patterns say what the domain takes ------------------------------------

TEXTS = ["", " ", "a", " a b ", "a\tb", "a\nb", "\ta\r\n", "a\x01b", "a\x00", "\x1ca\x1c"]
TEXTS += ["a\x1cb", "a\x0bb", "\x85a\x85", "\ufeffa", "a\x7f", "é"]


def _takes(field: str, text: str) -> bool:
    try:
        checked_settings(name="a", **{field: text})
    except InvalidValueError:
        return False
    return True


@pytest.mark.parametrize("text", TEXTS)
def test_alias_and_description_patterns_match_the_domain(text: str) -> None:
    assert (re.search(OPTIONAL_TRIMMED_PATTERN, text) is not None) == _takes("alias", text)
    assert (re.search(DESCRIPTION_PATTERN, text) is not None) == _takes("description", text)
