"""An alert on the wire (ilert's ``Alert``), its log entries, and the bodies of the alert
actions. Answers are rendered as dicts (``ilertd/alerts/views.py``); these types say what
those dicts hold, for the document and the tests that check every answer against it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..domain.alert import AlertStatus, Priority
from ..domain.log_entries import LogEntryType
from .common import NOT_BLANK, IdRef, ReadOnlyTime, UserRef
from .events import MAX_DETAILS, MAX_SUMMARY, MAX_URL, Image, Link
from .visibility import Masking, secret


def listed(values: tuple[str, ...], description: str | None = None) -> Any:
    """An answer's enum, its values listed in the domain's order (msgspec sorts a Literal's
    values and lets nothing override them). For answers only: a request field that must be
    one of ``values`` is a Literal, so decoding checks it."""
    return Annotated[
        str, msgspec.Meta(description=description, extra_json_schema={"enum": list(values)})
    ]


#: enum values from the domain's own enums
StatusName = listed(tuple(s.value for s in AlertStatus))
PriorityName = Literal[tuple(p.value for p in Priority)]  # type: ignore[valid-type]
#: a responder has accepted or not yet; a resolved alert keeps its responders' states
ResponderStatus = listed((AlertStatus.PENDING.value, AlertStatus.ACCEPTED.value))
LogEntryTypeName = listed(tuple(t.value for t in LogEntryType), "open enum: more types may follow")


MAX_COMMENT = 10_000
#: limits of an attached channel's fields
MAX_CHANNEL_TYPE = 64
MAX_CHANNEL_NAME = 255


class AlertAssignment(msgspec.Struct, kw_only=True):
    """``PUT /api/alerts/{id}/assign`` as a body: exactly one target (the query parameters
    ``user``, ``policy``, ``schedule`` say the same)."""

    user: IdRef | None = None
    escalationPolicy: IdRef | None = None
    schedule: IdRef | None = None


#: The assignment body names exactly one target.
AssignmentBody = Annotated[
    AlertAssignment,
    msgspec.Meta(
        extra_json_schema={
            "oneOf": [
                {"required": [target], "properties": {target: {"not": {"type": "null"}}}}
                for target in ("user", "escalationPolicy", "schedule")
            ]
        }
    ),
]


# --- answers --------------------------------------------------------------------------


class AlertSourceRef(msgspec.Struct, kw_only=True):
    id: int
    name: str | None = None


class Responder(msgspec.Struct, kw_only=True):
    user: UserRef
    status: ResponderStatus  # type: ignore[valid-type]
    acceptedAt: ReadOnlyTime | None = None


class Channel(msgspec.Struct, kw_only=True):
    """A chat channel attached to an alert."""

    id: Annotated[str, msgspec.Meta(description="ilertd's id of the attachment, to detach it")]
    type: Annotated[str, msgspec.Meta(description="upper-cased, e.g. SLACK, MICROSOFT_TEAMS")]
    name: Annotated[str, msgspec.Meta(max_length=MAX_CHANNEL_NAME)]
    url: Annotated[str, msgspec.Meta(max_length=MAX_URL, extra_json_schema={"format": "uri"})]


_ONLY_AT = "only with ?at=: "


class Alert(msgspec.Struct, kw_only=True):
    id: int
    summary: str
    status: StatusName  # type: ignore[valid-type]
    priority: listed(tuple(p.value for p in Priority))  # type: ignore[valid-type]
    reportTime: ReadOnlyTime
    alertSource: AlertSourceRef
    responders: list[Responder]
    details: Annotated[str, msgspec.Meta(description="markdown")] | None = None
    resolvedOn: ReadOnlyTime | None = None
    severity: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    alertKey: str | None = None
    escalationPolicy: IdRef | None = None
    assignedTo: (
        Annotated[
            UserRef,
            msgspec.Meta(
                description="the first responder (ilert's older field)",
                extra_json_schema={"deprecated": True},
            ),
        ]
        | None
    ) = None
    nextEscalation: ReadOnlyTime | None = None
    nextEscalationRuleIndex: int | None = None
    escalationLevel: Annotated[int, msgspec.Meta(description="ilertd: zero-based")] | None = None
    images: list[Image] | None = None
    links: list[Link] | None = None
    labels: dict[str, str] | None = None
    channels: list[Channel] | None = None
    eventsReceived: int | None = None
    linkedIncidentId: int | None = None
    customDetails: (
        Annotated[dict[str, Any], msgspec.Meta(description="only with ?include=customDetails")]
        | msgspec.UnsetType
        | None
    ) = msgspec.UNSET
    at: (
        Annotated[str, msgspec.Meta(description=_ONLY_AT + "the moment the alert was replayed to")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    version: (
        Annotated[int, msgspec.Meta(description=_ONLY_AT + "its stream's version then")]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class AlertCount(msgspec.Struct):
    count: int


class LogActor(msgspec.Struct, kw_only=True):
    """ilertd: who caused the entry (a user, an alert source, an incident, or ilertd)."""

    type: Literal["user", "source", "system", "incident"] | None = None
    id: int | None = None
    reason: Annotated[str, msgspec.Meta(description="system only: why")] | None = None
    reference: Annotated[str, msgspec.Meta(description="incident only: INC-<n>")] | None = None


class LogEntry(msgspec.Struct, kw_only=True):
    id: int
    timestamp: ReadOnlyTime
    logEntryType: LogEntryTypeName  # type: ignore[valid-type]
    text: Annotated[
        str,
        secret(
            Masking.CONTACT_TEXT,
            "a page's entry names the contact it went to",
            owner="vars.user_id",
            contact="vars.target",
        ),
    ]
    alertId: int
    actor: LogActor | None = None
    vars: (
        Annotated[
            dict[str, Any],
            secret(
                Masking.CONTACT_VARS,
                "a page's entry holds the contact it went to",
                owner="vars.user_id",
            ),
        ]
        | None
    ) = None


# --- requests -------------------------------------------------------------------------


class ResponderRequest(msgspec.Struct, kw_only=True):
    """A user to add as a responder; it must exist."""

    user: IdRef


class NewAlert(msgspec.Struct, kw_only=True):
    """A manual alert."""

    summary: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_SUMMARY,
            description="not blank",
            extra_json_schema={"pattern": NOT_BLANK},
        ),
    ]
    alertSource: IdRef
    details: Annotated[str, msgspec.Meta(max_length=MAX_DETAILS)] = ""
    escalationPolicy: (
        Annotated[IdRef, msgspec.Meta(description="ignored: the alert source's policy is used")]
        | None
    ) = None
    priority: PriorityName | None = None
    responders: list[ResponderRequest] | None = None


class CommentRequest(msgspec.Struct, kw_only=True):
    content: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_COMMENT,
            description="not blank",
            extra_json_schema={"pattern": NOT_BLANK},
        ),
    ]


def _channel_text(limit: int, **extra: Any) -> Any:
    return Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=limit,
            description="trimmed, not blank",
            **(extra or {"extra_json_schema": {"pattern": NOT_BLANK}}),
        ),
    ]


class ChannelRequest(msgspec.Struct, kw_only=True):
    type: _channel_text(MAX_CHANNEL_TYPE)  # type: ignore[valid-type]
    name: _channel_text(MAX_CHANNEL_NAME)  # type: ignore[valid-type]
    url: _channel_text(  # type: ignore[valid-type]
        MAX_URL, extra_json_schema={"format": "uri", "pattern": "^\\s*https?://"}
    )
