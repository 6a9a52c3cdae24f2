"""On-call examples: rotations, DST handoffs, restrictions, layering, overrides, validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ilertd.oncall import Layer, Restriction, Rotation, Schedule, Shift, on_call_at, shifts

BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def layer(starts_on: datetime, users: tuple[int, ...], rotation: str, **kw: object) -> Layer:
    return Layer("l", starts_on, kw.pop("ends_on", None), users, Rotation.parse(rotation), **kw)  # type: ignore[arg-type]


def handoffs(result: list[Shift]) -> list[tuple[int, datetime]]:
    return [(s.user_id, s.start) for s in result]


def test_weekly_rotation_with_three_users_cycles() -> None:
    start = utc(2024, 1, 1, 9)
    schedule = Schedule("UTC", (layer(start, (1, 2, 3), "P1W"),))
    result = shifts(schedule, start, start + timedelta(weeks=4))
    assert [s.user_id for s in result] == [1, 2, 3, 1]
    assert all(s.end - s.start == timedelta(weeks=1) for s in result)


def test_nobody_before_starts_on_or_from_ends_on() -> None:
    start = utc(2024, 1, 10)
    schedule = Schedule("UTC", (layer(start, (1, 2), "P1D", ends_on=start + timedelta(days=3)),))
    result = shifts(schedule, utc(2024, 1, 1), utc(2024, 2, 1))
    assert (result[0].start, result[-1].end) == (start, start + timedelta(days=3))
    assert on_call_at(schedule, start - timedelta(seconds=1)) is None
    assert on_call_at(schedule, start + timedelta(days=3)) is None


@pytest.mark.parametrize(
    ("day", "before", "after"),
    [((2024, 3, 31), 8, 7), ((2024, 10, 27), 7, 8)],
    ids=["march", "october"],
)
def test_daily_0900_handoff_stays_local_across_dst(
    day: tuple[int, int, int], before: int, after: int
) -> None:
    schedule = Schedule(
        "Europe/Berlin", (layer(local("Europe/Berlin", 2024, 1, 1, 9), (1, 2), "P1D"),)
    )
    change = utc(*day)
    result = shifts(schedule, change - timedelta(days=2), change + timedelta(days=2))
    starts = [s.start for s in result[1:]]
    assert all(s.astimezone(BERLIN).time() == time(9) for s in starts)
    assert [s.hour for s in starts] == [before, before, after, after]
    users = [s.user_id for s in result]
    assert all(a != b for a, b in itertools.pairwise(users))


def test_eight_hour_rotation_in_wall_clock_across_dst() -> None:
    schedule = Schedule(
        "Europe/Berlin", (layer(local("Europe/Berlin", 2024, 3, 30, 0), (1, 2, 3), "PT8H"),)
    )
    result = shifts(schedule, utc(2024, 3, 30), utc(2024, 4, 1))
    locals_ = [s.start.astimezone(BERLIN).hour for s in result[1:]]
    assert locals_ == [8, 16, 0, 8, 16, 0]
    # The night of the change loses an hour: 00:00 -> 08:00 CEST is only 7 real hours.
    short = [s for s in result if s.start == local("Europe/Berlin", 2024, 3, 31, 0)]
    assert short[0].end - short[0].start == timedelta(hours=7)


def test_nonexistent_handoff_shifts_forward_and_ambiguous_takes_first() -> None:
    start = local("Europe/Berlin", 2024, 3, 29, 2, 30)
    schedule = Schedule("Europe/Berlin", (layer(start, (1, 2), "P1D"),))
    result = shifts(schedule, utc(2024, 3, 30, 12), utc(2024, 4, 1, 12))
    assert [s.start for s in result[1:]] == [utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)]
    start = local("Europe/Berlin", 2024, 10, 25, 2, 30)
    schedule = Schedule("Europe/Berlin", (layer(start, (1, 2), "P1D"),))
    result = shifts(schedule, utc(2024, 10, 26, 12), utc(2024, 10, 28))
    assert result[1].start == utc(2024, 10, 27, 0, 30)  # 02:30 CEST, the first occurrence


def business_hours() -> tuple[Restriction, ...]:
    return tuple(Restriction(d, time(9), d, time(17)) for d in range(5))


def test_business_hours_restriction() -> None:
    schedule = Schedule(
        "Europe/Berlin",
        (layer(local("Europe/Berlin", 2024, 1, 1), (1,), "P7D", restrictions=business_hours()),),
    )
    result = shifts(schedule, utc(2024, 1, 1), utc(2024, 1, 8))
    assert [(s.start, s.end) for s in result] == [
        (local("Europe/Berlin", 2024, 1, d, 9), local("Europe/Berlin", 2024, 1, d, 17))
        for d in range(1, 6)
    ]


def test_wraparound_weekend_restriction() -> None:
    weekend = (Restriction(4, time(18), 0, time(8)),)
    schedule = Schedule(
        "Europe/Berlin",
        (layer(local("Europe/Berlin", 2024, 1, 1), (1,), "P1D", restrictions=weekend),),
    )
    result = shifts(schedule, utc(2023, 12, 1), utc(2024, 1, 15))
    # The layer starts inside the weekend window that opened on Friday 29 December.
    assert [(s.start, s.end) for s in result] == [
        (local("Europe/Berlin", 2024, 1, 1, 0), local("Europe/Berlin", 2024, 1, 1, 8)),
        (local("Europe/Berlin", 2024, 1, 5, 18), local("Europe/Berlin", 2024, 1, 8, 8)),
        (local("Europe/Berlin", 2024, 1, 12, 18), utc(2024, 1, 15)),
    ]


def test_whole_week_when_from_equals_to() -> None:
    always = (Restriction(0, time(0), 0, time(0)),)
    schedule = Schedule("UTC", (layer(utc(2024, 1, 3), (1,), "P1D", restrictions=always),))
    assert shifts(schedule, utc(2024, 1, 1), utc(2024, 2, 1)) == [
        Shift(1, utc(2024, 1, 3), utc(2024, 2, 1))
    ]


def test_later_layer_wins_where_it_has_someone() -> None:
    base = layer(utc(2024, 1, 1), (1,), "P7D")
    day_shift = layer(utc(2024, 1, 1), (2,), "P7D", restrictions=business_hours())
    schedule = Schedule("UTC", (base, day_shift))
    result = shifts(schedule, utc(2024, 1, 1), utc(2024, 1, 2))
    assert handoffs(result) == [
        (1, utc(2024, 1, 1)),
        (2, utc(2024, 1, 1, 9)),
        (1, utc(2024, 1, 1, 17)),
    ]


def test_overrides_win_and_can_be_excluded() -> None:
    override = Shift(9, utc(2024, 1, 2, 12), utc(2024, 1, 3, 12))
    schedule = Schedule("UTC", (layer(utc(2024, 1, 1), (1, 2), "P1D"),), overrides=(override,))
    result = shifts(schedule, utc(2024, 1, 1), utc(2024, 1, 4))
    assert handoffs(result) == [
        (1, utc(2024, 1, 1)),
        (2, utc(2024, 1, 2)),
        (9, utc(2024, 1, 2, 12)),
        (1, utc(2024, 1, 3, 12)),
    ]
    assert on_call_at(schedule, utc(2024, 1, 3)) == override
    plain = shifts(schedule, utc(2024, 1, 1), utc(2024, 1, 4), include_overrides=False)
    assert [s.user_id for s in plain] == [1, 2, 1]


def test_adjacent_pieces_of_one_user_merge() -> None:
    schedule = Schedule(
        "UTC",
        (layer(utc(2024, 1, 1), (1, 2), "P1D"),),
        overrides=(Shift(1, utc(2024, 1, 2), utc(2024, 1, 2, 6)),),
    )
    assert handoffs(shifts(schedule, utc(2024, 1, 1), utc(2024, 1, 3))) == [
        (1, utc(2024, 1, 1)),
        (2, utc(2024, 1, 2, 6)),
    ]


def test_static_schedule_ignores_layers_and_keeps_gaps() -> None:
    static = (
        Shift(1, utc(2024, 1, 1), utc(2024, 1, 2)),
        Shift(2, utc(2024, 1, 3), utc(2024, 1, 4)),
    )
    schedule = Schedule("UTC", (layer(utc(2024, 1, 1), (7,), "P1D"),), static_shifts=static)
    assert shifts(schedule, utc(2023, 12, 1), utc(2024, 2, 1)) == list(static)
    assert on_call_at(schedule, utc(2024, 1, 2, 12)) is None
    clipped = shifts(schedule, utc(2024, 1, 1, 12), utc(2024, 1, 3, 12))
    assert clipped == [
        Shift(1, utc(2024, 1, 1, 12), utc(2024, 1, 2)),
        Shift(2, utc(2024, 1, 3), utc(2024, 1, 3, 12)),
    ]


def test_lord_howe_half_hour_dst() -> None:
    zone = "Australia/Lord_Howe"
    schedule = Schedule(zone, (layer(local(zone, 2024, 9, 1, 9), (1, 2), "P1D"),))
    result = shifts(schedule, utc(2024, 10, 4), utc(2024, 10, 8))  # DST starts 6 Oct 02:00
    starts = [s.start for s in result[1:]]
    assert all(s.astimezone(ZoneInfo(zone)).time() == time(9) for s in starts)
    assert [(s.hour, s.minute) for s in starts] == [(22, 30), (22, 0), (22, 0), (22, 0)]


def test_kolkata_half_hour_offset() -> None:
    zone = "Asia/Kolkata"
    schedule = Schedule(zone, (layer(local(zone, 2024, 1, 1, 9), (1, 2), "PT12H"),))
    shift = on_call_at(schedule, utc(2024, 6, 1, 4))
    # 09:00 and 21:00 IST are 03:30 and 15:30 UTC; 304 half-days after 1 January: user 1.
    assert shift == Shift(1, utc(2024, 6, 1, 3, 30), utc(2024, 6, 1, 15, 30))


def test_on_call_at_is_clipped_to_its_window() -> None:
    schedule = Schedule("UTC", (layer(utc(2024, 1, 1), (1,), "P1D"),))
    shift = on_call_at(schedule, utc(2024, 6, 1))
    assert shift == Shift(1, utc(2024, 5, 31), utc(2024, 6, 2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P7D", "P7D"), ("P1W", "P7D"), ("PT12H", "PT12H"), ("pt8h", "PT8H"), ("P1DT6H", "P1DT6H")],
)
def test_rotation_parsing(text: str, expected: str) -> None:
    assert str(Rotation.parse(text)) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P", "PT", "7D", "PT30M", "P1DT", "", "P-1D"])
def test_rotation_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^rotation: "):
        Rotation.parse(text)


def test_validation_names_the_field() -> None:
    good = layer(utc(2024, 1, 1), (1,), "P1D")
    cases = {
        "timezone": lambda: Schedule("Mars/Olympus", (good,)),
        "startsOn": lambda: Layer("l", datetime(2024, 1, 1), None, (1,), Rotation(1)),
        "endsOn": lambda: Layer("l", utc(2024, 1, 2), utc(2024, 1, 1), (1,), Rotation(1)),
        "users": lambda: Layer("l", utc(2024, 1, 1), None, (), Rotation(1)),
        "rotation": lambda: Layer("l", utc(2024, 1, 1), None, (1,), 7),  # type: ignore[arg-type]
        "restrictions.from_day": lambda: Restriction(7, time(0), 0, time(1)),
        "restrictions.to_time": lambda: Restriction(0, time(0), 0, "10:00"),  # type: ignore[arg-type]
        "end": lambda: Shift(1, utc(2024, 1, 2), utc(2024, 1, 1)),
        "user": lambda: Shift(-1, utc(2024, 1, 1), utc(2024, 1, 2)),
        "until": lambda: shifts(Schedule("UTC", (good,)), utc(2024, 1, 2), utc(2024, 1, 1)),
        "from": lambda: shifts(Schedule("UTC", (good,)), datetime(2024, 1, 1), utc(2024, 1, 2)),
    }
    for field, build in cases.items():
        with pytest.raises(ValueError, match=rf"^{field}: "):
            build()


def test_layer_accepts_an_iso_string_rotation() -> None:
    assert Layer("l", utc(2024, 1, 1), None, [1, 2], "P1W").rotation == Rotation(7)  # type: ignore[arg-type]
