"""Schedules on the wire (ilert's ``Schedule``, ``ScheduleLayer``, ``Shift``) and the
entries of ``GET /api/on-calls``.

One type serves request and answer: read-only fields (``id``, ``currentShift``...) are
ignored on input, so a client may send back what it read. Times are strings the domain
parses: with an offset, or without one as wall-clock times in the schedule's ``timezone``;
answers write RFC 3339 UTC with milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.schedule import (
    DEFAULT_SHIFT_DURATION,
    MAX_LAYER_USERS,
    MAX_LAYERS,
    MAX_RESTRICTIONS,
    MAX_SHIFTS,
    DayOfWeek,
    RestrictionType,
    ScheduleType,
)
from .common import (
    DURATION_PATTERN,
    Id,
    IdText,
    Name,
    ReadOnlyTime,
    UserRef,
    spaces,
    time_zone,
)
from .team_refs import Teams
from .visibility import Masking, secret

TIME_TEXT = (
    "ISO-8601 date-time; without an offset (2026-03-02T09:00) a wall-clock time in the "
    "schedule's timezone. Answers: RFC 3339, UTC, milliseconds."
)

#: A time as a request may give it (answers always write the UTC form).
Time = Annotated[
    str,
    msgspec.Meta(
        description=TIME_TEXT + " Years 1900 to 9000.",
        # the years the domain takes, as a prefix
        extra_json_schema={
            "format": "date-time",
            "pattern": spaces(r"^\s*(?:19[0-9]{2}|[2-8][0-9]{3}|9000)-"),
        },
    ),
]

#: A user in a layer or shift: ``{"id": n}`` (names added on output); bare ids accepted.
Member = UserRef | Id | IdText


class Shift(msgspec.Struct, kw_only=True):
    """One user on call over [start, end). In requests only user.id is read."""

    user: Member
    start: Time
    end: Annotated[Time, msgspec.Meta(description=TIME_TEXT + " Exclusive.")]


class TimeOfWeek(msgspec.Struct, kw_only=True):
    """A point of the week; under TIME_OF_DAY the day is ignored and may be left out (or
    empty, as ilert-go sends it)."""

    time: Annotated[
        str, msgspec.Meta(description="HH:mm", extra_json_schema={"pattern": r"^\d{2}:\d{2}"})
    ]
    dayOfWeek: DayOfWeek | Literal[""] | None = None


class ScheduleLayerRestriction(msgspec.Struct, kw_only=True):
    """A window when the layer is on; ``to`` at or before ``from`` wraps over the week's
    (TIME_OF_DAY: the day's) end."""

    from_: TimeOfWeek = msgspec.field(name="from")
    to: TimeOfWeek


class ScheduleLayer(msgspec.Struct, kw_only=True):
    """A rotation of users; later layers win over earlier ones."""

    startsOn: Annotated[
        Time, msgspec.Meta(description=TIME_TEXT + " Handoffs repeat at its wall-clock time.")
    ]
    users: Annotated[
        list[Member],
        msgspec.Meta(
            max_length=MAX_LAYER_USERS,
            description="rotated in order; requests need only ids",
            extra_json_schema={"minItems": 1},
        ),
    ]
    rotation: Annotated[
        str,
        msgspec.Meta(
            description="ISO-8601 duration, at least PT1H, e.g. P7D",
            extra_json_schema={"pattern": DURATION_PATTERN},
        ),
    ]
    name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    endsOn: Time | None = None
    restrictionType: (
        Annotated[
            RestrictionType,
            msgspec.Meta(
                description="answered as sent; TIMES_OF_WEEK when restrictions come without one; "
                "TIME_OF_DAY: each window every day"
            ),
        ]
        | None
    ) = None
    restrictions: (
        Annotated[list[ScheduleLayerRestriction], msgspec.Meta(max_length=MAX_RESTRICTIONS)] | None
    ) = None


_ReadOnlyShift = Annotated[
    Shift, msgspec.Meta(description="read-only", extra_json_schema={"readOnly": True})
]


class Schedule(msgspec.Struct, kw_only=True):
    """PUT replaces every setting but ``teams``, which an absent or null field keeps
    (``[]`` clears them); overrides are a sub-resource a PUT keeps. GET answers
    scheduleLayers, shifts, currentShift and nextShift only when ``include`` names them;
    create, replace and override answers carry them all."""

    name: Name
    timezone: time_zone("IANA zone, e.g. Europe/Berlin")  # type: ignore[valid-type]
    type: ScheduleType | None = None
    scheduleLayers: (
        Annotated[
            list[ScheduleLayer],
            msgspec.Meta(max_length=MAX_LAYERS, description="RECURRING; later layers win"),
        ]
        | None
    ) = None
    shifts: (
        Annotated[list[Shift], msgspec.Meta(max_length=MAX_SHIFTS, description="STATIC")] | None
    ) = None
    teams: Teams | None = None
    showGaps: (
        Annotated[bool, msgspec.Meta(description="stored and answered; default false")] | None
    ) = None
    defaultShiftDuration: (
        Annotated[
            str,
            msgspec.Meta(
                description="ISO-8601 duration, answered as sent; default "
                + DEFAULT_SHIFT_DURATION,
                extra_json_schema={"pattern": DURATION_PATTERN},
            ),
        ]
        | None
    ) = None
    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    currentShift: _ReadOnlyShift | None = None
    nextShift: _ReadOnlyShift | None = None
    icalUrl: (
        Annotated[
            str,
            msgspec.Meta(description="read-only: the iCalendar feed, with its token"),
            secret(Masking.URL, "the feed token reads every shift without an API key"),
        ]
        | None
    ) = None


class ScheduleName(msgspec.Struct, kw_only=True):
    id: int
    name: str


class OnCall(msgspec.Struct, kw_only=True):
    """Who is on call for a schedule, over [start, end)."""

    user: UserRef
    schedule: ScheduleName
    start: ReadOnlyTime
    end: ReadOnlyTime


#: Which kind a body makes, as the route decides it: RECURRING (the default) needs a layer;
#: STATIC is named, or taken when only shifts are given.
KIND_RULES = {
    "anyOf": [
        {"required": ["type"], "properties": {"type": {"const": "STATIC"}}},
        {
            "required": ["scheduleLayers"],
            "properties": {"scheduleLayers": {"type": "array", "minItems": 1}},
        },
        {
            "required": ["shifts"],
            "properties": {"shifts": {"type": "array", "minItems": 1}, "type": {"type": "null"}},
        },
    ]
}
#: A schedule as POST and PUT take it.
ScheduleInput = Annotated[Schedule, msgspec.Meta(extra_json_schema=KIND_RULES)]
