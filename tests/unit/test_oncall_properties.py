"""On-call properties, and equality with a deliberately simple step-by-step reference.

The reference asks "who is on call at t?" for every 15-minute instant independently, using
the same documented rules (handoff k at local(starts_on) + k * rotation, wall-clock; local
times resolved with fold=0) but none of the production code's interval machinery.
All generated boundaries are whole quarter hours in UTC and every zone's offsets (and DST
shifts, including Lord_Howe's 30 minutes) are quarter hours, so a 15-minute step is exact.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilertd.oncall import Layer, Restriction, Rotation, Schedule, Shift, on_call_at, shifts

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
ROTATIONS = ["P1D", "P7D", "PT8H", "PT12H", "P2D"]
QUARTER = timedelta(minutes=15)
# Around DST changes in 2024 (EU, US, Lord_Howe both ways), and an ordinary day.
ANCHORS = [
    datetime(2024, m, d, tzinfo=UTC)
    for m, d in [(3, 10), (3, 31), (4, 7), (6, 1), (10, 6), (10, 27), (11, 3)]
]
FAST = settings(max_examples=60, deadline=None)


# --- the reference -------------------------------------------------------------------------


def ref_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def ref_local(t: datetime, zone: ZoneInfo) -> datetime:
    return t.astimezone(zone).replace(tzinfo=None)


def ref_in_restriction(r: Restriction, zone: ZoneInfo, t: datetime) -> bool:
    lt = ref_local(t, zone)
    monday = lt.date() - timedelta(days=lt.weekday())
    for weeks in (-1, 0, 1):
        week = monday + timedelta(weeks=weeks)
        opens = datetime.combine(week + timedelta(days=r.from_day), r.from_time)
        closes = datetime.combine(week + timedelta(days=r.to_day), r.to_time)
        if closes <= opens:
            closes += timedelta(days=7)
        if ref_utc(opens, zone) <= t < ref_utc(closes, zone):
            return True
    return False


def ref_layer_user(layer: Layer, zone: ZoneInfo, t: datetime) -> int | None:
    if t < layer.starts_on or (layer.ends_on is not None and t >= layer.ends_on):
        return None
    if layer.restrictions and not any(ref_in_restriction(r, zone, t) for r in layer.restrictions):
        return None
    origin, step = ref_local(layer.starts_on, zone), layer.rotation.delta
    k = max(0, (ref_local(t, zone) - origin) // step)
    while ref_utc(origin + (k + 1) * step, zone) <= t:
        k += 1
    while k > 0 and ref_utc(origin + k * step, zone) > t:
        k -= 1
    return layer.users[k % len(layer.users)]


def ref_user(schedule: Schedule, t: datetime, overrides: bool = True) -> int | None:
    if overrides:
        for shift in reversed(schedule.overrides):
            if shift.start <= t < shift.end:
                return shift.user_id
    if schedule.static_shifts is not None:
        for shift in reversed(schedule.static_shifts):
            if shift.start <= t < shift.end:
                return shift.user_id
        return None
    zone = ZoneInfo(schedule.timezone)
    for layer in reversed(schedule.layers):
        user = ref_layer_user(layer, zone, t)
        if user is not None:
            return user
    return None


def instants(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    return [start + i * step for i in range((end - start) // step)]


def users_by_step(result: list[Shift], times: list[datetime]) -> list[int | None]:
    """Who the computed shifts put on call at each instant (times sorted)."""
    out: list[int | None] = []
    i = 0
    for t in times:
        while i < len(result) and result[i].end <= t:
            i += 1
        out.append(result[i].user_id if i < len(result) and result[i].start <= t else None)
    return out


def assert_well_formed(result: list[Shift], start: datetime, end: datetime) -> None:
    for shift in result:
        assert start <= shift.start < shift.end <= end
    for a, b in itertools.pairwise(result):
        assert a.end <= b.start
        assert not (a.end == b.start and a.user_id == b.user_id), "unmerged neighbours"


# --- generated schedules -------------------------------------------------------------------


def quarters(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda n: n * QUARTER)


quarter_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
restrictions = st.builds(
    Restriction, st.integers(0, 6), quarter_times, st.integers(0, 6), quarter_times
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A schedule and a 10-30 day window, all boundaries on UTC quarter hours."""
    start = draw(st.sampled_from(ANCHORS)) + draw(quarters(-10 * 96, 0))
    end = start + draw(quarters(10 * 96, 30 * 96))
    layers = []
    for i in range(draw(st.integers(1, 3))):
        starts_on = start + draw(quarters(-40 * 96, 10 * 96))
        length = draw(st.none() | quarters(1, 40 * 96))
        layers.append(
            Layer(
                f"layer {i}",
                starts_on,
                None if length is None else starts_on + length,
                tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))),
                Rotation.parse(draw(st.sampled_from(ROTATIONS))),
                tuple(draw(st.lists(restrictions, max_size=2))),
            )
        )
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        o_start = start + draw(quarters(-96, 30 * 96))
        overrides.append(
            Shift(draw(st.integers(7, 9)), o_start, o_start + draw(quarters(1, 5 * 96)))
        )
    schedule = Schedule(draw(st.sampled_from(ZONES)), tuple(layers), tuple(overrides))
    return schedule, start, end


