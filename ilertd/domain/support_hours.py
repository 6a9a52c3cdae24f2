"""Support hours: the weekly hours (and dated exceptions) in which a team gives support, which
an alert source's ``alertPriorityRule`` ``HIGH_DURING_SUPPORT_HOURS`` or
``LOW_DURING_SUPPORT_HOURS`` turns into an alert's priority at the event's arrival.

Every time is a wall-clock time in the support hours' ``timezone``, read as schedules read
theirs (``oncall.walltime``): a day's ``start`` and ``end`` are turned into instants on that
date, so a 09:00-17:00 day is 8 hours on the DST change days too, and a 00:00-24:00 day is
23 or 25. A time that does not exist (02:30 on Berlin's spring-forward Sunday) is moved
forward by the gap (03:30 CEST); a time that happens twice (02:30 on the fall-back Sunday)
is its first occurrence (CEST), so hours ending at 02:30 that night do not cover the second
02:00-02:30. ``end`` ``24:00`` is the end of the day; an ``end`` at or before ``start``
runs past midnight into the next day (22:00-06:00 on FRIDAY covers Saturday morning). A day
absent or null has no support.

``exceptions`` override the days: while one holds (``start`` included, ``end`` excluded),
its ``supportStatus`` decides, DURING (support) or OUTSIDE (none); where several hold, the
first listed wins. Their ``start`` and ``end`` are dates (``2026-12-24``: from that day's
00:00; as an ``end``, through that whole day) or date-times without an offset
(``2026-12-24T13:00``), wall-clock times in the zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from ..oncall.walltime import load_zone, to_local, to_utc
from .errors import InvalidValueError
from .lifecycle import Replaceable
from .team_ids import checked_teams
from .text import checked_name

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
STATUSES = ("DURING", "OUTSIDE")
MAX_EXCEPTIONS = 100
MAX_EXCEPTION_NAME = 255
#: "HH:MM", 00:00 to 23:59; an end may also be 24:00
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
END_OF_DAY = "24:00"
MINUTES_PER_DAY = 24 * 60


def _timezone(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidValueError("timezone", "is required: an IANA zone name such as Europe/Berlin")
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidValueError("timezone", "must be an IANA zone name such as Europe/Berlin")
    try:
        load_zone(value.strip())
    except ValueError:
        raise InvalidValueError("timezone", f"unknown IANA zone {value.strip()[:64]!r}") from None
    return value.strip()


def _clock(field: str, value: Any, *, end: bool) -> str:
    if isinstance(value, str):
        text = value.strip()
        if _CLOCK.fullmatch(text) or (end and text == END_OF_DAY):
            return text
    hint = "00:00 to 24:00" if end else "00:00 to 23:59"
    raise InvalidValueError(field, f"must be a time of day HH:MM, {hint}")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _support_days(value: Any) -> dict[str, dict[str, str]]:
    """The days with support, in week order; absent and null days have none."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidValueError("supportDays", "must be an object of MONDAY..SUNDAY")
    unknown = [str(name) for name in value if name not in DAYS]
    if unknown:
        raise InvalidValueError(f"supportDays.{unknown[0][:20]}", "must be MONDAY..SUNDAY")
    days: dict[str, dict[str, str]] = {}
    for name in DAYS:
        span = value.get(name)
        if span is None:
            continue
        if not isinstance(span, Mapping):
            raise InvalidValueError(f"supportDays.{name}", "must be {start, end} or null")
        start = _clock(f"supportDays.{name}.start", span.get("start"), end=False)
        end = _clock(f"supportDays.{name}.end", span.get("end"), end=True)
        if start == end:
            raise InvalidValueError(
                f"supportDays.{name}.end", "must differ from start (a whole day: 00:00 to 24:00)"
            )
        days[name] = {"start": start, "end": end}
    return days


def _local(field: str, value: Any, *, end: bool) -> tuple[str, datetime]:
    """A date or a date-time without an offset, and the wall-clock time it starts (a date
    as an ``end``: the next day's 00:00, so the day is included)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE.fullmatch(text):
                day = date.fromisoformat(text)
                moment = datetime.combine(day, time())
                return text, moment + timedelta(days=1) if end else moment
            if _DATE_TIME.fullmatch(text):
                return text, datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            pass
    raise InvalidValueError(
        field, "must be a date such as 2026-12-24 or a wall-clock time such as 2026-12-24T13:00"
    )


def _exceptions(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise InvalidValueError("exceptions", "must be a list")
    if len(value) > MAX_EXCEPTIONS:
        raise InvalidValueError("exceptions", f"must have at most {MAX_EXCEPTIONS} items")
    found = []
    for index, item in enumerate(value):
        where = f"exceptions[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidValueError(where, "must be {name, start, end, supportStatus}")
        name = item.get("name")
        if name is not None and not (isinstance(name, str) and not name.strip()):
            name = checked_name(name, f"{where}.name", MAX_EXCEPTION_NAME)
        else:
            name = None
        start, starts = _local(f"{where}.start", item.get("start"), end=False)
        end, ends = _local(f"{where}.end", item.get("end"), end=True)
        if ends <= starts:
            raise InvalidValueError(f"{where}.end", "must be after start")
        status = item.get("support_status")
        if status not in STATUSES:
            raise InvalidValueError(f"{where}.supportStatus", "must be DURING or OUTSIDE")
        found.append({"name": name, "start": start, "end": end, "support_status": status})
    return found


def checked_settings(
    *,
    name: Any,
    timezone: Any,
    support_days: Any = None,
    exceptions: Any = None,
    teams: Any = (),
) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field as
    the API spells it."""
    return {
        "name": checked_name(name),
        "timezone": _timezone(timezone),
        "support_days": _support_days(support_days),
        "exceptions": _exceptions(exceptions),
        "teams": checked_teams(teams),
    }


