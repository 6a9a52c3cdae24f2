"""An alert source on the wire (ilert's ``AlertSource``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.alert_source import (
    LEGACY_ALERT_CREATION,
    MAX_NAME,
    AlertCreation,
    AlertPriorityRule,
)
from ..domain.source_templates import MAX_LINK_TEMPLATES, MAX_MAPPINGS, MAX_TEMPLATE
from .common import Duration, Id, IdRef, ReadOnlyTime, spaces, trimmed
from .team_refs import Teams
from .visibility import Masking, secret

#: enum values from the domain's own enums (msgspec documents and checks them)
_CREATION_NAMES = (*(c.value for c in AlertCreation), *LEGACY_ALERT_CREATION)
AlertCreationName = Literal[_CREATION_NAMES]  # type: ignore[valid-type]
PriorityRuleName = Literal[tuple(r.value for r in AlertPriorityRule)]  # type: ignore[valid-type]
#: a bare id as text, as ilert's clients may send it (the handler trims it)
_IdString = Annotated[str, msgspec.Meta(pattern=spaces(r"^\s*[1-9][0-9]{0,17}\s*$"))]
_TEMPLATE = Annotated[
    str, msgspec.Meta(max_length=MAX_TEMPLATE, description="Jinja2 subset, sandboxed")
]


class TextTemplate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """ilert's ``{"textTemplate": "..."}``: ``{{ path.to.field }}`` of the webhook body."""

    textTemplate: _TEMPLATE | None = None


class PriorityMapping(msgspec.Struct, kw_only=True, omit_defaults=True):
    value: Annotated[str, msgspec.Meta(max_length=MAX_TEMPLATE)]
    priority: Annotated[
        str,
        msgspec.Meta(
            description="HIGH or LOW", pattern=spaces(r"^\s*([Hh][Ii][Gg][Hh]|[Ll][Oo][Ww])\s*$")
        ),
    ]


class PriorityTemplate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The rendered ``valueTemplate`` picks the priority of the first equal ``value``."""

    valueTemplate: TextTemplate | None = None
    mappings: Annotated[list[PriorityMapping], msgspec.Meta(max_length=MAX_MAPPINGS)] | None = None


class LinkTemplate(msgspec.Struct, kw_only=True, omit_defaults=True):
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEMPLATE)] | None = None
    hrefTemplate: TextTemplate | None = None


_CONDITION = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEMPLATE,
        description="a Jinja2 expression on the webhook body, e.g. status == 'firing'",
    ),
]
SourceStatus = Literal["PENDING", "ALL_ACCEPTED", "ALL_RESOLVED", "IN_MAINTENANCE", "DISABLED"]


class AlertSource(msgspec.Struct, kw_only=True, omit_defaults=False):
    """PUT replaces the whole source: absent fields take their defaults, except ``teams``,
    which an absent or null field keeps (``[]`` clears them). Read-only fields (id, key,
    URL, status, times) may be sent back as read and are ignored."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: trimmed(MAX_NAME)  # type: ignore[valid-type]
    integrationType: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=64,
                description="open enum: API, PROMETHEUS, ...; a word, case ignored",
                extra_json_schema={"pattern": spaces(r"^\s*[A-Za-z][A-Za-z0-9_]{0,63}\s*$")},
            ),
        ]
        | None
    ) = None
    integrationKey: (
        Annotated[
            str,
            msgspec.Meta(description="read-only, generated"),
            secret(Masking.VALUE, "creates alerts through the Events API"),
        ]
        | None
    ) = None
    integrationUrl: (
        Annotated[
            str,
            msgspec.Meta(description="read-only"),
            secret(Masking.INTEGRATION_URL, "holds the integration key of tool webhooks"),
        ]
        | None
    ) = None
    escalationPolicy: (
        Annotated[IdRef | Id | _IdString, msgspec.Meta(description='{"id": n}; a bare id too')]
        | None
    ) = None
    alertCreation: AlertCreationName | None = None
    incidentCreation: (
        Annotated[AlertCreationName, msgspec.Meta(description="legacy name of alertCreation")]
        | None
    ) = None
    alertGroupingWindow: Duration | None = None
    alertPriorityRule: PriorityRuleName | None = None
    incidentPriorityRule: (
        Annotated[PriorityRuleName, msgspec.Meta(description="legacy name of alertPriorityRule")]
        | None
    ) = None
    autoResolutionTimeout: Duration | None = None
    active: bool | None = None
    status: Annotated[SourceStatus, msgspec.Meta(description="read-only")] | None = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
    teams: Teams | None = None
    supportHours: (
        Annotated[
            IdRef,
            msgspec.Meta(
                description='{"id": n}: the support hours a *_DURING_SUPPORT_HOURS '
                "alertPriorityRule asks at each event's arrival (required with those rules)"
            ),
        ]
        | None
    ) = None
    # ilert's template fields (``?include=`` names them in answers; ``domain.source_templates``)
    alertKeyTemplate: TextTemplate | None = None
    summaryTemplate: TextTemplate | None = None
    detailsTemplate: TextTemplate | None = None
    routingTemplate: TextTemplate | None = None
    priorityTemplate: PriorityTemplate | None = None
    linkTemplates: (
        Annotated[list[LinkTemplate], msgspec.Meta(max_length=MAX_LINK_TEMPLATES)] | None
    ) = None
    eventFilter: _CONDITION | None = None
    eventTypeFilterCreate: _CONDITION | None = None
    eventTypeFilterAccept: _CONDITION | None = None
    eventTypeFilterResolve: _CONDITION | None = None


#: alertCreation (or its legacy name) values that group alerts over a window
_GROUPED = [
    AlertCreation.ONE_ALERT_GROUPED_PER_WINDOW.value,
    *(
        k
        for k, v in LEGACY_ALERT_CREATION.items()
        if v is AlertCreation.ONE_ALERT_GROUPED_PER_WINDOW
    ),
]
#: grouping per window needs the window
WINDOW_RULES = {
    "allOf": [
        {
            "if": {"required": [field], "properties": {field: {"enum": _GROUPED}}},
            "then": {
                "required": ["alertGroupingWindow"],
                "properties": {"alertGroupingWindow": {"not": {"type": "null"}}},
            },
        }
        for field in ("alertCreation", "incidentCreation")
    ]
}
_DURING = [r.value for r in AlertPriorityRule if r.value.endswith("_DURING_SUPPORT_HOURS")]
_NEEDS_SUPPORT_HOURS = {
    "required": ["supportHours"],
    "properties": {"supportHours": {"not": {"type": "null"}}},
}
#: a *_DURING_SUPPORT_HOURS rule needs its support hours (the legacy name counts only
#: where the new one is absent or null)
SUPPORT_HOURS_RULES = [
    {
        "if": {
            "required": ["alertPriorityRule"],
            "properties": {"alertPriorityRule": {"enum": _DURING}},
        },
        "then": _NEEDS_SUPPORT_HOURS,
    },
    {
        "if": {
            "required": ["incidentPriorityRule"],
            "properties": {
                "incidentPriorityRule": {"enum": _DURING},
                "alertPriorityRule": {"type": "null"},
            },
        },
        "then": _NEEDS_SUPPORT_HOURS,
    },
]
#: An alert source as POST and PUT take it.
AlertSourceInput = Annotated[
    AlertSource,
    msgspec.Meta(extra_json_schema={"allOf": [*WINDOW_RULES["allOf"], *SUPPORT_HOURS_RULES]}),
]
