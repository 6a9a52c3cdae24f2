"""Alert actions: what to tell the outside world (a webhook, a chat room, a ticket, a mail)
when an alert changes.

Commands check every rule, then record a past-tense event; errors name the field as the API
spells it. Whether a referenced connector or alert source exists is a fact of the read
model, checked by the HTTP layer before appending. Each action gets a random signing secret
at creation: receivers verify ``X-Ilertd-Signature`` with it.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from .conditions import ConditionError, parse_condition
from .errors import InvalidValueError
from .lifecycle import Replaceable
from .team_ids import checked_teams
from .text import checked_name, checked_url


class TriggerMode(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


#: Every eventType an alert event can become, in API.md's order; the last one is virtual
#: (fired by a timer when an alert is still open after ``notResolvedDelaySec``).
TRIGGER_TYPES = (
    "alert-created",
    "alert-assigned",
    "alert-auto-escalated",
    "alert-acknowledged",
    "alert-raised",
    "alert-comment-added",
    "alert-escalation-ended",
    "alert-resolved",
    "alert-auto-resolved",
    "alert-responder-added",
    "alert-responder-removed",
    "alert-channel-attached",
    "alert-channel-detached",
    "v-alert-not-resolved",
)
NOT_RESOLVED = "v-alert-not-resolved"
ESCALATION_ENDED = "alert-escalation-ended"
#: Incident events (ilertd, API.md "Incidents"): an action follows them only when it lists
#: them, never by default; they are delivered whatever the action's alert sources (an
#: incident belongs to none), to webhook actions only (the payload is the incident).
INCIDENT_TRIGGER_TYPES = (
    "incident-created",
    "incident-status-changed",
    "incident-severity-changed",
    "incident-resolved",
    "incident-status-update-posted",
)
#: What ``triggerTypes`` may name.
CHOOSABLE_TYPES = TRIGGER_TYPES + INCIDENT_TRIGGER_TYPES

#: Targets ilertd can deliver to (others ilert knows need a cloud app: refused, not ignored).
CONNECTOR_TYPES = (
    "webhook",
    "slack_webhook",
    "microsoft_teams_webhook",
    "google_chat_webhook",
    "jira",
    "email",
)
#: Targets whose URL may come from the action's params or from its connector.
URL_PARAM = {
    "webhook": "webhookUrl",
    "slack_webhook": "url",
    "microsoft_teams_webhook": "url",
    "google_chat_webhook": "url",
}
MAX_SOURCES = 500
MAX_DELAY_S = 7200
MAX_NOT_RESOLVED_S = 30 * 86_400
MAX_TEMPLATE = 65_536
MAX_HEADERS = 20
MAX_RECIPIENTS = 50
MAX_ID = 2**63 - 1
#: an HTTP header name (RFC 9110 token), at most 128 characters; the contract states it too
HEADER_NAME_PATTERN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}"
#: a header value: one line
HEADER_VALUE_PATTERN = r"[^\x00-\x1f\x7f]*"
MAX_HEADER_VALUE = 4096
_HEADER_NAME = re.compile(HEADER_NAME_PATTERN)
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def _id(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidValueError(field, "must be a positive integer id")
    return value


def _choice(field: str, value: Any, choices: tuple[str, ...], *, upper: bool) -> str:
    if isinstance(value, str):
        text = value.strip().upper() if upper else value.strip().lower()
        if text in choices:
            return text
    raise InvalidValueError(field, f"must be one of {', '.join(choices)}")


def _source_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_SOURCES:
        raise InvalidValueError("alertSources", f"must be a list of at most {MAX_SOURCES} ids")
    return sorted({_id(f"alertSources[{i}].id", v) for i, v in enumerate(value)})


def _trigger_types(value: Any, not_resolved_delay_s: int | None) -> list[str]:
    """Empty means every real event type; the virtual one follows notResolvedDelaySec."""
    if value is None:
        value = []
    if not isinstance(value, list):
        raise InvalidValueError("triggerTypes", "must be a list of event types")
    chosen = {
        _choice(f"triggerTypes[{i}]", v, CHOOSABLE_TYPES, upper=False) for i, v in enumerate(value)
    }
    if not chosen:
        chosen = set(TRIGGER_TYPES[:-1])
    if NOT_RESOLVED in chosen and not not_resolved_delay_s:
        raise InvalidValueError(
            "notResolvedDelaySec", f"is required (seconds) with the trigger type {NOT_RESOLVED}"
        )
    if not_resolved_delay_s:
        chosen.add(NOT_RESOLVED)
    return [t for t in CHOOSABLE_TYPES if t in chosen]


def _seconds(field: str, value: Any, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidValueError(field, f"must be whole seconds from 0 to {maximum}")
    return value or None


def _conditions(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidValueError("conditions", "must be a condition expression (a string)")
    try:
        return parse_condition(value.strip()).text
    except ConditionError as exc:
        raise InvalidValueError("conditions", exc.message) from None


def _template(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEMPLATE or "\x00" in value:
        raise InvalidValueError(field, f"must be a string of at most {MAX_TEMPLATE} characters")
    return value


def _headers(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_HEADERS:
        raise InvalidValueError("params.headers", f"a list of at most {MAX_HEADERS} headers")
    headers = []
    for i, item in enumerate(value):
        field = f"params.headers[{i}]"
        if not isinstance(item, dict):
            raise InvalidValueError(field, 'must be {"key": ..., "value": ...}')
        key, text = item.get("key"), item.get("value")
        if not isinstance(key, str) or not _HEADER_NAME.fullmatch(key):
            raise InvalidValueError(f"{field}.key", "must be an HTTP header name")
        if key.lower() in _RESERVED_HEADERS or key.lower().startswith("x-ilertd-"):
            raise InvalidValueError(f"{field}.key", f"ilertd sets {key} itself")
        if (
            not isinstance(text, str)
            or len(text) > MAX_HEADER_VALUE
            or not re.fullmatch(HEADER_VALUE_PATTERN, text)
        ):
            raise InvalidValueError(f"{field}.value", "must be one line of at most 4096")
        headers.append({"key": key, "value": text})
    return headers


def _recipients(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RECIPIENTS:
        raise InvalidValueError(
            "params.recipients", f"is required: a list of 1 to {MAX_RECIPIENTS} e-mail addresses"
        )
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _EMAIL.fullmatch(item.strip()):
            raise InvalidValueError(f"params.recipients[{i}]", "is not an e-mail address")
    return [item.strip() for item in value]


def checked_params(connector_type: str, value: Any, connector_id: int | None) -> dict[str, Any]:
    """The target's parameters, by type; unknown keys are dropped (ilert's are many)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidValueError("params", "must be an object")
    params: dict[str, Any] = {}
    url_key = URL_PARAM.get(connector_type)
    if url_key is not None:
        url = value.get(url_key) or (value.get("url") if url_key == "webhookUrl" else None)
        if url:
            params[url_key] = checked_url(f"params.{url_key}", url)
        elif connector_id is None:
            raise InvalidValueError(f"params.{url_key}", "is required without a connector")
    if connector_type == "webhook":
        params["bodyTemplate"] = _template("params.bodyTemplate", value.get("bodyTemplate"))
        params["headers"] = _headers(value.get("headers"))
    elif connector_type == "jira":
        if connector_id is None:
            raise InvalidValueError("connectorId", "a jira action needs a jira connector")
        params["project"] = checked_name(value.get("project"), "params.project", 64)
        params["issueType"] = checked_name(value.get("issueType", "Task"), "params.issueType", 64)
        params["summaryTemplate"] = _template(
            "params.summaryTemplate", value.get("summaryTemplate")
        )
        params["bodyTemplate"] = _template("params.bodyTemplate", value.get("bodyTemplate"))
    elif connector_type == "email":
        params["recipients"] = _recipients(value.get("recipients"))
        params["subject"] = _template("params.subject", value.get("subject"))
        params["bodyTemplate"] = _template("params.bodyTemplate", value.get("bodyTemplate"))
    return params


