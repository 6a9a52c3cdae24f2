"""Support hours on the wire (ilert's ``SupportHour``, ilert-go's ``SupportDays``).

ilert-go sends every field of its struct (``"id": 0``, ``"teams": null``), so those are
accepted and ignored. The rules (``domain.support_hours``) check what a schema cannot:
``end`` differing from ``start``, an exception's ``end`` after its ``start``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.support_hours import MAX_EXCEPTION_NAME, MAX_EXCEPTIONS
from .common import OPTIONAL_TRIMMED_PATTERN, Name, spaces, time_zone
from .team_refs import Teams

START_PATTERN = spaces(r"^\s*([01][0-9]|2[0-3]):[0-5][0-9]\s*$")
END_PATTERN = spaces(r"^\s*(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)\s*$")
WHEN_PATTERN = spaces(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?\s*$")
WHEN_TEXT = (
    "a date (2026-12-24; as an end, through that day) or a wall-clock time without an "
    "offset in the support hours' timezone (2026-12-24T13:00)"
)


class SupportDay(msgspec.Struct, kw_only=True):
    """One day's hours, wall-clock times in the zone; an end at or before the start runs
    past midnight into the next day."""

    start: Annotated[
        str, msgspec.Meta(description="HH:MM", extra_json_schema={"pattern": START_PATTERN})
    ]
    end: Annotated[
        str,
        msgspec.Meta(
            description="HH:MM, 24:00 the end of the day; must differ from start",
            extra_json_schema={"pattern": END_PATTERN},
        ),
    ]


class SupportDays(msgspec.Struct, kw_only=True):
    """A day absent or null has no support."""

    MONDAY: SupportDay | None = None
    TUESDAY: SupportDay | None = None
    WEDNESDAY: SupportDay | None = None
    THURSDAY: SupportDay | None = None
    FRIDAY: SupportDay | None = None
    SATURDAY: SupportDay | None = None
    SUNDAY: SupportDay | None = None


class SupportHoursException(msgspec.Struct, kw_only=True):
    """A span that overrides the days: DURING gives support, OUTSIDE none; where several
    hold, the first listed wins."""

    name: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_EXCEPTION_NAME,
                description="trimmed, blank is none",
                extra_json_schema={"pattern": OPTIONAL_TRIMMED_PATTERN},
            ),
        ]
        | None
    ) = None
    start: Annotated[
        str, msgspec.Meta(description=WHEN_TEXT, extra_json_schema={"pattern": WHEN_PATTERN})
    ]
    end: Annotated[
        str,
        msgspec.Meta(
            description=f"{WHEN_TEXT}; must be after start",
            extra_json_schema={"pattern": WHEN_PATTERN},
        ),
    ]
    supportStatus: Literal["DURING", "OUTSIDE"]


class SupportHours(msgspec.Struct, kw_only=True):
    """PUT replaces the support hours: absent fields take their defaults, except ``teams``,
    which an absent or null field keeps (``[]`` clears them)."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Name
    timezone: time_zone("IANA zone the days' and exceptions' times are read in")  # type: ignore[valid-type]
    supportDays: SupportDays | None = None
    exceptions: (
        Annotated[list[SupportHoursException], msgspec.Meta(max_length=MAX_EXCEPTIONS)] | None
    ) = None
    teams: Teams | None = None
