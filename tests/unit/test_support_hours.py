"""Support hours' rules without a database: which instants are within them across the DST
weeks of Europe/Berlin and America/New_York, exceptions, midnight-spanning days, and the
priority a source's rule gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from ilertd.contract.support_hours import END_PATTERN, START_PATTERN
from ilertd.domain.alert_source import checked_settings as source_settings
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.support_hours import (
    DAYS,
    SupportHours,
    calendar,
    checked_settings,
    priority,
)


def hours(zone: str, days: dict[str, tuple[str, str]], exceptions: list | None = None):
    settings = checked_settings(
        name="support",
        timezone=zone,
        support_days={day: {"start": s, "end": e} for day, (s, e) in days.items()},
        exceptions=exceptions,
    )
    return calendar(settings)


def spans(cal, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of [since, until) within the hours, minute by minute, as UTC spans."""
    found: list[tuple[datetime, datetime]] = []
    moment = since
    while moment < until:
        if cal.within(moment):
            if found and found[-1][1] == moment:
                found[-1] = (found[-1][0], moment + timedelta(minutes=1))
            else:
                found.append((moment, moment + timedelta(minutes=1)))
        moment += timedelta(minutes=1)
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


WEEKDAYS_9_TO_5 = dict.fromkeys(DAYS, ("09:00", "17:00"))


@pytest.mark.parametrize(
    ("zone", "change_day", "before", "after"),
    [
        # Berlin springs forward on Sunday 29 March 2026 (CET +1 -> CEST +2) ...
        ("Europe/Berlin", datetime(2026, 3, 29, tzinfo=UTC), 1, 2),
        # ... and falls back on Sunday 25 October 2026
        ("Europe/Berlin", datetime(2026, 10, 25, tzinfo=UTC), 2, 1),
        # New York springs forward on Sunday 8 March 2026 (EST -5 -> EDT -4) ...
        ("America/New_York", datetime(2026, 3, 8, tzinfo=UTC), -5, -4),
        # ... and falls back on Sunday 1 November 2026
        ("America/New_York", datetime(2026, 11, 1, tzinfo=UTC), -4, -5),
    ],
)
def test_a_nine_to_five_day_is_eight_hours_of_wall_clock_across_the_change_week(
    zone: str, change_day: datetime, before: int, after: int
) -> None:
    cal = hours(zone, WEEKDAYS_9_TO_5)
    for offset_days in range(-3, 4):  # the week around the change
        day = change_day + timedelta(days=offset_days)
        offset = before if offset_days < 0 else after
        found = spans(cal, day, day + timedelta(hours=24))
        starts = day + timedelta(hours=9 - offset)
        assert found == [(starts, starts + timedelta(hours=8))], (zone, offset_days)


def test_a_whole_day_is_23_or_25_hours_on_the_change_days() -> None:
    cal = hours("Europe/Berlin", {"SUNDAY": ("00:00", "24:00")})
    spring = spans(cal, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert spring == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]  # 23 h
    autumn = spans(cal, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert autumn == [(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))]  # 25 h


def test_a_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March: it is read as 03:30 CEST (01:30 UTC)
    cal = hours("Europe/Berlin", {"SUNDAY": ("02:30", "05:00")})
    found = spans(cal, utc(2026, 3, 28, 20), utc(2026, 3, 29, 12))
    assert found == [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 3))]
    # New York: 02:15 on 8 March is read as 03:15 EDT (07:15 UTC)
    cal = hours("America/New_York", {"SUNDAY": ("02:15", "04:00")})
    found = spans(cal, utc(2026, 3, 8, 0), utc(2026, 3, 8, 18))
    assert found == [(utc(2026, 3, 8, 7, 15), utc(2026, 3, 8, 8))]


def test_a_doubled_time_in_the_autumn_is_its_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on 25 October: hours ending then end at the first one
    # (CEST, 00:30 UTC); the second 02:00-02:30 (CET) has no support
    cal = hours("Europe/Berlin", {"SUNDAY": ("01:00", "02:30")})
    found = spans(cal, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert found == [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30))]
    assert not cal.within(utc(2026, 10, 25, 1, 15))  # 02:15 CET, the second time round
    # and hours starting then start at the first one
    cal = hours("America/New_York", {"SUNDAY": ("01:30", "03:00")})
    found = spans(cal, utc(2026, 11, 1, 0), utc(2026, 11, 1, 12))
    assert found == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))]  # 01:30 EDT to 03:00 EST


def test_a_day_ending_at_or_before_its_start_runs_past_midnight() -> None:
    cal = hours("America/New_York", {"FRIDAY": ("22:00", "06:00")})
    # Friday 6 November 2026, EST: 22:00 to Saturday 06:00
    found = spans(cal, utc(2026, 11, 6, 12), utc(2026, 11, 8, 12))
    assert found == [(utc(2026, 11, 7, 3), utc(2026, 11, 7, 11))]
    # the night of the fall-back change (Saturday 31 October into Sunday) is 9 hours
    cal = hours("America/New_York", {"SATURDAY": ("22:00", "06:00")})
    found = spans(cal, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))
    assert found == [(utc(2026, 11, 1, 2), utc(2026, 11, 1, 11))]


