"""Incidents on the wire: ilertd's design in ilert's style (ilert has published no REST
shape for its new incident record), a superset of ilert's older ``Incident`` (``summary``,
``status``, ``message``, ``sendNotification``, ``affectedServices``), which is accepted on
the same path as declaring an incident and posting its first status update.

Severity is written ``SEV1``..``SEV5`` (SEV1 the worst); requests may send 1..5 too.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.incident import (
    MAX_COMMENT,
    MAX_MESSAGE,
    MAX_SERVICES,
    MAX_SUMMARY,
    MAX_TITLE,
    PUBLIC_STATUSES,
    Impact,
    IncidentStatus,
)
from .alerts import listed
from .common import NOT_BLANK, TRIMMED_PATTERN, IdRef, ReadOnlyTime, UserRef, trimmed
from .incident_channels import IncidentChannel

SEVERITIES = tuple(f"SEV{n}" for n in range(1, 6))
SeverityName = Literal[SEVERITIES]  # type: ignore[valid-type]
SeverityIn = Annotated[
    SeverityName | Annotated[int, msgspec.Meta(ge=1, le=5)],  # type: ignore[valid-type]
    msgspec.Meta(description="SEV1 (worst) .. SEV5; 1..5 accepted too; default SEV3"),
]
StatusIn = Literal[tuple(s.value for s in IncidentStatus)]  # type: ignore[valid-type]
PublicStatusIn = Literal[tuple(s.value for s in PUBLIC_STATUSES)]  # type: ignore[valid-type]
ImpactIn = Literal[tuple(i.value for i in Impact)]  # type: ignore[valid-type]

Title = trimmed(MAX_TITLE)
Summary = Annotated[
    str, msgspec.Meta(max_length=MAX_SUMMARY, description="internal, markdown; trimmed")
]


def _not_blank(maximum: int) -> object:
    return Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=maximum,
            description="not blank",
            extra_json_schema={"pattern": NOT_BLANK},
        ),
    ]


Message = _not_blank(MAX_MESSAGE)


class AffectedServiceIn(msgspec.Struct, kw_only=True):
    service: IdRef
    impact: ImpactIn  # type: ignore[valid-type]


AffectedServices = Annotated[
    list[AffectedServiceIn],
    msgspec.Meta(max_length=MAX_SERVICES, description="each service once; the service must exist"),
]


class IncidentResponderRef(msgspec.Struct, kw_only=True):
    """Who is asked to respond, named by exactly one of: ``user``; ``schedule`` (who is on
    call in it now); ``escalationPolicy`` (the users of its first rule, its schedules'
    on-call users); ``team`` (its members). Each user is added and paged (their alert
    notification rules; HIGH urgency for SEV1 and SEV2, LOW otherwise). ``commander``
    (with ``user`` only): they lead the incident."""

    user: IdRef | None = None
    schedule: IdRef | None = None
    escalationPolicy: IdRef | None = None
    team: IdRef | None = None
    commander: bool = False


#: Exactly one reference (the daemon says so naming the field, too).
IncidentResponderIn = Annotated[
    IncidentResponderRef,
    msgspec.Meta(
        extra_json_schema={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "object"}}}
                for name in ("user", "schedule", "escalationPolicy", "team")
            ]
        }
    ),
]


class IncidentSubscriberIn(msgspec.Struct, kw_only=True):
    """A user told of the incident's status and severity changes and status updates,
    over their ``updates`` notification rules (types ``INCIDENT_*``)."""

    user: IdRef


class IncidentBody(msgspec.Struct, kw_only=True):
    """``POST /api/incidents``. New shape: ``title`` (required), ``summary`` (internal),
    ``severity``, ``status``, ``affectedServices``, ``alert`` (declare from an alert),
    ``responders``. Older ilert shape: ``summary`` is the title when no ``title`` is
    given, and a ``message`` posts the first status update (``status``, ``message``,
    ``sendNotification``, ``affectedServices`` published)."""

    title: Title | None = None  # type: ignore[valid-type]
    summary: Summary | None = None
    severity: SeverityIn | None = None
    status: StatusIn | None = None  # type: ignore[valid-type]
    message: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_MESSAGE,
                description="older shape: posts the first status update (blank: the title)",
            ),
        ]
        | None
    ) = None
    sendNotification: bool | None = None
    affectedServices: AffectedServices | None = None
    alert: Annotated[IdRef, msgspec.Meta(description="declare from this alert")] | None = None
    responders: Annotated[list[IncidentResponderIn], msgspec.Meta(max_length=50)] | None = None
    subscribers: Annotated[list[IncidentSubscriberIn], msgspec.Meta(max_length=50)] | None = None


#: A title, or (older shape) a summary that can be one.
NewIncidentBody = Annotated[
    IncidentBody,
    msgspec.Meta(
        extra_json_schema={
            "anyOf": [
                {"required": ["title"], "properties": {"title": {"type": "string"}}},
                {
                    "required": ["summary"],
                    "properties": {
                        "title": {"type": "null"},
                        "summary": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_TITLE,
                            "pattern": TRIMMED_PATTERN,
                        },
                    },
                },
            ]
        }
    ),
]


class IncidentChange(msgspec.Struct, kw_only=True):
    """``PUT /api/incidents/{id}``: what is given changes, what is left out stays.
    ``status`` RESOLVED resolves (its linked open alerts too); a resolved incident changes
    only by ``POST .../reopen``. ``affectedServices`` replaces the list. The older shape's
    ``message``, when it differs from the latest status update's, posts a status update
    (the incident's status, INVESTIGATING while DECLARED; ``sendNotification``)."""

    title: Title | None = None  # type: ignore[valid-type]
    summary: Summary | None = None
    severity: SeverityIn | None = None
    status: StatusIn | None = None  # type: ignore[valid-type]
    affectedServices: AffectedServices | None = None
    message: (
        Annotated[
            str,
            msgspec.Meta(max_length=MAX_MESSAGE, description="older shape: a new status update"),
        ]
        | None
    ) = None
    sendNotification: bool | None = None


class FromAlertBody(msgspec.Struct, kw_only=True):
    """``POST /api/alerts/{id}/incident``: optional; the title defaults to the alert's
    summary."""

    title: Title | None = None  # type: ignore[valid-type]
    summary: Summary | None = None
    severity: SeverityIn | None = None


class IncidentComment(msgspec.Struct, kw_only=True):
    content: _not_blank(MAX_COMMENT)  # type: ignore[valid-type]


class StatusUpdateBody(msgspec.Struct, kw_only=True):
    """A public message. ``summary`` (the public title) defaults to the incident's title;
    ``affectedServices`` left out keeps what the previous update published. A RESOLVED
    status update does not resolve the incident."""

    status: PublicStatusIn  # type: ignore[valid-type]
    message: Message  # type: ignore[valid-type]
    summary: Title | None = None  # type: ignore[valid-type]
    affectedServices: AffectedServices | None = None
    sendNotification: bool = False


# --- answers --------------------------------------------------------------------------


class ServiceRef(msgspec.Struct, kw_only=True):
    id: int
    name: str | None = None


class AffectedService(msgspec.Struct, kw_only=True):
    service: ServiceRef
    impact: listed(tuple(i.value for i in Impact))  # type: ignore[valid-type]


class IncidentResponder(msgspec.Struct, kw_only=True):
    user: UserRef
    status: Annotated[
        listed(("ADDED", "JOINED")),  # type: ignore[misc]
        msgspec.Meta(description="ADDED: asked to respond; JOINED: working on it"),
    ]
    commander: bool


class LinkedAlert(msgspec.Struct, kw_only=True):
    id: int
    summary: str | None = None
    status: str | None = None


_ONLY_AT = "only with ?at=: "


class Incident(msgspec.Struct, kw_only=True):
    id: int
    reference: Annotated[str, msgspec.Meta(description="INC-<n>, gapless per installation")]
    title: str
    summary: Annotated[str, msgspec.Meta(description="internal; never public")]
    severity: listed(SEVERITIES)  # type: ignore[valid-type]
    status: listed(tuple(s.value for s in IncidentStatus))  # type: ignore[valid-type]
    createdAt: ReadOnlyTime
    updatedAt: ReadOnlyTime
    resolvedOn: ReadOnlyTime | None = None
    duration: Annotated[
        int, msgspec.Meta(description="seconds from createdAt to resolvedOn, or now")
    ]
    affectedServices: list[AffectedService]
    responders: list[IncidentResponder]
    responderCount: int
    commander: UserRef | None = None
    subscribers: Annotated[
        list[UserRef],
        msgspec.Meta(description="told of changes (responders are told too)"),
    ] = []
    linkedAlerts: list[LinkedAlert]
    linkedAlertCount: int
    message: Annotated[str, msgspec.Meta(description="older shape: the latest status update's")]
    sendNotification: bool
    at: (
        Annotated[str, msgspec.Meta(description=_ONLY_AT + "the moment replayed to")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    version: (
        Annotated[int, msgspec.Meta(description=_ONLY_AT + "its stream's version then")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    channels: Annotated[
        list[IncidentChannel], msgspec.Meta(description="attached chat channels")
    ] = []


class StatusUpdate(msgspec.Struct, kw_only=True):
    id: int
    incidentId: int
    status: listed(tuple(s.value for s in PUBLIC_STATUSES))  # type: ignore[valid-type]
    summary: str
    message: str
    sendNotification: bool
    affectedServices: list[AffectedService]
    createdAt: ReadOnlyTime


class TimelineActor(msgspec.Struct, kw_only=True):
    type: str | None = None
    id: int | None = None
    reason: str | None = None


class TimelineEntry(msgspec.Struct, kw_only=True):
    id: int
    incidentId: int
    timestamp: ReadOnlyTime
    type: Annotated[str, msgspec.Meta(description="the event: DECLARED, STATUS_CHANGED, ...")]
    text: str
    actor: TimelineActor | None = None
