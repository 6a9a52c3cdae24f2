"""Schedule aggregate rules, the spec's round trip to ilertd.oncall, and the iCal writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ilertd import oncall
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.schedule import Schedule, first_gap, user_fields
from ilertd.http.ical import CalendarEvent, escape_text, fold, render_calendar


def layer(**fields: Any) -> dict[str, Any]:
    return {
        "name": "primary",
        "startsOn": "2026-03-23T09:00:00+01:00",
        "users": [{"id": 1}, {"id": 2}],
        "rotation": "P1D",
        **fields,
    }


def recurring(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Ops",
        "timezone": "Europe/Berlin",
        "schedule_type": "RECURRING",
        "schedule_layers": [layer()],
        **fields,
    }


def event_names(schedule: Schedule) -> list[str]:
    return [type(e).__name__ for e in schedule.collect_events()]


def test_create_normalises_layers() -> None:
    schedule = Schedule.create(
        **recurring(
            schedule_type="recurring",
            schedule_layers=[
                layer(
                    rotation="p1w",
                    restrictionType="TIME_OF_WEEK",
                    restrictions=[
                        {
                            "from": {"dayOfWeek": "monday", "time": "09:00"},
                            "to": {"dayOfWeek": "FRIDAY", "time": "17:30:00"},
                        }
                    ],
                )
            ],
            teams=[{"id": 5}],
        )
    )
    assert schedule.schedule_type == "RECURRING"
    assert schedule.layers == [
        {
            "name": "primary",
            "startsOn": "2026-03-23T08:00:00.000Z",
            "endsOn": None,
            "users": [1, 2],
            "rotation": "P7D",
            "restrictionType": "TIME_OF_WEEK",  # as sent
            "restrictions": [
                {
                    "from": {"dayOfWeek": "MONDAY", "time": "09:00"},
                    "to": {"dayOfWeek": "FRIDAY", "time": "17:30"},
                }
            ],
        }
    ]
    assert schedule.teams == [5] and schedule.overrides == [] and not schedule.deleted
    assert event_names(schedule) == ["Created"]
    model = schedule.to_oncall()
    assert model.timezone == "Europe/Berlin" and len(model.layers) == 1
    assert model.layers[0].restrictions[0].to_day == 4


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"schedule_type": "WEEKLY"}, "type"),
        ({"schedule_layers": []}, "scheduleLayers"),
        ({"schedule_layers": "no"}, "scheduleLayers"),
        ({"schedule_layers": [layer(rotation="P1M")]}, "scheduleLayers[0].rotation"),
        ({"schedule_layers": [layer(rotation="PT30M")]}, "scheduleLayers[0].rotation"),
        ({"schedule_layers": [layer(rotation=7)]}, "scheduleLayers[0].rotation"),
        ({"schedule_layers": [layer(rotation="P400D")]}, "scheduleLayers[0].rotation"),
        ({"schedule_layers": [layer(rotation="P9999999999D")]}, "scheduleLayers[0].rotation"),
        ({"schedule_layers": [layer(users=[])]}, "scheduleLayers[0].users"),
        ({"schedule_layers": [layer(users=[{"id": "x"}])]}, "scheduleLayers[0].users[0]"),
        ({"schedule_layers": [layer(startsOn="2026-03-23")]}, "scheduleLayers[0].startsOn"),
        ({"default_shift_duration": "P1M"}, "defaultShiftDuration"),
        ({"default_shift_duration": 8}, "defaultShiftDuration"),
        ({"show_gaps": "yes"}, "showGaps"),
        ({"schedule_layers": [layer(startsOn=None)]}, "scheduleLayers[0].startsOn"),
        (
            {"schedule_layers": [layer(endsOn="2026-03-01T00:00:00Z")]},
            "scheduleLayers[0].endsOn",
        ),
        (
            {"schedule_layers": [layer(), layer(restrictionType="DAYS")]},
            "scheduleLayers[1].restrictionType",
        ),
        (
            {
                "schedule_layers": [
                    layer(restrictions=[{"from": {"dayOfWeek": "FUNDAY", "time": "09:00"}}])
                ]
            },
            "scheduleLayers[0].restrictions[0].from.dayOfWeek",
        ),
        (
            {
                "schedule_layers": [
                    layer(
                        restrictions=[
                            {
                                "from": {"dayOfWeek": "MONDAY", "time": "25:00"},
                                "to": {"dayOfWeek": "MONDAY", "time": "10:00"},
                            }
                        ]
                    )
                ]
            },
            "scheduleLayers[0].restrictions[0].from.time",
        ),
        ({"teams": [{"id": -1}]}, "teams[0]"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Schedule.create(**recurring(**settings))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_times_without_an_offset_are_the_schedules_wall_clock() -> None:
    schedule = Schedule.create(
        **recurring(
            schedule_layers=[layer(startsOn="2026-07-01T09:00", endsOn="2026-12-01T09:00:30")]
        )
    )
    # Berlin is +02:00 in July, +01:00 in December
    assert schedule.layers[0]["startsOn"] == "2026-07-01T07:00:00.000Z"
    assert schedule.layers[0]["endsOn"] == "2026-12-01T08:00:30.000Z"
    schedule.add_override(
        {"user": {"id": 3}, "start": "2026-03-29T02:30", "end": "2026-03-29T05:00"}
    )
    # 02:30 does not exist on the spring-forward night: it moves forward, to 03:30 CEST
    assert schedule.overrides[0]["start"] == "2026-03-29T01:30:00.000Z"
    assert schedule.overrides[0]["end"] == "2026-03-29T03:00:00.000Z"
    with pytest.raises(InvalidValueError) as info:
        schedule.add_override({"user": {"id": 3}, "start": "x", "end": "y"}, field="")
    assert info.value.field == "start"


def test_show_gaps_and_default_shift_duration_are_kept_as_sent() -> None:
    schedule = Schedule.create(**recurring())
    assert (schedule.show_gaps, schedule.default_shift_duration) == (False, "P7D")
    schedule.update(**recurring(show_gaps=True, default_shift_duration="pt24h"))
    assert (schedule.show_gaps, schedule.default_shift_duration) == (True, "PT24H")


def test_time_of_day_restrictions_repeat_every_day() -> None:
    night = {"from": {"dayOfWeek": "", "time": "22:00"}, "to": {"time": "06:00"}}
    schedule = Schedule.create(
        **recurring(
            schedule_layers=[layer(restrictionType="time_of_day", restrictions=[night])],
        )
    )
    stored = schedule.layers[0]
    assert stored["restrictionType"] == "TIME_OF_DAY"
    assert stored["restrictions"] == [
        {"from": {"dayOfWeek": None, "time": "22:00"}, "to": {"dayOfWeek": None, "time": "06:00"}}
    ]
    model = schedule.to_oncall()
    day = datetime(2026, 4, 1, tzinfo=UTC)
    found = oncall.shifts(model, day, day + timedelta(days=7))
    # every night 22:00 to 06:00 Berlin (CEST: 20:00Z to 04:00Z), Wednesday to Wednesday
    assert [(s.start.hour, s.end.hour) for s in found[1:-1]] == [(20, 4)] * 6
    with pytest.raises(InvalidValueError) as info:
        Schedule.create(
            **recurring(
                schedule_layers=[layer(restrictionType="TIME_OF_WEEK", restrictions=[night])]
            )
        )
    assert info.value.field == "scheduleLayers[0].restrictions[0].from.dayOfWeek"


def test_first_gap_finds_what_the_layers_leave_uncovered() -> None:
    assert first_gap(Schedule.create(**recurring()).spec) is None
    weekdays = {
        "from": {"dayOfWeek": "MONDAY", "time": "09:00"},
        "to": {"dayOfWeek": "FRIDAY", "time": "17:00"},
    }
    gap = first_gap(
        Schedule.create(**recurring(schedule_layers=[layer(restrictions=[weekdays])])).spec
    )
    assert gap is not None and gap[0].isoformat() == "2026-03-27T16:00:00+00:00"  # Friday 17:00 CET
    assert gap[1].isoformat() == "2026-03-30T07:00:00+00:00"  # Monday 09:00 CEST
    # a second layer covering the weekend closes it
    weekend = {
        "from": {"dayOfWeek": "FRIDAY", "time": "17:00"},
        "to": {"dayOfWeek": "MONDAY", "time": "09:00"},
    }
    both = [layer(restrictions=[weekdays]), layer(restrictions=[weekend])]
    assert first_gap(Schedule.create(**recurring(schedule_layers=both)).spec) is None
    # one layer ends, the next starts a day later
    apart = [
        layer(endsOn="2026-04-01T00:00:00Z"),
        layer(startsOn="2026-04-02T00:00:00Z"),
    ]
    gap = first_gap(Schedule.create(**recurring(schedule_layers=apart)).spec)
    assert gap is not None and (gap[0].day, gap[1].day) == (1, 2)
    shifts = [
        {"user": {"id": 1}, "start": "2026-01-01T00:00Z", "end": "2026-01-02T00:00Z"},
        {"user": {"id": 2}, "start": "2026-01-02T06:00Z", "end": "2026-01-03T00:00Z"},
    ]
    static = Schedule.create(name="S", timezone="UTC", schedule_type="STATIC", shifts=shifts)
    gap = first_gap(static.spec)
    assert gap is not None and (gap[0].hour, gap[1].hour) == (0, 6)


def test_static_schedule_and_its_shift_rules() -> None:
    shift = {"user": {"id": 3}, "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    schedule = Schedule.create(
        name="Static", timezone="UTC", schedule_type="STATIC", shifts=[shift]
    )
    assert schedule.layers == []
    assert schedule.shifts == [
        {"user": 3, "start": "2026-01-01T00:00:00.000Z", "end": "2026-01-02T00:00:00.000Z"}
    ]
    assert schedule.to_oncall().is_static
    backwards = {**shift, "end": "2025-12-31T00:00:00Z"}
    with pytest.raises(InvalidValueError) as info:
        Schedule.create(name="S", timezone="UTC", schedule_type="STATIC", shifts=[backwards])
    assert info.value.field == "shifts[0].end"
    with pytest.raises(InvalidValueError) as info:
        Schedule.create(
            name="S", timezone="UTC", schedule_type="STATIC", shifts=[{**shift, "user": None}]
        )
    assert info.value.field == "shifts[0].user"


def test_update_replaces_and_records_nothing_when_unchanged() -> None:
    schedule = Schedule.create(**recurring())
    schedule.collect_events()
    schedule.update(**recurring())
    assert event_names(schedule) == []
    schedule.update(**recurring(name="Renamed", timezone="UTC"))
    assert event_names(schedule) == ["Updated"]
    assert schedule.name == "Renamed" and schedule.timezone == "UTC"
    with pytest.raises(InvalidValueError):
        schedule.update(**recurring(schedule_layers=[layer(rotation="nope")]))
    assert event_names(schedule) == []


def test_overrides_add_replace_and_validate() -> None:
    schedule = Schedule.create(**recurring())
    schedule.collect_events()
    first = {"user": {"id": 9}, "start": "2026-03-24T10:00:00+01:00", "end": "2026-03-24T12:00Z"}
    schedule.add_override(first)
    assert schedule.overrides == [
        {"user": 9, "start": "2026-03-24T09:00:00.000Z", "end": "2026-03-24T12:00:00.000Z"}
    ]
    with pytest.raises(InvalidValueError) as info:
        schedule.add_override({**first, "start": "soon"})
    assert info.value.field == "override.start"
    with pytest.raises(InvalidValueError) as info:
        schedule.replace_overrides([first, {**first, "end": "2026-03-24T08:00:00Z"}])
    assert info.value.field == "overrides[1].end"
    with pytest.raises(InvalidValueError) as info:
        schedule.replace_overrides({"not": "a list"})
    assert info.value.field == "overrides"
    schedule.replace_overrides([])
    assert schedule.overrides == []
    assert event_names(schedule) == ["OverrideAdded", "OverridesReplaced"]
    references = list(user_fields(schedule.spec, [{"user": 4}]))
    assert references == [
        ("scheduleLayers[0].users[0]", 1),
        ("scheduleLayers[0].users[1]", 2),
        ("overrides[0].user", 4),
    ]


def test_override_wins_in_the_oncall_model() -> None:
    schedule = Schedule.create(**recurring())
    schedule.add_override(
        {"user": {"id": 9}, "start": "2026-03-24T10:00:00Z", "end": "2026-03-24T12:00:00Z"}
    )
    at = datetime(2026, 3, 24, 11, tzinfo=UTC)
    assert oncall.on_call_at(schedule.to_oncall(), at).user_id == 9  # type: ignore[union-attr]


def test_deleted_schedules_refuse_commands() -> None:
    schedule = Schedule.create(**recurring())
    schedule.delete()
    assert schedule.deleted
    with pytest.raises(DomainError):
        schedule.update(**recurring())
    with pytest.raises(DomainError):
        schedule.add_override({})
    with pytest.raises(DomainError):
        schedule.delete()


def test_ical_folding_escaping_and_crlf() -> None:
    line = "SUMMARY:" + "é" * 60
    folded = fold(line)
    physical = folded.split("\r\n")[:-1]
    assert all(len(part.encode()) <= 75 for part in physical)
    assert "".join(part[1:] if i else part for i, part in enumerate(physical)) == line
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    start = datetime(2026, 3, 29, 7, tzinfo=UTC)
    text = render_calendar(
        "Ops",
        [CalendarEvent("u1@x", start, start.replace(hour=9), "On call: Ann")],
        stamp=start,
    )
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\nDTSTART:20260329T070000Z\r\n" in text and "VERSION:2.0\r\n" in text
    assert "\n" not in text.replace("\r\n", "")