def connector_mismatch(
    settings: dict[str, Any], connector_type: str, connector_params: dict[str, str]
) -> str | None:
    """Why a connector cannot serve an action (its settings as ``checked_settings``), or
    None: jira actions need a jira connector (and only they may use one), and a target
    without a URL of its own takes the connector's."""
    kind = settings["connector_type"]
    if (kind == "jira") != (connector_type == "jira"):
        return f"a {kind} action cannot use a {connector_type} connector"
    url_key = URL_PARAM.get(kind)
    if url_key and not settings["params"].get(url_key) and not connector_params.get("url"):
        return f"params.{url_key} is not set and the connector has no url"
    return None


def checked_settings(
    *,
    name: Any,
    connector_type: Any,
    alert_source_ids: Any = None,
    connector_id: Any = None,
    trigger_mode: Any = TriggerMode.AUTOMATIC.value,
    trigger_types: Any = None,
    conditions: Any = None,
    escalation_ended_delay_s: Any = None,
    not_resolved_delay_s: Any = None,
    params: Any = None,
    teams: Any = (),
) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field."""
    kind = _choice("connectorType", connector_type, CONNECTOR_TYPES, upper=False)
    connector = None if connector_id is None else _id("connectorId", connector_id)
    not_resolved = _seconds("notResolvedDelaySec", not_resolved_delay_s, MAX_NOT_RESOLVED_S)
    return {
        "name": checked_name(name),
        "alert_source_ids": _source_ids(alert_source_ids),
        "connector_id": connector,
        "connector_type": kind,
        "trigger_mode": _choice(
            "triggerMode", trigger_mode, tuple(TriggerMode.__members__), upper=True
        ),
        "trigger_types": _trigger_types(trigger_types, not_resolved),
        "conditions": _conditions(conditions),
        "escalation_ended_delay_s": _seconds(
            "escalationEndedDelaySec", escalation_ended_delay_s, MAX_DELAY_S
        ),
        "not_resolved_delay_s": not_resolved,
        "params": checked_params(kind, params, connector),
        "teams": checked_teams(teams),
    }


class AlertAction(Replaceable, Aggregate):
    label = "alert action"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, **settings: Any) -> AlertAction:
        return cls(signing_secret=secrets.token_hex(32), **checked_settings(**settings))

    @event("Created")
    def __init__(
        self,
        name: str,
        alert_source_ids: list[int],
        connector_id: int | None,
        connector_type: str,
        trigger_mode: str,
        trigger_types: list[str],
        conditions: str | None,
        escalation_ended_delay_s: int | None,
        not_resolved_delay_s: int | None,
        params: dict[str, Any],
        signing_secret: str,
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
    ) -> None:
        self.signing_secret = signing_secret
        self.deleted = False
        self._assign(
            name=name,
            alert_source_ids=alert_source_ids,
            connector_id=connector_id,
            connector_type=connector_type,
            trigger_mode=trigger_mode,
            trigger_types=trigger_types,
            conditions=conditions,
            escalation_ended_delay_s=escalation_ended_delay_s,
            not_resolved_delay_s=not_resolved_delay_s,
            params=params,
            teams=teams,
        )

    def _assign(self, **settings: Any) -> None:
        self.settings: dict[str, Any] = {**settings, "teams": list(settings["teams"])}

    @property
    def teams(self) -> list[int]:
        return list(self.settings["teams"])

    @event("Updated")
    def _updated(
        self,
        name: str,
        alert_source_ids: list[int],
        connector_id: int | None,
        connector_type: str,
        trigger_mode: str,
        trigger_types: list[str],
        conditions: str | None,
        escalation_ended_delay_s: int | None,
        not_resolved_delay_s: int | None,
        params: dict[str, Any],
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
    ) -> None:
        self._assign(
            name=name,
            alert_source_ids=alert_source_ids,
            connector_id=connector_id,
            connector_type=connector_type,
            trigger_mode=trigger_mode,
            trigger_types=trigger_types,
            conditions=conditions,
            escalation_ended_delay_s=escalation_ended_delay_s,
            not_resolved_delay_s=not_resolved_delay_s,
            params=params,
            teams=teams,
        )

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
