"""An alert action on the wire (ilert's ``AlertAction``); its ``id`` and ``connectorId``
are ``TextId``s, decimal strings as ilert's clients decode them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain import conditions
from ..domain.alert_action import (
    CHOOSABLE_TYPES,
    CONNECTOR_TYPES,
    HEADER_NAME_PATTERN,
    HEADER_VALUE_PATTERN,
    MAX_DELAY_S,
    MAX_HEADER_VALUE,
    MAX_NOT_RESOLVED_S,
    MAX_RECIPIENTS,
    URL_PARAM,
    TriggerMode,
)
from ..domain.text import MAX_NAME
from .common import (
    NOT_BLANK,
    TRIMMED_PATTERN,
    Id,
    IdRef,
    IdText,
    ReadOnlyTime,
    TextId,
    spaces,
    trimmed,
)
from .team_refs import Teams
from .visibility import Masking, secret

ConnectorTypeName = Literal[CONNECTOR_TYPES]  # type: ignore[valid-type]
TriggerTypeName = Literal[CHOOSABLE_TYPES]  # type: ignore[valid-type]
#: as answered; requests may spell the mode in lower case too
TriggerModeName = Literal[tuple(m.value for m in TriggerMode)]  # type: ignore[valid-type]
_MODES_IN = (*(m.value for m in TriggerMode), *(m.value.lower() for m in TriggerMode), "")
TriggerModeInput = Annotated[
    Literal[_MODES_IN],  # type: ignore[valid-type]
    msgspec.Meta(description='"" (ilert-go\'s unset value) means AUTOMATIC'),
]

CONDITIONS_TEXT = (
    'an expression over the webhook body, e.g. priority == "HIGH" and (summary contains "db" '
    'or labels.env in ["prod"]); operators == != < <= > >= contains, not contains, matches '
    "(RE2), in, not in; and, or, not"
)


class WebhookHeader(msgspec.Struct, kw_only=True):
    key: Annotated[
        str, msgspec.Meta(pattern=f"^{HEADER_NAME_PATTERN}$", description="an HTTP header name")
    ]
    #: ilert-go leaves an empty value out (``omitempty``)
    value: Annotated[
        str,
        msgspec.Meta(pattern=f"^{HEADER_VALUE_PATTERN}$", max_length=MAX_HEADER_VALUE),
        secret(Masking.VALUE, "an Authorization header, an API key, a bearer token"),
    ] = ""


class AlertActionParams(msgspec.Struct, kw_only=True):
    """The target's parameters, by connector type; others ilert knows are ignored."""

    webhookUrl: (
        Annotated[
            str,
            msgspec.Meta(description="webhook"),
            secret(Masking.URL, "user:password and ?token= style secrets of the receiver"),
        ]
        | None
    ) = None
    url: (
        Annotated[
            str,
            msgspec.Meta(description="slack_webhook, microsoft_teams_webhook, google_chat_webhook"),
            secret(Masking.WEBHOOK_URL, "whoever has a chat webhook URL posts to the channel"),
        ]
        | None
    ) = None
    bodyTemplate: (
        Annotated[
            str, msgspec.Meta(description="webhook, jira, email: {{ variable }} placeholders")
        ]
        | None
    ) = None
    headers: Annotated[list[WebhookHeader], msgspec.Meta(description="webhook")] | None = None
    project: Annotated[str, msgspec.Meta(description="jira")] | None = None
    issueType: Annotated[str, msgspec.Meta(description="jira (default Task)")] | None = None
    summaryTemplate: Annotated[str, msgspec.Meta(description="jira")] | None = None
    recipients: Annotated[list[str], msgspec.Meta(description="email")] | None = None
    subject: Annotated[str, msgspec.Meta(description="email")] | None = None


# the alertFilter's words, from the domain's own tables of its translation
FILTER_FIELDS = tuple(conditions._FILTER_FIELDS)
FILTER_CRITERIA = tuple(conditions._TEXT_CRITERIA)
FILTER_ID_CRITERIA = tuple(conditions._ID_CRITERIA)
FILTER_OPERATORS = tuple(conditions._FILTER_OPERATORS)


