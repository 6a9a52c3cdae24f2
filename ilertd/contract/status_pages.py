"""A status page on the wire (ilert's ``StatusPage``, as ilert-go and the Terraform provider
send and read it), its groups, and the JSON summary the served page offers widgets."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.status_page import (
    ANY_CASE_LABEL,
    LABEL,
    MAX_ELEMENTS,
    MAX_HOST,
    MAX_SERVICES,
    MAX_TEXT,
)
from .alert_actions import URL_PATTERN
from .common import ZONE_NAMES, Id, IdText, Name, ReadOnlyTime
from .team_refs import Teams

_GO_EMPTY = "ilert-go sends an empty string for an unset field: it counts as absent"

Subdomain = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_HOST,
        pattern=rf"^{LABEL}(?:\.{LABEL})*$",
        description="ilert's subdomain: a slug ('acme') or a host name ('acme.ilert.io'); its "
        "first label is the slug the page is served at (/status/<slug>), unique among live "
        "pages (409 when taken)",
    ),
]
Domain = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_HOST,
        pattern=rf"^(?:{ANY_CASE_LABEL}(?:\.{ANY_CASE_LABEL})+)?$",
        description="a custom host name (stored lower-case, unique among live pages: 409); a "
        f"request whose Host header names it is answered the page at /; {_GO_EMPTY}",
    ),
]
OptionalUrl = Annotated[
    str,
    msgspec.Meta(
        max_length=2048,
        description=f"an http(s) URL; {_GO_EMPTY}",
        extra_json_schema={"pattern": f"^$|{URL_PATTERN}"},
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT, description="trimmed; blank is none")]
Title = Annotated[str, msgspec.Meta(max_length=255, description="trimmed; blank is none")]
Zone = Annotated[
    str,
    msgspec.Meta(
        description="IANA zone the page shows times in (UTC when none)",
        extra_json_schema={"enum": [*ZONE_NAMES]},
    ),
]
ElementOption = Literal["expand", "no-graph"]
_ReadOnly = msgspec.Meta(description="read-only", extra_json_schema={"readOnly": True})


class ServiceRef(msgspec.Struct, kw_only=True):
    """A service on the page: ``{"id": n}`` on input (ilert-go sends whole services: their
    other fields are ignored), its name added on output."""

    id: Annotated[Id | IdText, msgspec.Meta(description="a live service (else 400)")]
    name: Annotated[str, _ReadOnly] | None = None


class ServiceElement(msgspec.Struct, kw_only=True, tag_field="type", tag="SERVICE"):
    """A service of the page's ``services``, at most once in the structure."""

    id: Id
    options: list[ElementOption] | None = None
    children: (
        Annotated[list[msgspec.Raw], msgspec.Meta(max_length=0, description="none on a SERVICE")]
        | None
    ) = None


class GroupElement(msgspec.Struct, kw_only=True, tag_field="type", tag="GROUP"):
    """A group of the page's ``groups`` and the services shown in it."""

    id: Id
    options: list[ElementOption] | None = None
    children: Annotated[list[ServiceElement], msgspec.Meta(max_length=MAX_SERVICES)] | None = None


class Structure(msgspec.Struct, kw_only=True):
    """The order of services and groups on the page; none: the services in their order."""

    elements: Annotated[
        list[ServiceElement | GroupElement], msgspec.Meta(max_length=MAX_ELEMENTS)
    ] = msgspec.field(default_factory=list)


class StatusPageGroup(msgspec.Struct, kw_only=True):
    """A group of services on one page; ids count from 1 per page."""

    id: Annotated[int, _ReadOnly] | None = None
    name: Name


