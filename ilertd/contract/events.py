"""The Events API on the wire (ilert's ``EventRequest`` and ``EventResponse``).

The request type is what msgspec decodes a body into and what the document shows; the
rules msgspec cannot state (aliases that must agree, case-insensitive verbs, limits counted
after trimming, ``null`` as absent) are applied by ``ilertd.inbound.ilert_events``. Fields
whose value is only looked at for some event types (``summary``, ``routingKey``) or that
take several spellings (``severity``, label values) are left untyped here, so the parser
checks them and names the field as before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import msgspec

from ..domain.alert import MAX_ALERT_KEY as _DOMAIN_MAX_ALERT_KEY
from ..domain.alert import Priority
from .common import NOT_BLANK

# --- Limits. Bounded input keeps one event from bloating the event store or the UI. ---

#: Characters of ``summary`` after trimming (ilert truncates here; ilertd refuses).
MAX_SUMMARY = 1_024
#: Characters of the markdown ``details``.
MAX_DETAILS = 100_000
#: Characters of ``alertKey`` after trimming; the same bound the Alert aggregate enforces.
MAX_ALERT_KEY = _DOMAIN_MAX_ALERT_KEY
#: Entries in ``images``.
MAX_IMAGES = 50
#: Entries in ``links``.
MAX_LINKS = 50
#: Entries in ``comments``.
MAX_COMMENTS = 100
#: Characters of one comment's ``content``.
MAX_COMMENT = 10_000
#: Entries in ``labels``.
MAX_LABELS = 100
#: Characters of a label key.
MAX_LABEL_KEY = 128
#: Characters of a label value (after numbers and booleans are turned into strings).
MAX_LABEL_VALUE = 1_024
#: Bytes of ``customDetails`` serialised as compact JSON by orjson.
MAX_CUSTOM_DETAILS_BYTES = 64 * 1024
#: Characters of an integration key; ilertd's own bound, generated keys are far shorter.
MAX_INTEGRATION_KEY = 256
#: Characters of ``routingKey``; ilertd's own bound.
MAX_ROUTING_KEY = 512
#: Characters of an image or link URL; ilertd's own bound (what browsers reliably handle).
MAX_URL = 2_048
#: Characters of short texts (image ``alt``, link ``text``, comment ``creator``); ilertd's own.
MAX_SHORT_TEXT = 1_024


class EventType(StrEnum):
    """The four Events API verbs; closed here, since an unknown verb cannot be acted on."""

    ALERT = "ALERT"
    ACCEPT = "ACCEPT"
    RESOLVE = "RESOLVE"
    COMMENT = "COMMENT"


class ResponseCode(StrEnum):
    """What an event did (``EventResponse.responseCode``)."""

    NEW_ALERT_CREATED = "NEW_ALERT_CREATED"
    ALERT_ALREADY_EXISTS = "ALERT_ALREADY_EXISTS"
    ALERT_ACCEPTED = "ALERT_ACCEPTED"
    ALERT_RESOLVED = "ALERT_RESOLVED"
    COMMENT_ADDED = "COMMENT_ADDED"
    NO_OPEN_ALERT = "NO_OPEN_ALERT"
    #: the source is in an active maintenance window: no alert, the event is recorded
    MAINTENANCE_WINDOW_ACTIVE = "MAINTENANCE_WINDOW_ACTIVE"
    #: a tool webhook body the source's eventFilter or eventTypeFilterCreate dropped
    EVENT_IGNORED = "EVENT_IGNORED"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


ShortText = Annotated[str, msgspec.Meta(max_length=MAX_SHORT_TEXT)]
Url = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_URL,
        description="an absolute http:// or https:// URL",
        extra_json_schema={"format": "uri"},
    ),
]


class Image(msgspec.Struct, kw_only=True):
    """An image shown with the alert."""

    src: Url
    href: Annotated[Url | None, msgspec.Meta(description="blank counts as absent")] = None
    alt: ShortText | None = None


class Link(msgspec.Struct, kw_only=True):
    """A link shown with the alert (a runbook, a dashboard)."""

    href: Url
    text: ShortText | None = None


class EventComment(msgspec.Struct, kw_only=True):
    """A comment an event carries; COMMENT events need at least one."""

    content: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_COMMENT,
            description="must not be blank",
            extra_json_schema={"pattern": NOT_BLANK},
        ),
    ]
    creator: ShortText | None = None


def _key(description: str) -> Any:
    """A key: trimmed, blank or null counts as absent (its limit counts after trimming:
    EVENT_RULES states it for a key sent, the parser checks it)."""
    return Annotated[str | None, msgspec.Meta(description=description)]


def _given(field: str, maximum: int) -> dict[str, Any]:
    """``field`` is sent: a string that is not blank."""
    return {
        "required": [field],
        "properties": {field: {"type": "string", "pattern": NOT_BLANK, "maxLength": maximum}},
    }


#: The rules between fields the parser applies, as the document states them: a key (or its
#: legacy alias), a summary for ALERT, an alertKey (or incidentKey) for the others, a
#: comment for COMMENT. Keys must agree with their alias: that, JSON Schema cannot say.
EVENT_RULES = {
    "allOf": [
        {
            "anyOf": [
                _given("integrationKey", MAX_INTEGRATION_KEY),
                _given("apiKey", MAX_INTEGRATION_KEY),
            ]
        },
        {
            "if": {"properties": {"eventType": {"const": EventType.ALERT.value}}},
            "then": _given("summary", MAX_SUMMARY),
            "else": {
                "anyOf": [_given("alertKey", MAX_ALERT_KEY), _given("incidentKey", MAX_ALERT_KEY)]
            },
        },
        {
            "if": {"properties": {"eventType": {"const": EventType.COMMENT.value}}},
            "then": {
                "required": ["comments"],
                "properties": {"comments": {"type": "array", "minItems": 1}},
            },
        },
    ]
}


class EventRequest(msgspec.Struct, kw_only=True):
    """Send integrationKey or apiKey; alertKey (or incidentKey) is required except for
    ALERT. ``null`` counts as absent for every field; unknown fields are ignored."""

    integrationKey: _key(  # type: ignore[valid-type]
        f"the alert source's key; trimmed, at most {MAX_INTEGRATION_KEY} characters"
    ) = None
    apiKey: _key(  # type: ignore[valid-type]
        "legacy alias of integrationKey; must agree when both are sent"
    ) = None
    # null is decoded (the parser says "is required"); the enum refuses it in the document
    eventType: Annotated[
        str | None,
        msgspec.Meta(
            description="case-insensitive on input", extra_json_schema={"enum": _values(EventType)}
        ),
    ]
    summary: Annotated[
        Any,
        msgspec.Meta(
            description=f"required for ALERT, trimmed, at most {MAX_SUMMARY} characters; "
            "not looked at for other events",
            extra_json_schema={"type": ["string", "null"]},
        ),
    ] = None
    details: (
        Annotated[str, msgspec.Meta(max_length=MAX_DETAILS, description="markdown, kept verbatim")]
        | None
    ) = None
    alertKey: _key(  # type: ignore[valid-type]
        f"dedup key: trimmed (at most {MAX_ALERT_KEY} characters), compared case-insensitively"
    ) = None
    incidentKey: _key("legacy alias of alertKey") = None  # type: ignore[valid-type]
    priority: Annotated[
        Annotated[str, msgspec.Meta(extra_json_schema={"enum": _values(Priority)})] | None,
        msgspec.Meta(description="case-insensitive on input"),
    ] = None
    severity: Annotated[
        Any,
        msgspec.Meta(
            description='1 to 5, or the text "SEV1" to "SEV5" (or "1" to "5")',
            extra_json_schema={
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 5},
                    {"type": "string", "pattern": "^\\s*([Ss][Ee][Vv])?[1-5]\\s*$"},
                    {"type": "null"},
                ]
            },
        ),
    ] = None
    images: Annotated[list[Image], msgspec.Meta(max_length=MAX_IMAGES)] | None = None
    links: Annotated[list[Link], msgspec.Meta(max_length=MAX_LINKS)] | None = None
    comments: (
        Annotated[
            list[EventComment],
            msgspec.Meta(max_length=MAX_COMMENTS, description="used with COMMENT"),
        ]
        | None
    ) = None
    labels: (
        Annotated[
            dict[str, Any],
            msgspec.Meta(
                max_length=MAX_LABELS,
                description=f"keys of 1 to {MAX_LABEL_KEY} characters; numbers and "
                "booleans are kept as their JSON text",
                extra_json_schema={
                    "additionalProperties": {
                        "type": ["string", "number", "boolean"],
                        "maxLength": MAX_LABEL_VALUE,
                    }
                },
            ),
        ]
        | None
    ) = None
    customDetails: (
        Annotated[
            dict[str, Any],
            msgspec.Meta(
                description=f"any JSON object, at most {MAX_CUSTOM_DETAILS_BYTES} bytes as "
                "compact JSON"
            ),
        ]
        | None
    ) = None
    routingKey: Annotated[
        Any,
        msgspec.Meta(
            description="ALERT only: picks the policy with this routingKey; trimmed, at "
            f"most {MAX_ROUTING_KEY} characters",
            extra_json_schema={"type": ["string", "null"]},
        ),
    ] = None


#: The body of ``POST /api/events``: EventRequest with its rules between fields.
EventBody = Annotated[EventRequest, msgspec.Meta(extra_json_schema=EVENT_RULES)]

#: an answer's enum in its own order (a Literal's values msgspec would sort)
ResponseCodeName = Annotated[str, msgspec.Meta(extra_json_schema={"enum": _values(ResponseCode)})]


class EventResponse(msgspec.Struct, kw_only=True):
    """What the event did; ``alertId`` is absent when no alert was touched."""

    responseCode: ResponseCodeName
    alertKey: str | None = None
    alertUrl: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uri"})] | None = None
    alertId: (
        Annotated[int, msgspec.Meta(description="absent when no alert was touched")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    maintenanceWindowId: (
        Annotated[
            int,
            msgspec.Meta(
                description="with MAINTENANCE_WINDOW_ACTIVE: the window that held the event "
                "(no alert was created; the event is recorded on the window's suppressions)"
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    message: (
        Annotated[str, msgspec.Meta(description="with MAINTENANCE_WINDOW_ACTIVE: what happened")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    incidentKey: Annotated[str, msgspec.Meta(description="legacy /api/v1/events only")] | None = (
        None
    )
    incidentUrl: (
        Annotated[
            str,
            msgspec.Meta(
                description="legacy /api/v1/events only", extra_json_schema={"format": "uri"}
            ),
        ]
        | None
    ) = None