def _one_of(values: tuple[str, ...]) -> dict[str, object]:
    """The document's enum (the domain checks and names the field)."""
    return {"enum": list(values)}


class AlertFilterPredicate(msgspec.Struct, kw_only=True):
    """ESCALATION_POLICY takes IS_STRING or IS_NOT_STRING and a policy id; the word
    criteria need a word; a regex must compile (which the document cannot say)."""

    field: Annotated[str, msgspec.Meta(extra_json_schema=_one_of(FILTER_FIELDS))]
    criteria: Annotated[str, msgspec.Meta(extra_json_schema=_one_of(FILTER_CRITERIA))]
    value: str = ""


PREDICATE_RULES = {
    "allOf": [
        {
            "if": {"properties": {"field": {"const": "ESCALATION_POLICY"}}},
            "then": {
                "properties": {
                    "criteria": {"enum": list(FILTER_ID_CRITERIA)},
                    "value": {"pattern": "^[0-9]{1,18}$"},
                },
            },
        },
        {
            "if": {
                "properties": {"criteria": {"enum": ["CONTAINS_ANY_WORDS", "CONTAINS_NOT_WORDS"]}}
            },
            "then": {"required": ["value"], "properties": {"value": {"pattern": NOT_BLANK}}},
        },
    ]
}


class AlertFilter(msgspec.Struct, kw_only=True):
    """ilert's structured filter; stored as the equal ``conditions``."""

    operator: Annotated[
        str, msgspec.Meta(description="AND or OR", extra_json_schema=_one_of(FILTER_OPERATORS))
    ]
    predicates: Annotated[
        list[Annotated[AlertFilterPredicate, msgspec.Meta(extra_json_schema=PREDICATE_RULES)]],
        msgspec.Meta(extra_json_schema={"minItems": 1}),
    ]


class AlertAction(msgspec.Struct, kw_only=True):
    """PUT replaces the whole action: absent fields take their defaults, except ``teams``,
    which an absent or null field keeps (``[]`` clears them). Read-only fields may be sent
    back as read and are ignored."""

    id: Annotated[TextId, msgspec.Meta(description="read-only")] | None = None
    name: trimmed(MAX_NAME)  # type: ignore[valid-type]
    alertSources: (
        Annotated[
            list[IdRef | Id | IdText],
            msgspec.Meta(description="empty: every alert source; bare ids accepted on input"),
        ]
        | None
    ) = None
    alertSourceIds: (
        Annotated[
            list[Id | IdText],
            msgspec.Meta(
                description="ilert's deprecated spelling of alertSources",
                extra_json_schema={"deprecated": True},
            ),
        ]
        | None
    ) = None
    connectorId: (
        Annotated[
            # one string type: msgspec decodes a union's strings by its first constrained
            # one only, so ``IdText | Literal[""]`` refused the "" it documented
            Annotated[str, msgspec.Meta(pattern="^(?:[1-9][0-9]{0,17})?$")] | Id,
            msgspec.Meta(description='the connector the target uses; "" or null: none'),
        ]
        | None
    ) = None
    connectorType: ConnectorTypeName
    triggerMode: TriggerModeInput | None = None
    triggerTypes: (
        Annotated[
            list[TriggerTypeName],
            msgspec.Meta(description="empty: every type but v-alert-not-resolved"),
        ]
        | None
    ) = None
    conditions: Annotated[str, msgspec.Meta(description=CONDITIONS_TEXT)] | None = None
    alertFilter: AlertFilter | None = None
    escalationEndedDelaySec: (
        Annotated[
            int,
            msgspec.Meta(
                description=f"0..{MAX_DELAY_S}: wait, then send if still unaccepted",
                extra_json_schema={"minimum": 0, "maximum": MAX_DELAY_S},
            ),
        ]
        | None
    ) = None
    delaySec: (
        Annotated[
            int,
            msgspec.Meta(
                description="ilert's older name of escalationEndedDelaySec",
                extra_json_schema={"deprecated": True, "minimum": 0, "maximum": MAX_DELAY_S},
            ),
        ]
        | None
    ) = None
    notResolvedDelaySec: (
        Annotated[
            int,
            msgspec.Meta(
                description=f"0..{MAX_NOT_RESOLVED_S}: fire v-alert-not-resolved this long "
                "after creation",
                extra_json_schema={"minimum": 0, "maximum": MAX_NOT_RESOLVED_S},
            ),
        ]
        | None
    ) = None
    params: AlertActionParams | None = None
    signingSecret: (
        Annotated[
            str,
            msgspec.Meta(
                description="read-only: HMAC-SHA256 key of X-Ilertd-Signature "
                "(sha256=<hex of timestamp.body>)"
            ),
            secret(Masking.OMIT, "forges deliveries receivers trust"),
        ]
        | None
    ) = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
    teams: Teams | None = None


