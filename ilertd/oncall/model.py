"""Immutable schedule types; each validates itself so bad input fails at the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from .rotation import Rotation
from .walltime import load_zone, require_aware

T = TypeVar("T")


def _set(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass during __post_init__."""
    object.__setattr__(obj, name, value)


def _user_id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field}: must be a non-negative integer user id")
    return value


@dataclass(frozen=True)
class Shift:
    """One user on call over the half-open UTC interval [start, end)."""

    user_id: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _user_id(self.user_id, "user")
        _set(self, "start", require_aware(self.start, "start"))
        _set(self, "end", require_aware(self.end, "end"))
        if self.end <= self.start:
            raise ValueError("end: must be after start")

    def covers(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Restriction:
    """A weekly window in the schedule's zone; from after to wraps over the week end.

    from == to means the whole week (a natural way to write "always").
    """

    from_day: int
    from_time: time
    to_day: int
    to_time: time

    def __post_init__(self) -> None:
        for field in ("from_day", "to_day"):
            day = getattr(self, field)
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"restrictions.{field}: must be 0 (Monday) .. 6 (Sunday)")
        for field in ("from_time", "to_time"):
            value = getattr(self, field)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"restrictions.{field}: must be a naive time of day")


@dataclass(frozen=True)
class Layer:
    """A rotation of users from starts_on (inclusive) to ends_on (exclusive, or open)."""

    name: str
    starts_on: datetime
    ends_on: datetime | None
    users: tuple[int, ...]
    rotation: Rotation
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError("name: must be a string")
        _set(self, "starts_on", require_aware(self.starts_on, "startsOn"))
        if self.ends_on is not None:
            _set(self, "ends_on", require_aware(self.ends_on, "endsOn"))
            if self.ends_on <= self.starts_on:
                raise ValueError("endsOn: must be after startsOn")
        users = tuple(self.users)
        if not users:
            raise ValueError("users: must not be empty")
        _set(self, "users", tuple(_user_id(u, "users") for u in users))
        if isinstance(self.rotation, str):
            _set(self, "rotation", Rotation.parse(self.rotation))
        elif not isinstance(self.rotation, Rotation):
            raise ValueError("rotation: expected an ISO-8601 duration")
        restrictions = tuple(self.restrictions)
        if not all(isinstance(r, Restriction) for r in restrictions):
            raise ValueError("restrictions: expected Restriction items")
        _set(self, "restrictions", restrictions)


@dataclass(frozen=True)
class Schedule:
    """RECURRING (layers) or STATIC (static_shifts given: layers ignored); overrides on top."""

    timezone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Shift, ...] = ()
    static_shifts: tuple[Shift, ...] | None = None

    def __post_init__(self) -> None:
        load_zone(self.timezone)
        _set(self, "layers", _items(self.layers, Layer, "scheduleLayers"))
        _set(self, "overrides", _items(self.overrides, Shift, "overrides"))
        if self.static_shifts is not None:
            _set(self, "static_shifts", _items(self.static_shifts, Shift, "shifts"))

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.timezone)

    @property
    def is_static(self) -> bool:
        return self.static_shifts is not None


def _items(values: object, kind: type[T], field: str) -> tuple[T, ...]:
    try:
        items = tuple(values)  # type: ignore[call-overload]
    except TypeError as exc:
        raise ValueError(f"{field}: expected a sequence") from exc
    if not all(isinstance(item, kind) for item in items):
        raise ValueError(f"{field}: expected {kind.__name__} items")
    return items