def test_exceptions_override_the_days_and_the_first_listed_wins() -> None:
    cal = hours(
        "Europe/Berlin",
        WEEKDAYS_9_TO_5,
        [
            {"name": "Christmas Eve", "start": "2026-12-24", "end": "2026-12-24",
             "support_status": "OUTSIDE"},
            {"name": "on call all of it", "start": "2026-12-23", "end": "2026-12-25",
             "support_status": "DURING"},
            {"name": "afternoon off", "start": "2026-12-28T13:00", "end": "2026-12-28T17:00",
             "support_status": "OUTSIDE"},
        ],
    )  # fmt: skip
    assert not cal.within(utc(2026, 12, 24, 10))  # 11:00 CET, Thursday: the first wins
    assert cal.within(utc(2026, 12, 23, 22))  # 23:00 on the 23rd: DURING
    assert cal.within(utc(2026, 12, 25, 3))  # the 25th is included in its end
    assert not cal.within(utc(2026, 12, 26, 0))  # after it: Saturday 01:00, the day's rule
    assert cal.within(utc(2026, 12, 28, 11))  # Monday 12:00
    assert not cal.within(utc(2026, 12, 28, 12))  # 13:00: the afternoon is off
    assert cal.within(utc(2026, 12, 29, 12))


def test_days_absent_or_null_have_no_support() -> None:
    settings = checked_settings(
        name="x",
        timezone="UTC",
        support_days={"MONDAY": {"start": "08:00", "end": "12:00"}, "TUESDAY": None},
    )
    assert settings["support_days"] == {"MONDAY": {"start": "08:00", "end": "12:00"}}
    cal = calendar(settings)
    assert cal.within(utc(2026, 12, 7, 9))  # a Monday
    assert not cal.within(utc(2026, 12, 8, 9))


def monday(start: str, end: str) -> dict:
    return {"support_days": {"MONDAY": {"start": start, "end": end}}}


def exception(start: str, end: str, status: str = "DURING") -> dict:
    return {"exceptions": [{"start": start, "end": end, "support_status": status}]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": None}, "timezone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        (monday("9:00", "17:00"), "supportDays.MONDAY.start"),
        (monday("24:00", "17:00"), "supportDays.MONDAY.start"),
        (monday("09:00", "17:60"), "supportDays.MONDAY.end"),
        (monday("09:00", "09:00"), "supportDays.MONDAY.end"),
        ({"support_days": {"FUNDAY": {"start": "09:00", "end": "10:00"}}}, "supportDays.FUNDAY"),
        ({"support_days": {"MONDAY": "09-17"}}, "supportDays.MONDAY"),
        (exception("2026-12-24", "2026-12-23"), "exceptions[0].end"),
        (exception("2026-12-24T10:00", "2026-12-24T10:00"), "exceptions[0].end"),
        (exception("24.12.2026", "2026-12-25"), "exceptions[0].start"),
        (exception("2026-02-30", "2026-03-02"), "exceptions[0].start"),
        (exception("2026-12-24", "2026-12-25", "SOMETIMES"), "exceptions[0].supportStatus"),
    ],
)
def test_bad_settings_name_the_field(changes: dict, field: str) -> None:
    settings = {"name": "x", "timezone": "Europe/Berlin", **changes}
    with pytest.raises(InvalidValueError) as raised:
        checked_settings(**settings)
    assert raised.value.field == field


def test_the_aggregate_records_changes_only() -> None:
    made = SupportHours.create(
        name=" office ", timezone="Europe/Berlin", support_days={"MONDAY": {"start": "09:00",
        "end": "17:00"}}, teams=[3, 1]
    )  # fmt: skip
    assert made.name == "office" and made.teams == [1, 3]
    settings = made.settings
    made.collect_events()
    made.update(**settings)
    assert made.collect_events() == []
    made.update(**{**settings, "timezone": "America/New_York"})
    assert [type(e).__name__ for e in made.collect_events()] == ["Updated"]
    made.delete()
    with pytest.raises(DomainError):
        made.update(**settings)


@pytest.mark.parametrize(
    ("rule", "within", "expected"),
    [
        ("HIGH", True, "HIGH"),
        ("LOW", False, "LOW"),
        ("HIGH_DURING_SUPPORT_HOURS", True, "HIGH"),
        ("HIGH_DURING_SUPPORT_HOURS", False, "LOW"),
        ("LOW_DURING_SUPPORT_HOURS", True, "LOW"),
        ("LOW_DURING_SUPPORT_HOURS", False, "HIGH"),
        ("HIGH_DURING_SUPPORT_HOURS", None, "HIGH"),  # no support hours to ask
        ("LOW_DURING_SUPPORT_HOURS", None, "LOW"),
    ],
)
def test_the_priority_rule(rule: str, within: bool | None, expected: str) -> None:
    assert priority(rule, within) == expected


def test_a_source_ruled_by_support_hours_must_name_them() -> None:
    with pytest.raises(InvalidValueError) as raised:
        source_settings(name="s", alert_priority_rule="LOW_DURING_SUPPORT_HOURS")
    assert raised.value.field == "supportHours"
    settings = source_settings(
        name="s", alert_priority_rule="LOW_DURING_SUPPORT_HOURS", support_hours_id=7
    )
    assert settings["support_hours_id"] == 7
    with pytest.raises(InvalidValueError) as raised:
        source_settings(name="s", support_hours_id=0)
    assert raised.value.field == "supportHours"


@pytest.mark.parametrize(
    "text", ["09:00", " 09:00 ", "00:00", "23:59", "24:00", "9:00", "25:00", "12:60", "", "0900"]
)
def test_the_document_patterns_of_times_say_what_the_domain_takes(text: str) -> None:
    for pattern, end in ((START_PATTERN, False), (END_PATTERN, True)):
        field = {"start": text, "end": "12:30"} if not end else {"start": "12:31", "end": text}
        try:
            checked_settings(name="x", timezone="UTC", support_days={"MONDAY": field})
            passes = True
        except InvalidValueError:
            passes = False
        assert (re.search(pattern, text) is not None) == passes, (pattern, text)