# --- when is support given ---------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """An exception's wall-clock span and whether it gives support."""

    start: datetime
    end: datetime
    during: bool


@dataclass(frozen=True)
class Calendar:
    """Support hours ready to be asked "is this instant within them?" (``within``): built
    once from the stored settings (``calendar``), asked on every event."""

    zone: ZoneInfo
    #: weekday (0 Monday) -> (start, end) in minutes of the day; end > start, up to 48 h
    days: Mapping[int, tuple[int, int]]
    exceptions: Sequence[Override]

    def within(self, instant: datetime) -> bool:
        """Whether support is given at ``instant`` (aware): an exception that holds
        decides, else the day's hours (the day before's, where they run past midnight)."""
        for exception in self.exceptions:
            if to_utc(exception.start, self.zone) <= instant < to_utc(exception.end, self.zone):
                return exception.during
        today = to_local(instant, self.zone).date()
        for day in (today - timedelta(days=1), today):
            span = self.days.get(day.weekday())
            if span is None:
                continue
            midnight = datetime.combine(day, time())
            starts = to_utc(midnight + timedelta(minutes=span[0]), self.zone)
            ends = to_utc(midnight + timedelta(minutes=span[1]), self.zone)
            if starts <= instant < ends:
                return True
        return False


def calendar(settings: Mapping[str, Any]) -> Calendar:
    """The ``Calendar`` of stored settings (as ``checked_settings`` gives them)."""
    days = {}
    for name, span in settings.get("support_days", {}).items():
        start, end = _minutes(span["start"]), _minutes(span["end"])
        days[DAYS.index(name)] = (start, end if end > start else end + MINUTES_PER_DAY)
    exceptions = [
        Override(
            _local("start", item["start"], end=False)[1],
            _local("end", item["end"], end=True)[1],
            item["support_status"] == "DURING",
        )
        for item in settings.get("exceptions", ())
    ]
    return Calendar(load_zone(settings["timezone"]), days, tuple(exceptions))


def priority(rule: str, within: bool | None) -> str:
    """An alert's priority under a source's ``alertPriorityRule``: HIGH or LOW as named;
    ``HIGH_DURING_SUPPORT_HOURS`` HIGH while support is given (``within``) and LOW outside,
    ``LOW_DURING_SUPPORT_HOURS`` the reverse. Without support hours to ask (``within``
    None: a source recorded before they existed) the rule's named level."""
    during = (rule or "HIGH").startswith("HIGH")
    if within is None or not rule.endswith("_DURING_SUPPORT_HOURS"):
        return "HIGH" if during else "LOW"
    return "HIGH" if within == during else "LOW"


# --- the aggregate -----------------------------------------------------------------------


class SupportHours(Replaceable, Aggregate):
    """Support hours. Deleted ones stay in the stream (history, ids) but refuse commands;
    the HTTP layer refuses to delete those an alert source still names."""

    label = "support hours"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, **settings: Any) -> SupportHours:
        """New support hours; settings as ``checked_settings``."""
        return cls(**checked_settings(**settings))

    @event("Created")
    def __init__(
        self,
        name: str,
        timezone: str,
        support_days: dict[str, dict[str, str]],
        exceptions: list[dict[str, Any]],
        teams: list[int],
    ) -> None:
        self.deleted = False
        self._assign(name, timezone, support_days, exceptions, teams)

    def _assign(
        self,
        name: str,
        timezone: str,
        support_days: dict[str, dict[str, str]],
        exceptions: list[dict[str, Any]],
        teams: list[int],
    ) -> None:
        self.name = name
        self.timezone = timezone
        self.support_days = {day: dict(span) for day, span in support_days.items()}
        self.exceptions = [dict(item) for item in exceptions]
        self.teams = list(teams)

    @property
    def settings(self) -> dict[str, Any]:
        """Everything a PUT replaces, as ``checked_settings`` gives it."""
        return {
            "name": self.name,
            "timezone": self.timezone,
            "support_days": {day: dict(span) for day, span in self.support_days.items()},
            "exceptions": [dict(item) for item in self.exceptions],
            "teams": list(self.teams),
        }

    @event("Updated")
    def _updated(
        self,
        name: str,
        timezone: str,
        support_days: dict[str, dict[str, str]],
        exceptions: list[dict[str, Any]],
        teams: list[int],
    ) -> None:
        self._assign(name, timezone, support_days, exceptions, teams)

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