class StatusPage(msgspec.Struct, kw_only=True):
    """PUT replaces the page but its groups (managed at ``/groups``) and ``teams``, which
    absent (or null) keeps (``[]`` clears them)."""

    id: Annotated[int, _ReadOnly] | None = None
    name: Name
    subdomain: Subdomain
    domain: Domain | None = None
    timezone: Zone | None = None
    visibility: Annotated[
        Literal["PUBLIC", "PRIVATE", ""],
        msgspec.Meta(
            description="PRIVATE pages are served only to signed-in users (HTTP Basic with a "
            f"user's password, or a Bearer API key); {_GO_EMPTY} (PUBLIC)"
        ),
    ] = "PUBLIC"
    hiddenFromSearch: Annotated[
        bool, msgspec.Meta(description="the page asks search engines not to index it")
    ] = False
    showSubscribeAction: Annotated[
        bool, msgspec.Meta(description="stored; e-mail subscriptions are not served yet")
    ] = False
    showIncidentHistoryOption: Annotated[
        bool, msgspec.Meta(description="stored; the page always shows 90 days of history")
    ] = False
    pageTitle: Title | None = None
    pageDescription: Text | None = None
    pageLayout: (
        Annotated[
            Literal["SINGLE_COLUMN", "RESPONSIVE", ""],
            msgspec.Meta(description=f"SINGLE_COLUMN when absent; {_GO_EMPTY}"),
        ]
        | None
    ) = None
    logoUrl: OptionalUrl | None = None
    faviconUrl: OptionalUrl | None = None
    appearance: (
        Annotated[
            Literal["LIGHT", "DARK", ""],
            msgspec.Meta(description=f"LIGHT when absent (and no themeMode); {_GO_EMPTY}"),
        ]
        | None
    ) = None
    themeMode: (
        Annotated[
            Literal["LIGHT", "DARK", ""],
            msgspec.Meta(description="deprecated spelling of appearance, read when it is absent"),
        ]
        | None
    ) = None
    announcement: (
        Annotated[str, msgspec.Meta(max_length=MAX_TEXT, description="shown on top of the page")]
        | None
    ) = None
    services: (
        Annotated[
            list[ServiceRef],
            msgspec.Meta(max_length=MAX_SERVICES, description="in the order the page shows them"),
        ]
        | None
    ) = None
    groups: (
        Annotated[
            list[StatusPageGroup],
            msgspec.Meta(description="read-only here: managed at /api/status-pages/{id}/groups"),
        ]
        | None
    ) = None
    structure: Structure | None = None
    subscribed: (
        Annotated[bool, msgspec.Meta(description="read-only; include=subscribed")] | None
    ) = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
    teams: Teams | None = None


# -- the served page's JSON summary ------------------------------------------------------

ServiceStatus = Literal[
    "OPERATIONAL", "UNDER_MAINTENANCE", "DEGRADED", "PARTIAL_OUTAGE", "MAJOR_OUTAGE"
]


class SummaryService(msgspec.Struct, kw_only=True):
    id: int
    name: str
    status: ServiceStatus


class SummaryGroup(msgspec.Struct, kw_only=True):
    id: int
    name: str
    status: Annotated[ServiceStatus, msgspec.Meta(description="its worst service's")]
    services: list[int]


class SummaryUpdate(msgspec.Struct, kw_only=True):
    """A published status update, as posted: nothing internal of its incident."""

    id: int
    incidentId: int
    status: Literal["INVESTIGATING", "IDENTIFIED", "MONITORING", "RESOLVED"]
    summary: str
    message: str | None = None
    createdAt: ReadOnlyTime
    services: list[int]


class SummaryMaintenance(msgspec.Struct, kw_only=True):
    id: int
    summary: str
    start: ReadOnlyTime
    end: ReadOnlyTime
    services: list[int]


class StatusSummary(msgspec.Struct, kw_only=True):
    """What a widget needs: the page's worst status, each service's and group's, the open
    status updates and upcoming maintenance."""

    name: str
    url: Annotated[str, msgspec.Meta(description="the page, relative to the daemon")]
    status: Annotated[ServiceStatus, msgspec.Meta(description="the worst of its services")]
    announcement: str | None = None
    services: list[SummaryService]
    groups: list[SummaryGroup]
    openUpdates: list[SummaryUpdate]
    upcomingMaintenance: list[SummaryMaintenance]
    updatedAt: ReadOnlyTime
