"""PagerDuty's Events API v2 on the wire (``POST /v2/enqueue``), as PagerDuty documents it.

Field names are PagerDuty's (snake_case) so every tool with a PagerDuty integration works
unchanged. msgspec checks the types; the rules between fields (a trigger needs its
payload's summary, source and severity; acknowledge and resolve need the dedup_key) are
stated in ``PAGERDUTY_RULES`` and applied by ``ilertd.inbound.pagerduty``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .common import NOT_BLANK
from .events import MAX_INTEGRATION_KEY

#: PagerDuty's bound on ``dedup_key``.
MAX_DEDUP_KEY = 255

Severity = Literal["critical", "error", "warning", "info"]
Action = Literal["trigger", "acknowledge", "resolve"]


class PagerDutyImage(msgspec.Struct, kw_only=True):
    """An image; one whose ``src`` is not an http(s) URL is left out."""

    src: str
    href: str | None = None
    alt: str | None = None


class PagerDutyLink(msgspec.Struct, kw_only=True):
    """A link; one whose ``href`` is not an http(s) URL is left out."""

    href: str
    text: str | None = None


class PagerDutyPayload(msgspec.Struct, kw_only=True):
    """What the event says; summary, source and severity are required for a trigger."""

    summary: Annotated[
        str | None, msgspec.Meta(description="cut to 1024 characters, as PagerDuty does")
    ] = None
    source: str | None = None
    severity: Annotated[
        Severity | None, msgspec.Meta(description="critical, error -> HIGH; warning, info -> LOW")
    ] = None
    timestamp: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = msgspec.field(default=None, name="class")
    custom_details: Annotated[
        Any, msgspec.Meta(description="any JSON; an object is kept as the alert's customDetails")
    ] = None


def _given(field: str) -> dict[str, Any]:
    return {"type": "string", "pattern": NOT_BLANK, "description": f"{field}: not blank"}


#: The rules between fields, as the document states them.
PAGERDUTY_RULES = {
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {
        "required": ["payload"],
        "properties": {
            "payload": {
                "type": "object",
                "required": ["summary", "source", "severity"],
                "properties": {
                    "summary": _given("summary"),
                    "source": _given("source"),
                    "severity": {"type": "string"},
                },
            }
        },
    },
    "else": {"required": ["dedup_key"], "properties": {"dedup_key": _given("dedup_key")}},
}


class PagerDutyEventRequest(msgspec.Struct, kw_only=True):
    """A PagerDuty v2 event; unknown fields are ignored."""

    routing_key: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_INTEGRATION_KEY,
            pattern=NOT_BLANK,
            description="the alert source's integration key",
        ),
    ]
    event_action: Annotated[
        Action, msgspec.Meta(description="acknowledge accepts the alert, resolve resolves it")
    ]
    dedup_key: Annotated[
        Annotated[str, msgspec.Meta(max_length=MAX_DEDUP_KEY)] | None,
        msgspec.Meta(
            description="the alert's alertKey; a trigger without one gets a new key, answered"
        ),
    ] = None
    payload: PagerDutyPayload | None = None
    images: list[PagerDutyImage] | None = None
    links: list[PagerDutyLink] | None = None
    client: str | None = None
    client_url: str | None = None


#: The body of ``POST /v2/enqueue``.
PagerDutyEventBody = Annotated[
    PagerDutyEventRequest, msgspec.Meta(extra_json_schema=PAGERDUTY_RULES)
]


class PagerDutyAccepted(msgspec.Struct, kw_only=True):
    """PagerDuty's 202 answer."""

    status: Literal["success"]
    message: str
    dedup_key: str


class PagerDutyRefused(msgspec.Struct, kw_only=True):
    """PagerDuty's error answer: ``invalid event`` (400, and 404, 409, 422 here) or
    ``throttle event`` (429); each of ``errors`` starts with the field it names."""

    status: str
    message: str
    errors: list[str]


# --- Events API v1 (``POST /generic/2010-04-15/create_event.json``), PagerDuty's older one


class PagerDutyContext(msgspec.Struct, kw_only=True):
    """A link (``href``) or image (``src``); one without an http(s) URL is left out."""

    type: Literal["link", "image"]
    href: str | None = None
    text: str | None = None
    src: str | None = None
    alt: str | None = None


#: v1's rules between fields: a trigger needs a description, the others an incident_key.
PAGERDUTY_V1_RULES = {
    "if": {"properties": {"event_type": {"const": "trigger"}}},
    "then": {"required": ["description"], "properties": {"description": _given("description")}},
    "else": {"required": ["incident_key"], "properties": {"incident_key": _given("incident_key")}},
}


class PagerDutyV1EventRequest(msgspec.Struct, kw_only=True):
    """A PagerDuty v1 event; unknown fields are ignored."""

    service_key: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_INTEGRATION_KEY,
            pattern=NOT_BLANK,
            description="the alert source's integration key",
        ),
    ]
    event_type: Action
    incident_key: Annotated[
        Annotated[str, msgspec.Meta(max_length=MAX_DEDUP_KEY)] | None,
        msgspec.Meta(description="the alert's alertKey; a trigger without one gets a new key"),
    ] = None
    description: Annotated[
        str | None, msgspec.Meta(description="the summary; cut to 1024 characters")
    ] = None
    details: Annotated[
        Any, msgspec.Meta(description="any JSON; an object is kept as the alert's customDetails")
    ] = None
    client: str | None = None
    client_url: str | None = None
    contexts: list[PagerDutyContext] | None = None


#: The body of ``POST /generic/2010-04-15/create_event.json``.
PagerDutyV1EventBody = Annotated[
    PagerDutyV1EventRequest, msgspec.Meta(extra_json_schema=PAGERDUTY_V1_RULES)
]


class PagerDutyV1Accepted(msgspec.Struct, kw_only=True):
    """PagerDuty v1's 200 answer."""

    status: Literal["success"]
    message: str
    incident_key: str
