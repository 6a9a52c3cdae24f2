"""On-call schedules: who is on call when, as layers (RECURRING) or fixed shifts (STATIC).

Commands check every rule, then record a past-tense event. Input is validated by turning it
into a canonical, JSON-ready *spec* (times as ISO UTC strings, users as ids) and building the
pure ``ilertd.oncall.Schedule`` from it: whatever that refuses is refused here too, with the
field named as the API spells it (``scheduleLayers[0].rotation``). Overrides are a
sub-resource: a ``PUT`` of the schedule keeps them.

Users are referenced by id only; whether they exist is a question for the read model, which
the HTTP layer asks (``user_fields`` lists every reference with its field).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from .. import oncall
from ..oncall.walltime import load_zone, to_utc
from .errors import InvalidValueError
from .lifecycle import Deletable
from .wire_time import wire_time


class ScheduleType(StrEnum):
    STATIC = "STATIC"
    RECURRING = "RECURRING"


DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
DAYS: tuple[str, ...] = get_args(DayOfWeek)
#: ilert's API writes TIMES_OF_WEEK; ilert-go sends TIME_OF_WEEK or TIME_OF_DAY (the same
#: window every day, its dayOfWeek ignored). Stored and answered as sent.
RestrictionType = Literal["TIMES_OF_WEEK", "TIME_OF_WEEK", "TIME_OF_DAY"]
RESTRICTION_TYPES: tuple[str, ...] = get_args(RestrictionType)
RESTRICTION_TYPE = "TIMES_OF_WEEK"
DAILY = "TIME_OF_DAY"
#: what a schedule answers when no defaultShiftDuration was given (ilert's example value)
DEFAULT_SHIFT_DURATION = "P7D"
MAX_NAME = 255
MAX_LAYERS = 50
MAX_LAYER_USERS = 500
MAX_RESTRICTIONS = 100
#: Static shifts and overrides each; enough for years of hand-made shifts.
MAX_SHIFTS = 5_000
MAX_TEAMS = 100
INT64_MAX = 2**63 - 1
MIN_YEAR, MAX_YEAR = 1900, 9000
MAX_ROTATION = timedelta(days=366)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


# --- parsing helpers: each raises InvalidValueError naming the field ------------------------


def _name(field: str, value: Any, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidValueError(field, "is required and must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidValueError(field, f"must be at most {MAX_NAME} characters")
    if _CONTROL.search(name):
        raise InvalidValueError(field, "must not contain control characters")
    return name


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidValueError("timezone", "must be an IANA zone name such as Europe/Berlin")
    name = value.strip()
    try:
        oncall.Schedule(timezone=name, layers=())
    except ValueError:
        raise InvalidValueError("timezone", f"unknown IANA zone {name[:64]!r}") from None
    return name


def _type(value: Any) -> str:
    if isinstance(value, str) and value.strip().upper() in ScheduleType.__members__:
        return value.strip().upper()
    raise InvalidValueError("type", "must be STATIC or RECURRING")


def _list(field: str, value: Any, cap: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidValueError(field, "must be a list")
    if len(value) > cap:
        raise InvalidValueError(field, f"must have at most {cap} items")
    return value


def _id(field: str, value: Any) -> int:
    """``{"id": n}`` as ilert references things, or a bare id."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INT64_MAX:
        raise InvalidValueError(field, 'must be {"id": <positive integer>}')
    return value