#: An http(s) URL as the domain's ``checked_url`` takes it (user info, a host of letters,
#: digits, dots and dashes, a port up to 65535; no spaces or control characters).
URL_PATTERN = spaces(
    r"^\s*[Hh][Tt][Tt][Pp][Ss]?://(?:[^\s/?#@\[\]\x00-\x1f\x7f]*@)?"
    r"[A-Za-z0-9.-]*[A-Za-z0-9][A-Za-z0-9.-]*"
    r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"(?:[/?#][^\s\x00-\x1f\x7f]*)?\s*$"
)
_URL = {"type": "string", "format": "uri", "pattern": URL_PATTERN, "maxLength": 2048}
_CONNECTOR = {
    "required": ["connectorId"],
    "properties": {"connectorId": {"not": {"enum": [None, ""]}}},
}
#: an e-mail recipient as the domain checks it (trimmed, name@domain)
RECIPIENT_PATTERN = spaces(r"^\s*[^@\s]{1,64}@[^@\s]{1,255}\s*$")


def _text_schema(maximum: int) -> dict[str, object]:
    return {"type": "string", "pattern": TRIMMED_PATTERN, "maxLength": maximum}


def _params(required: dict[str, object]) -> dict[str, object]:
    return {"required": ["params"], "properties": {"params": {"type": "object", **required}}}


def _target(kind: str, then: dict[str, object]) -> dict[str, object]:
    return {"if": {"properties": {"connectorType": {"const": kind}}}, "then": then}


def _url_target(kind: str, key: str) -> dict[str, object]:
    """A URL target: its URL in params, or a connector's."""
    keys = [key, "url"] if key == "webhookUrl" else [key]  # webhook reads params.url too
    with_url = [_params({"required": [k], "properties": {k: _URL}}) for k in keys]
    return _target(kind, {"anyOf": [_CONNECTOR, *with_url]})


#: The target's needs by connector type, as ``domain.alert_action.checked_params`` checks
#: them; that the connector exists and suits the type depends on what is stored.
ACTION_RULES = {
    "allOf": [
        *(_url_target(kind, key) for kind, key in URL_PARAM.items()),
        _target(
            "jira",
            {
                "allOf": [
                    _CONNECTOR,
                    _params(
                        {
                            "required": ["project"],
                            "properties": {
                                "project": _text_schema(64),
                                "issueType": _text_schema(64),
                            },
                        }
                    ),
                ]
            },
        ),
        _target(
            "email",
            _params(
                {
                    "required": ["recipients"],
                    "properties": {
                        "recipients": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_RECIPIENTS,
                            "items": {"type": "string", "pattern": RECIPIENT_PATTERN},
                        }
                    },
                }
            ),
        ),
    ]
}

#: An alert action as POST and PUT take it.
AlertActionInput = Annotated[AlertAction, msgspec.Meta(extra_json_schema=ACTION_RULES)]
