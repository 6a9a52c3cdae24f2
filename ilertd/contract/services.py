"""A service on the wire (ilert's ``Service``), its uptime and its outages.

ilert-go sends every field of its struct: ``"id": 0``, ``"status": ""`` and ``"teams":
null`` on a create, so those are accepted and ignored (``status`` is derived, never set).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.service import MAX_ALIAS, MAX_DESCRIPTION, ServiceStatus
from .common import OPTIONAL_TRIMMED_PATTERN, Id, Name, ReadOnlyTime, spaces
from .incidents import Incident
from .team_refs import Teams

#: Blank, or text without control characters but tab and line breaks inside.
DESCRIPTION_PATTERN = spaces(r"^\s*[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\s*$")

#: ignored on input (schemathesis sends none of it)
READ_ONLY = {"readOnly": True}

Status = Literal[tuple(s.value for s in ServiceStatus)]  # type: ignore[valid-type]

STATUS_TEXT = (
    "read-only, derived: the worst impact of the open incidents on the service and "
    "UNDER_MAINTENANCE during a maintenance window naming it (MAJOR_OUTAGE > PARTIAL_OUTAGE "
    "> DEGRADED > UNDER_MAINTENANCE > OPERATIONAL); any of these or empty is ignored on input"
)
DOWN_TEXT = "PARTIAL_OUTAGE or MAJOR_OUTAGE count as down; DEGRADED and UNDER_MAINTENANCE do not"


class ServiceOutage(msgspec.Struct, kw_only=True):
    """A stretch of time the service was down, with the status it had."""

    status: Annotated[
        Literal["PARTIAL_OUTAGE", "MAJOR_OUTAGE"], msgspec.Meta(description=DOWN_TEXT)
    ]
    from_: ReadOnlyTime = msgspec.field(name="from")
    until: Annotated[ReadOnlyTime, msgspec.Meta(description="null while it goes on")] | None = None


Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class UptimePercentage(msgspec.Struct, kw_only=True):
    """Percent of the last 90, 60 and 30 days that were not down, rounded down to three
    decimals (100 only without any downtime)."""

    p90: Percent
    p60: Percent
    p30: Percent


class ServiceUptime(msgspec.Struct, kw_only=True):
    """``include=uptime``: the last 90 days."""

    rangeStart: ReadOnlyTime
    rangeEnd: ReadOnlyTime
    outages: list[ServiceOutage]
    uptimePercentage: UptimePercentage


class Service(msgspec.Struct, kw_only=True):
    """PUT replaces the service: absent fields take their defaults, except ``teams``, which
    an absent or null field keeps (``[]`` clears them). Read-only fields are ignored."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Name
    alias: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_ALIAS,
                description="a short name; trimmed, blank is none",
                extra_json_schema={"pattern": OPTIONAL_TRIMMED_PATTERN},
            ),
        ]
        | None
    ) = None
    description: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_DESCRIPTION,
                description="trimmed, blank is none; lines allowed",
                extra_json_schema={"pattern": DESCRIPTION_PATTERN},
            ),
        ]
        | None
    ) = None
    status: Annotated[Status | Literal[""], msgspec.Meta(description=STATUS_TEXT)] | None = None
    oneOpenIncidentOnly: (
        Annotated[
            bool,
            msgspec.Meta(description="at most one open incident affects it (default false)"),
        ]
        | None
    ) = None
    showUptimeHistory: (
        Annotated[
            bool, msgspec.Meta(description="status pages show its uptime bars (default true)")
        ]
        | None
    ) = None
    teams: Teams | None = None
    subscribed: Annotated[
        bool | None,
        msgspec.Meta(
            description="read-only; include=subscribed (always false for now)",
            extra_json_schema=READ_ONLY,
        ),
    ] = None
    uptime: Annotated[
        ServiceUptime | None,
        msgspec.Meta(description="read-only; include=uptime", extra_json_schema=READ_ONLY),
    ] = None
    incidents: Annotated[
        list[Incident] | None,
        msgspec.Meta(
            description="read-only; include=incidents: the open incidents that affect it",
            extra_json_schema=READ_ONLY,
        ),
    ] = None


class ServiceRef(msgspec.Struct, kw_only=True):
    id: Id
    name: str


class ServiceOutageOf(msgspec.Struct, kw_only=True):
    """One outage of one service (``/api/service-outages``)."""

    service: ServiceRef
    status: Annotated[
        Literal["PARTIAL_OUTAGE", "MAJOR_OUTAGE"], msgspec.Meta(description=DOWN_TEXT)
    ]
    from_: ReadOnlyTime = msgspec.field(name="from")
    until: Annotated[ReadOnlyTime, msgspec.Meta(description="null while it goes on")] | None = None