def parse_instant(field: str, value: Any, zone: ZoneInfo | None = None) -> datetime:
    """An ISO-8601 date-time with an offset (``Z`` or ``+01:00``), as a UTC datetime.

    With ``zone``, a date-time without an offset (``2026-03-02T09:00``, as the Terraform
    provider writes them) is a wall-clock time there (a DST gap moves it forward, a repeated
    hour takes the first); a bare date is still refused.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and 0 < len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValueError(
                field, "must be an ISO-8601 date-time such as 2026-03-01T09:00:00+01:00"
            ) from None
    else:
        raise InvalidValueError(field, "must be an ISO-8601 date-time string")
    naive = moment.utcoffset() is None
    if naive and (zone is None or not isinstance(value, str) or "T" not in value.upper()):
        raise InvalidValueError(field, "must have a UTC offset (Z or +hh:mm)")
    try:
        moment = to_utc(moment, zone) if naive and zone is not None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidValueError(field, "is out of range") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:  # leaves room for window arithmetic
        raise InvalidValueError(field, f"must be in the years {MIN_YEAR} to {MAX_YEAR}")
    return moment


#: The API's and the events' form of an instant.
iso = wire_time


def _at(prefix: str, name: str) -> str:
    """``prefix`` then ``name`` (``.user``, ``[0]``); with no prefix, ``name`` alone."""
    return prefix + name if prefix else name.lstrip(".") or "body"


def _shift(field: str, value: Any, zone: ZoneInfo) -> dict[str, Any]:
    """``{user: {id}, start, end}`` -> ``{"user": id, "start": iso, "end": iso}``."""
    if not isinstance(value, dict):
        raise InvalidValueError(_at(field, ""), "must be an object {user: {id}, start, end}")
    user = _id(_at(field, ".user"), value.get("user"))
    start = parse_instant(_at(field, ".start"), value.get("start"), zone)
    end = parse_instant(_at(field, ".end"), value.get("end"), zone)
    if end <= start:
        raise InvalidValueError(_at(field, ".end"), "must be after start")
    return {"user": user, "start": iso(start), "end": iso(end)}


def _weekly_point(field: str, value: Any, daily: bool) -> dict[str, str | None]:
    """``{dayOfWeek, time}``; a daily (TIME_OF_DAY) point may leave the day out (None)."""
    if not isinstance(value, dict):
        raise InvalidValueError(field, 'must be {"dayOfWeek": "MONDAY", "time": "HH:mm"}')
    day = value.get("dayOfWeek")
    if daily and (day is None or day == ""):
        day = None
    elif not isinstance(day, str) or day.strip().upper() not in DAYS:
        raise InvalidValueError(f"{field}.dayOfWeek", "must be MONDAY .. SUNDAY")
    clock = value.get("time")
    match = _TIME.fullmatch(clock.strip()) if isinstance(clock, str) else None
    if match is None:
        raise InvalidValueError(f"{field}.time", "must be a time of day HH:mm")
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    text = f"{hours}:{minutes}" + (f":{seconds}" if seconds and seconds != "00" else "")
    return {"dayOfWeek": None if day is None else day.strip().upper(), "time": text}


def _restriction(field: str, value: Any, daily: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValueError(field, "must be an object {from, to}")
    return {
        "from": _weekly_point(f"{field}.from", value.get("from"), daily),
        "to": _weekly_point(f"{field}.to", value.get("to"), daily),
    }


def _restriction_type(field: str, value: Any, restrictions: list[Any]) -> str | None:
    """As sent (upper-cased); TIMES_OF_WEEK when restrictions come without one."""
    if value is None:
        return RESTRICTION_TYPE if restrictions else None
    if not isinstance(value, str) or value.strip().upper() not in RESTRICTION_TYPES:
        raise InvalidValueError(field, f"must be one of {', '.join(RESTRICTION_TYPES)}")
    return value.strip().upper()


def _layer(field: str, value: Any, zone: ZoneInfo) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValueError(field, "must be an object")
    starts_on = value.get("startsOn")
    if starts_on is None:
        raise InvalidValueError(f"{field}.startsOn", "is required")
    ends_on = value.get("endsOn")
    rotation = value.get("rotation")
    if not isinstance(rotation, str):
        raise InvalidValueError(f"{field}.rotation", "must be an ISO-8601 duration such as P7D")
    try:
        parsed = oncall.Rotation.parse(rotation[:64])
    except ValueError as exc:
        raise InvalidValueError(f"{field}.rotation", _reason(exc)) from None
    except OverflowError:
        parsed = None
    if parsed is None or parsed.delta > MAX_ROTATION:
        raise InvalidValueError(f"{field}.rotation", f"must be at most P{MAX_ROTATION.days}D")
    rotation = str(parsed)
    restrictions = _list(f"{field}.restrictions", value.get("restrictions"), MAX_RESTRICTIONS)
    restriction_type = _restriction_type(
        f"{field}.restrictionType", value.get("restrictionType"), restrictions
    )
    daily = restriction_type == DAILY
    users = _list(f"{field}.users", value.get("users"), MAX_LAYER_USERS)
    if not users:
        raise InvalidValueError(f"{field}.users", "must name at least one user")
    return {
        "name": _name(f"{field}.name", value.get("name"), required=False),
        "startsOn": iso(parse_instant(f"{field}.startsOn", starts_on, zone)),
        "endsOn": None if ends_on is None else iso(parse_instant(f"{field}.endsOn", ends_on, zone)),
        "users": [_id(f"{field}.users[{i}]", user) for i, user in enumerate(users)],
        "rotation": rotation,
        "restrictionType": restriction_type,
        "restrictions": [
            _restriction(f"{field}.restrictions[{i}]", item, daily)
            for i, item in enumerate(restrictions)
        ],
    }


def _reason(exc: ValueError) -> str:
    """``"rotation: must be at least PT1H"`` -> ``"must be at least PT1H"``."""
    return str(exc).partition(": ")[2] or str(exc)


def _shifts(field: str, value: Any, zone: ZoneInfo) -> list[dict[str, Any]]:
    items = _list(field or "body", value, MAX_SHIFTS)
    return [_shift(f"{field}[{i}]", item, zone) for i, item in enumerate(items)]


def checked_overrides(value: Any, timezone: str, field: str = "overrides") -> list[dict[str, Any]]:
    """A list of override Shifts in canonical form, or InvalidValueError naming the item
    (``field`` is the list's name; empty when the list is the whole body)."""
    return _shifts(field, value, load_zone(timezone))


def checked_override(value: Any, timezone: str, field: str = "override") -> dict[str, Any]:
    """One override Shift (the body of ``POST .../overrides``) in canonical form."""
    return _shift(field, value, load_zone(timezone))


def _shift_duration(value: Any) -> str:
    """An ISO-8601 duration (PT8H, P7D), kept as sent (upper-cased) so clients that compare
    it with their configuration (the Terraform provider) see no change."""
    if value is None:
        return DEFAULT_SHIFT_DURATION
    if not isinstance(value, str):
        raise InvalidValueError("defaultShiftDuration", "must be an ISO-8601 duration such as P7D")
    try:
        parsed = oncall.Rotation.parse(value[:64])
    except (ValueError, OverflowError) as exc:
        raise InvalidValueError("defaultShiftDuration", _reason(exc)) from None
    if parsed.delta > MAX_ROTATION:
        raise InvalidValueError("defaultShiftDuration", f"must be at most P{MAX_ROTATION.days}D")
    return value.strip().upper()


def _show_gaps(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidValueError("showGaps", "must be true or false")
    return value


def checked_spec(
    *,
    name: Any,
    timezone: Any,
    schedule_type: Any,
    schedule_layers: Any = None,
    shifts: Any = None,
    teams: Any = None,
    show_gaps: Any = None,
    default_shift_duration: Any = None,
) -> dict[str, Any]:
    """Every setting validated and normalised, as stored in the events. Times without an
    offset are wall-clock times in ``timezone``."""
    kind = _type(schedule_type)
    name = _name("name", name)
    timezone = _timezone(timezone)
    zone = load_zone(timezone)
    layers = _list("scheduleLayers", schedule_layers, MAX_LAYERS)
    spec = {
        "name": name,
        "timezone": timezone,
        "schedule_type": kind,
        "layers": [_layer(f"scheduleLayers[{i}]", layer, zone) for i, layer in enumerate(layers)]
        if kind == ScheduleType.RECURRING
        else [],
        "shifts": _shifts("shifts", shifts, zone) if kind == ScheduleType.STATIC else [],
        # sorted, without duplicates: a PUT that only reorders them changes nothing
        "teams": sorted(
            {_id(f"teams[{i}]", t) for i, t in enumerate(_list("teams", teams, MAX_TEAMS))}
        ),
        "show_gaps": _show_gaps(show_gaps),
        "default_shift_duration": _shift_duration(default_shift_duration),
    }
    if kind == ScheduleType.RECURRING and not spec["layers"]:
        raise InvalidValueError("scheduleLayers", "a RECURRING schedule needs at least one layer")
    build_oncall(spec, [])  # the on-call model's own rules
    return spec


# --- the pure on-call model from a spec ---------------------------------------------------


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _clock(text: str) -> time:
    return time.fromisoformat(text)


def _oncall_shift(shift: dict[str, Any]) -> oncall.Shift:
    return oncall.Shift(shift["user"], _moment(shift["start"]), _moment(shift["end"]))


def _oncall_layer(layer: dict[str, Any]) -> oncall.Layer:
    daily = layer["restrictionType"] == DAILY
    return oncall.Layer(
        name=layer["name"],
        starts_on=_moment(layer["startsOn"]),
        ends_on=None if layer["endsOn"] is None else _moment(layer["endsOn"]),
        users=tuple(layer["users"]),
        rotation=oncall.Rotation.parse(layer["rotation"]),
        restrictions=tuple(
            restriction
            for item in layer["restrictions"]
            for restriction in (_daily(item) if daily else (_weekly(item),))
        ),
    )


def _weekly(item: dict[str, Any]) -> oncall.Restriction:
    return oncall.Restriction(
        from_day=DAYS.index(item["from"]["dayOfWeek"]),
        from_time=_clock(item["from"]["time"]),
        to_day=DAYS.index(item["to"]["dayOfWeek"]),
        to_time=_clock(item["to"]["time"]),
    )


def _daily(item: dict[str, Any]) -> tuple[oncall.Restriction, ...]:
    """A TIME_OF_DAY window as seven weekly ones; one ending at or before its start ends
    the next day (22:00 to 06:00 is the night, 09:00 to 09:00 the whole day)."""
    opens, closes = _clock(item["from"]["time"]), _clock(item["to"]["time"])
    overnight = closes <= opens
    return tuple(
        oncall.Restriction(
            from_day=day, from_time=opens, to_day=(day + overnight) % 7, to_time=closes
        )
        for day in range(7)
    )


def build_oncall(spec: dict[str, Any], overrides: list[dict[str, Any]]) -> oncall.Schedule:
    """The ``ilertd.oncall.Schedule`` of a spec (as ``checked_spec`` gives) and overrides.

    Its ValueErrors become InvalidValueError naming the API field (``scheduleLayers[1].
    endsOn``), so a spec it refuses is never recorded.
    """
    layers: list[oncall.Layer] = []
    for i, layer in enumerate(spec["layers"]):
        try:
            layers.append(_oncall_layer(layer))
        except ValueError as exc:
            raise _field_error(f"scheduleLayers[{i}]", exc) from None
    static = None
    if spec["schedule_type"] == ScheduleType.STATIC:
        static = tuple(_converted("shifts", spec["shifts"]))
    try:
        return oncall.Schedule(
            timezone=spec["timezone"],
            layers=tuple(layers),
            overrides=tuple(_converted("overrides", overrides)),
            static_shifts=static,
        )
    except ValueError as exc:
        raise _field_error("", exc) from None


def _converted(field: str, shifts: list[dict[str, Any]]) -> Iterator[oncall.Shift]:
    for i, shift in enumerate(shifts):
        try:
            yield _oncall_shift(shift)
        except ValueError as exc:
            raise _field_error(f"{field}[{i}]", exc) from None


def _field_error(prefix: str, exc: ValueError) -> InvalidValueError:
    field, _, reason = str(exc).partition(": ")
    if not reason:
        field, reason = "", str(exc)
    path = ".".join(part for part in (prefix, field) if part) or "body"
    return InvalidValueError(path, reason)


#: abort-on-gaps looks this far into each stretch where the same layers are active: their
#: restrictions repeat weekly, so a week and a day (for DST) shows every gap the stretch has.
_GAP_PROBE = timedelta(days=8)


def first_gap(spec: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The first span nobody covers (overrides aside) between the schedule's first start
    and its last end (open-ended layers: forever), or None; for ``?abort-on-gaps=true``."""
    schedule = build_oncall(spec, [])
    if schedule.static_shifts is not None:
        shifts = schedule.static_shifts
        if not shifts:
            return None
        low, high = min(s.start for s in shifts), max(s.end for s in shifts)
        return next(iter(oncall.uncovered(schedule, low, high)), None)
    layers = schedule.layers
    bounds = sorted(
        {layer.starts_on for layer in layers}
        | {layer.ends_on for layer in layers if layer.ends_on is not None}
    )
    open_ended = any(layer.ends_on is None for layer in layers)
    stretches = list(pairwise(bounds))
    if open_ended:
        stretches.append((bounds[-1], bounds[-1] + _GAP_PROBE))
    for low, high in stretches:
        found = oncall.uncovered(schedule, low, min(high, low + _GAP_PROBE))
        if found:
            return found[0]
    return None


def user_fields(spec: dict[str, Any], overrides: list[dict[str, Any]]) -> Iterator[tuple[str, int]]:
    """Every user reference with the field that holds it, for the existence check."""
    for i, layer in enumerate(spec["layers"]):
        for j, user in enumerate(layer["users"]):
            yield f"scheduleLayers[{i}].users[{j}]", user
    for i, shift in enumerate(spec["shifts"]):
        yield f"shifts[{i}].user", shift["user"]
    for i, shift in enumerate(overrides):
        yield f"overrides[{i}].user", shift["user"]


# --- the aggregate ------------------------------------------------------------------------


class Schedule(Deletable, Aggregate):
    """A schedule. Deleted schedules stay in the stream (history) but refuse commands."""

    label = "schedule"

    @classmethod
    def create(cls, **settings: Any) -> Schedule:
        """A new schedule; settings as ``checked_spec`` takes them."""
        return cls(**checked_spec(**settings))

    @event("Created")
    def __init__(
        self,
        name: str,
        timezone: str,
        schedule_type: str,
        layers: list[dict[str, Any]],
        shifts: list[dict[str, Any]],
        teams: list[int],
        show_gaps: bool = False,
        default_shift_duration: str = DEFAULT_SHIFT_DURATION,
    ) -> None:
        self.deleted = False
        self.overrides: list[dict[str, Any]] = []
        self._assign(
            name=name,
            timezone=timezone,
            schedule_type=schedule_type,
            layers=layers,
            shifts=shifts,
            teams=teams,
            show_gaps=show_gaps,
            default_shift_duration=default_shift_duration,
        )

    def _assign(self, **spec: Any) -> None:
        self.name: str = spec["name"]
        self.timezone: str = spec["timezone"]
        self.schedule_type: str = spec["schedule_type"]
        self.layers: list[dict[str, Any]] = spec["layers"]
        self.shifts: list[dict[str, Any]] = spec["shifts"]
        self.teams: list[int] = spec["teams"]
        self.show_gaps: bool = spec["show_gaps"]
        self.default_shift_duration: str = spec["default_shift_duration"]

    @property
    def spec(self) -> dict[str, Any]:
        """The replaceable settings, as ``checked_spec`` gives them."""
        return {
            "name": self.name,
            "timezone": self.timezone,
            "schedule_type": self.schedule_type,
            "layers": self.layers,
            "shifts": self.shifts,
            "teams": self.teams,
            "show_gaps": self.show_gaps,
            "default_shift_duration": self.default_shift_duration,
        }

    def to_oncall(self) -> oncall.Schedule:
        return build_oncall(self.spec, self.overrides)

    def update(self, **settings: Any) -> None:
        """Replace every setting (PUT semantics; overrides stay); nothing when unchanged."""
        self._require_live()
        checked = checked_spec(**settings)
        build_oncall(checked, self.overrides)
        if checked != self.spec:
            self._updated(**checked)

    @event("Updated")
    def _updated(
        self,
        name: str,
        timezone: str,
        schedule_type: str,
        layers: list[dict[str, Any]],
        shifts: list[dict[str, Any]],
        teams: list[int],
        show_gaps: bool = False,
        default_shift_duration: str = DEFAULT_SHIFT_DURATION,
    ) -> None:
        self._assign(
            name=name,
            timezone=timezone,
            schedule_type=schedule_type,
            layers=layers,
            shifts=shifts,
            teams=teams,
            show_gaps=show_gaps,
            default_shift_duration=default_shift_duration,
        )

    def add_override(self, shift: Any, field: str = "override") -> None:
        """One more override (a Shift ``{user: {id}, start, end}``); later ones win.
        ``field`` names it in errors (empty: it is the whole body)."""
        self._require_live()
        checked = checked_override(shift, self.timezone, field)
        if len(self.overrides) >= MAX_SHIFTS:
            raise InvalidValueError(
                field or "body", f"a schedule has at most {MAX_SHIFTS} overrides"
            )
        build_oncall(self.spec, [*self.overrides, checked])
        self._override_added(override=checked)

    @event("OverrideAdded")
    def _override_added(self, override: dict[str, Any]) -> None:
        self.overrides = [*self.overrides, override]

    def replace_overrides(self, shifts: Any, field: str = "overrides") -> None:
        """All overrides at once (``PUT .../overrides``); nothing when unchanged."""
        self._require_live()
        checked = checked_overrides(shifts, self.timezone, field)
        build_oncall(self.spec, checked)
        if checked != self.overrides:
            self._overrides_replaced(overrides=checked)

    @event("OverridesReplaced")
    def _overrides_replaced(self, overrides: list[dict[str, Any]]) -> None:
        self.overrides = list(overrides)

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
