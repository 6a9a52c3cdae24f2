"""The ilert-compatible webhook payload, template variables, and the webhook request.

Receivers written for ilert parse these bodies, so the shapes follow API.md exactly;
the text helpers here are shared by the chat, Jira and email builders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ilertd.domain.alert_action import TRIGGER_TYPES
from ilertd.outbound.request import (
    JSON_CONTENT_TYPE,
    Header,
    OutboundRequest,
    split_userinfo,
)
from ilertd.outbound.templates import json_string_escape, looks_like_json, render, single_line

Alert = Mapping[str, Any]

#: The webhook eventTypes in API.md's order (the alert actions' trigger types).
EVENT_TYPES: tuple[str, ...] = TRIGGER_TYPES

#: A person ran an action from the alert (``POST /api/alerts/{id}/actions``); ilert's list
#: has no type for it, so ilertd names it in its own style.
MANUAL_EVENT_TYPE = "alert-manual-action"

EVENT_TEXT: dict[str, str] = {
    "alert-created": "Alert created",
    "alert-assigned": "Alert assigned",
    "alert-auto-escalated": "Alert escalated",
    "alert-acknowledged": "Alert accepted",
    "alert-raised": "Alert priority raised",
    "alert-comment-added": "Comment added to alert",
    "alert-escalation-ended": "Alert escalation ended",
    "alert-resolved": "Alert resolved",
    "alert-auto-resolved": "Alert auto-resolved",
    "alert-responder-added": "Responder added to alert",
    "alert-responder-removed": "Responder removed from alert",
    "alert-channel-attached": "Channel attached to alert",
    "alert-channel-detached": "Channel detached from alert",
    "v-alert-not-resolved": "Alert still not resolved",
    MANUAL_EVENT_TYPE: "Alert action run by hand",
    "incident-created": "Incident declared",
    "incident-status-changed": "Incident status changed",
    "incident-severity-changed": "Incident severity changed",
    "incident-resolved": "Incident resolved",
    "incident-status-update-posted": "Incident status update posted",
}

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def event_text(event_type: str) -> str:
    """The human sentence for an event; unknown types are a caller bug, not a message."""
    try:
        return EVENT_TEXT[event_type]
    except KeyError:
        raise ValueError(f"unknown event type: {event_type!r}") from None


def webhook_body(alert: Alert, event_type: str) -> dict[str, Any]:
    """The alert with a string `id` and `eventType` (after `status`, as in ilert's example)."""
    event_text(event_type)
    body: dict[str, Any] = {}
    for key, value in alert.items():
        if key == "eventType":
            continue
        body[key] = str(value) if key == "id" else value
        if key == "status":
            body["eventType"] = event_type
    body.setdefault("eventType", event_type)
    return body


def template_variables(alert: Alert, event_type: str, alert_url: str) -> dict[str, Any]:
    """Exactly the documented `bodyTemplate` variables, nothing more."""
    event_text(event_type)
    source = alert.get("alertSource") or {}
    policy = alert.get("escalationPolicy") or {}
    return {
        "alertId": alert.get("id"),
        "alertKey": alert.get("alertKey"),
        "alertSummary": alert.get("summary"),
        "alertDetails": alert.get("details"),
        "alertStatus": alert.get("status"),
        "alertPriority": alert.get("priority"),
        "alertUrl": alert_url,
        "alertSourceId": source.get("id"),
        "alertSourceName": source.get("name"),
        "escalationPolicyId": policy.get("id"),
        "escalationPolicyName": policy.get("name"),
        "reportTime": alert.get("reportTime"),
        "link": first_link(alert),
        "eventType": event_type,
    }


def build_webhook(
    url: str,
    alert: Alert,
    event_type: str,
    alert_url: str,
    *,
    body_template: str | None,
    headers: Sequence[Header],
) -> OutboundRequest:
    """POST the ilert webhook body, or the rendered template; user headers win over ours."""
    if body_template and body_template.strip():
        body, content_type = _templated_body(body_template, alert, event_type, alert_url)
    else:
        body, content_type = orjson.dumps(webhook_body(alert, event_type)), JSON_CONTENT_TYPE
    bare_url, authorization = split_userinfo(url)
    defaults = [("Content-Type", content_type)]
    if authorization:
        defaults.append(("Authorization", authorization))
    custom = {name.lower() for name, _ in headers}
    kept = [(name, value) for name, value in defaults if name.lower() not in custom]
    return OutboundRequest("POST", bare_url, (*kept, *headers), body)


def _templated_body(
    template: str, alert: Alert, event_type: str, alert_url: str
) -> tuple[bytes, str]:
    """JSON-looking templates get JSON-string escaping so quotes in alert text stay valid."""
    variables = template_variables(alert, event_type, alert_url)
    if looks_like_json(template):
        return render(template, variables, escape=json_string_escape).encode(), JSON_CONTENT_TYPE
    return render(template, variables).encode(), TEXT_CONTENT_TYPE


def first_link(alert: Alert) -> str:
    links = alert.get("links") or []
    return (links[0].get("href") or "") if links else ""


def user_name(user: Mapping[str, Any] | None) -> str:
    """A person's full name, falling back to username, then email."""
    if not user:
        return ""
    full = " ".join(part for part in (user.get("firstName"), user.get("lastName")) if part)
    return full or user.get("username") or user.get("email") or ""


def responders_text(alert: Alert) -> str:
    """`Jane Doe (ACCEPTED), Bob` for chat facts; an em dash when nobody is on it."""
    names = []
    for responder in alert.get("responders") or []:
        name = user_name(responder.get("user"))
        status = responder.get("status")
        names.append(f"{name} ({status})" if status else name)
    return ", ".join(name for name in names if name) or "—"


def source_name(alert: Alert) -> str:
    return (alert.get("alertSource") or {}).get("name") or ""


def alert_title(alert: Alert, event_type: str) -> str:
    """`Alert created: disk full` on one line: the headline of every chat message."""
    summary = single_line(alert.get("summary") or "")
    return f"{event_text(event_type)}: {summary}" if summary else event_text(event_type)
