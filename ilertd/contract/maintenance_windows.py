"""A maintenance window on the wire, as ilert's ``MaintenanceWindow``."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..domain.maintenance_window import (
    MAX_DESCRIPTION,
    MAX_SERVICES,
    MAX_SOURCES,
    MAX_SUMMARY,
)
from .common import Id, IdText, ReadOnlyTime, spaces, time_zone, trimmed

TIME_TEXT = (
    "ISO-8601 date-time; without an offset (2026-03-02T09:00) a wall-clock time in the "
    "window's timezone (a DST gap moves it forward, a repeated hour takes the first). "
    "Answers: RFC 3339, UTC, milliseconds. Years 1900 to 9000."
)

#: A time as a request may give it (answers always write the UTC form).
Time = Annotated[
    str,
    msgspec.Meta(
        description=TIME_TEXT,
        extra_json_schema={
            "format": "date-time",
            "pattern": spaces(r"^\s*(?:19[0-9]{2}|[2-8][0-9]{3}|9000)-"),
        },
    ),
]


class Reference(msgspec.Struct, kw_only=True):
    """An alert source or service: ``{"id": n}`` on input, its name added on output."""

    id: Id | IdText
    name: Annotated[str, msgspec.Meta(description="read-only")] | None = None


class Notifications(msgspec.Struct, kw_only=True):
    """Kept and answered; ilertd does not send these notifications yet."""

    atCreation: bool | None = None
    atStart: bool | None = None
    atEnd: bool | None = None


class MaintenanceWindow(msgspec.Struct, kw_only=True):
    """Sources in an active window (``start <= now < end``) raise no alerts: the Events API
    answers 202 with ``responseCode`` MAINTENANCE_WINDOW_ACTIVE and records the suppressed
    event; services listed show UNDER_MAINTENANCE meanwhile."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    summary: trimmed(MAX_SUMMARY)  # type: ignore[valid-type]
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] | None = None
    start: Time
    end: Annotated[Time, msgspec.Meta(description="must be after start")]
    timezone: (
        time_zone("IANA zone of start and end when they have no offset; default UTC")  # type: ignore[valid-type]
        | None
    ) = None
    alertSources: (
        Annotated[
            list[Reference | Id | IdText],
            msgspec.Meta(
                max_length=MAX_SOURCES,
                description="alert sources that raise no alerts while the window is active; "
                "each must exist and be visible to the caller",
            ),
        ]
        | None
    ) = None
    services: (
        Annotated[
            list[Reference | Id | IdText],
            msgspec.Meta(
                max_length=MAX_SERVICES,
                description="services that show UNDER_MAINTENANCE while the window is "
                "active; each must exist",
            ),
        ]
        | None
    ) = None
    createdBy: (
        Annotated[str, msgspec.Meta(description="read-only: the creator's username")] | None
    ) = None
    notifications: Notifications | None = None
    state: (
        Annotated[
            str,
            msgspec.Meta(
                description="read-only: OPEN until end (upcoming or active), then CLOSED",
                extra_json_schema={"enum": ["OPEN", "CLOSED"], "readOnly": True},
            ),
        ]
        | None
    ) = None
    active: Annotated[bool, msgspec.Meta(description="read-only: start <= now < end")] | None = None
    suppressedEvents: (
        Annotated[
            int,
            msgspec.Meta(description="read-only: events this window kept from opening alerts"),
        ]
        | None
    ) = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None


class HeldAlert(msgspec.Struct, kw_only=True):
    """What ``POST /api/alerts`` answers (202) for a source in an active maintenance
    window: no alert was created; the request is recorded as a suppressed event."""

    suppressed: bool
    maintenanceWindowId: int
    message: str


class SuppressedEvent(msgspec.Struct, kw_only=True):
    """An event a maintenance window kept from opening an alert."""

    id: Annotated[int, msgspec.Meta(description="the suppression event's position")]
    time: ReadOnlyTime
    alertSource: Reference
    alertKey: str | None = None
    summary: str
    via: Annotated[
        str, msgspec.Meta(description="events-api (the Events API) or rest-api (POST /api/alerts)")
    ]
