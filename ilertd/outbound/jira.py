"""Jira Cloud (REST API v2) issues for alerts: create one, then comment on later events.

v2 takes plain strings (wiki markup) for description and comments, which keeps
user templates simple; v3 would need Atlassian Document Format.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson

from ilertd.outbound.payload import (
    Alert,
    event_text,
    responders_text,
    source_name,
    template_variables,
)
from ilertd.outbound.request import JSON_CONTENT_TYPE, OutboundRequest, basic_auth
from ilertd.outbound.templates import render, single_line, truncate

SUMMARY_MAX = 255  # Jira's limit for the summary field
TEXT_MAX = 32_767  # Jira's limit for description and comment text
ISSUE_LABEL = "ilertd"
_ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$")
_ERROR_EXCERPT_MAX = 300


def build_create_issue(
    base_url: str,
    email: str,
    api_token: str,
    project: str,
    issue_type: str,
    alert: Alert,
    event_type: str,
    alert_url: str,
    *,
    summary_template: str | None,
    body_template: str | None,
) -> OutboundRequest:
    """POST /rest/api/2/issue for an alert, from templates or a default text."""
    variables = template_variables(alert, event_type, alert_url)
    summary = render(summary_template, variables) if summary_template else alert.get("summary")
    description = render(body_template, variables) if body_template else None
    fields = {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": issue_summary(summary or "", alert),
        "description": truncate(description or default_description(alert, alert_url), TEXT_MAX),
        "labels": [ISSUE_LABEL],
    }
    return _post(base_url, "/rest/api/2/issue", email, api_token, {"fields": fields})


def parse_created_issue(status: int, body: bytes) -> str:
    """The new issue's key from Jira's `{"id", "key", "self"}`; ValueError otherwise."""
    if not 200 <= status < 300:
        raise ValueError(f"Jira refused the issue (HTTP {status}): {_error_excerpt(body)}")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("Jira answered with a body that is not JSON") from None
    key = document.get("key") if isinstance(document, dict) else None
    if not isinstance(key, str) or not _ISSUE_KEY.match(key):
        raise ValueError(f"Jira answered without a valid issue key: {key!r}")
    return key


def build_comment(
    base_url: str, email: str, api_token: str, issue_key: str, text: str
) -> OutboundRequest:
    """POST a comment to an existing issue; the key is encoded so it cannot alter the path."""
    path = f"/rest/api/2/issue/{quote(issue_key, safe='')}/comment"
    return _post(base_url, path, email, api_token, {"body": truncate(text, TEXT_MAX)})


def comment_text(alert: Alert, event_type: str, alert_url: str) -> str:
    """The comment recorded on the issue when a later event of the alert happens."""
    summary = single_line(alert.get("summary") or "")
    facts = (
        f"Status: {alert.get('status') or ''} | Priority: {alert.get('priority') or ''}"
        f" | Responders: {responders_text(alert)}"
    )
    return f"{event_text(event_type)}: {summary}\n{facts}\n{alert_url}"


def issue_summary(text: str, alert: Alert) -> str:
    """One line within Jira's limit; Jira rejects an empty summary, so fall back to the id."""
    line = single_line(text) or f"Alert {alert.get('id')}"
    return truncate(line, SUMMARY_MAX)


def default_description(alert: Alert, alert_url: str) -> str:
    """Details first, then the facts a responder needs, in Jira wiki markup."""
    lines = [
        f"*Priority:* {alert.get('priority') or ''}",
        f"*Source:* {source_name(alert)}",
        f"*Alert:* [{alert_url}]",
    ]
    details = (alert.get("details") or "").strip()
    return "\n".join([details, "", *lines] if details else lines)


def _post(
    base_url: str, path: str, email: str, api_token: str, document: dict[str, Any]
) -> OutboundRequest:
    headers = (
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Accept", JSON_CONTENT_TYPE),
        ("Authorization", basic_auth(email, api_token)),
    )
    return OutboundRequest("POST", base_url.rstrip("/") + path, headers, orjson.dumps(document))


def _error_excerpt(body: bytes) -> str:
    """Jira's `errorMessages`/`errors` when present, else the start of the raw body."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict) and ("errorMessages" in document or "errors" in document):
        detail = orjson.dumps(
            {"errorMessages": document.get("errorMessages"), "errors": document.get("errors")}
        ).decode()
    else:
        detail = body.decode("utf-8", "replace")
    return truncate(detail, _ERROR_EXCERPT_MAX)