# --- properties ----------------------------------------------------------------------------


@FAST
@given(cases())
def test_shifts_sorted_disjoint_inside_window(case: tuple[Schedule, datetime, datetime]) -> None:
    schedule, start, end = case
    assert_well_formed(shifts(schedule, start, end), start, end)
    assert_well_formed(shifts(schedule, start, end, include_overrides=False), start, end)


@FAST
@given(cases(), st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5))
def test_on_call_at_agrees_with_shifts(
    case: tuple[Schedule, datetime, datetime], fractions: list[float]
) -> None:
    schedule, start, end = case
    result = shifts(schedule, start, end)
    for fraction in fractions:
        seconds = int((end - start).total_seconds() * fraction)
        t = start + timedelta(seconds=min(seconds, (end - start).total_seconds() - 1))
        expected = users_by_step(result, [t])[0]
        found = on_call_at(schedule, t)
        assert (found.user_id if found else None) == expected
        if found:
            assert found.covers(t)


@FAST
@given(cases())
def test_overrides_win(case: tuple[Schedule, datetime, datetime]) -> None:
    schedule, start, end = case
    result = shifts(schedule, start, end)
    for override in schedule.overrides:
        for t in (
            override.start,
            override.end - QUARTER,
            override.start + (override.end - override.start) / 2,
        ):
            if start <= t < end:
                latest = [o for o in schedule.overrides if o.covers(t)][-1]
                assert users_by_step(result, [t])[0] == latest.user_id


@FAST
@given(cases())
def test_matches_reference(case: tuple[Schedule, datetime, datetime]) -> None:
    schedule, start, end = case
    times = instants(start, end, QUARTER)
    for overrides in (True, False):
        result = shifts(schedule, start, end, include_overrides=overrides)
        assert users_by_step(result, times) == [ref_user(schedule, t, overrides) for t in times]


# --- two years, a fixed schedule per zone --------------------------------------------------


def fixed_schedule(zone_name: str) -> Schedule:
    """Weekly base, a business-hours 8-hour layer, a weekend daily layer ending mid-way."""
    zone = ZoneInfo(zone_name)
    weekdays = tuple(Restriction(d, time(9), d, time(17, 30)) for d in range(5))
    weekend = (Restriction(4, time(18), 0, time(8)),)
    return Schedule(
        zone_name,
        (
            Layer("base", datetime(2024, 1, 1, 9, tzinfo=zone), None, (1, 2, 3), Rotation(7)),
            Layer(
                "day",
                datetime(2024, 2, 5, 2, 30, tzinfo=zone),
                None,
                (4, 5),
                Rotation.parse("PT8H"),
                weekdays,
            ),
            Layer(
                "weekend",
                datetime(2024, 3, 1, 18, tzinfo=zone),
                datetime(2025, 6, 1, tzinfo=zone),
                (6, 7, 8),
                Rotation(1),
                weekend,
            ),
        ),
        overrides=(
            Shift(9, datetime(2024, 3, 30, 12, tzinfo=zone), datetime(2024, 4, 2, tzinfo=zone)),
            Shift(10, datetime(2024, 10, 26, tzinfo=zone), datetime(2024, 11, 4, 3, tzinfo=zone)),
            Shift(11, datetime(2025, 1, 1, tzinfo=zone), datetime(2025, 1, 1, 1, tzinfo=zone)),
        ),
    )


@pytest.mark.parametrize("zone", ZONES)
def test_two_years_match_reference(zone: str) -> None:
    schedule = fixed_schedule(zone)
    start, end = datetime(2023, 12, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)
    result = shifts(schedule, start, end)
    assert_well_formed(result, start, end)
    # Every boundary here is a half hour in UTC (local half hours, half-hour offsets).
    times = instants(start, end, 2 * QUARTER)
    assert users_by_step(result, times) == [ref_user(schedule, t) for t in times]
