"""Slack incoming-webhook messages built with Block Kit.

Slack rejects a whole message when one block exceeds its limit, so every text is cut to
the documented maximum; alert text is escaped (&, <, >) so it cannot mention `<!channel>`
or forge links.
"""

from __future__ import annotations

from typing import Any

import orjson

from ilertd.outbound.payload import (
    Alert,
    alert_title,
    responders_text,
    source_name,
)
from ilertd.outbound.request import OutboundRequest, json_request
from ilertd.outbound.templates import ELLIPSIS, single_line, truncate

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
BUTTON_URL_MAX = 3000
FALLBACK_TEXT_MAX = 3000
SUMMARY_MAX = 1000

_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def build_slack(url: str, alert: Alert, event_type: str, alert_url: str) -> OutboundRequest:
    """POST one Block Kit message for an alert event to a Slack incoming webhook."""
    return json_request(url, orjson.dumps(slack_message(alert, event_type, alert_url)))


def slack_message(alert: Alert, event_type: str, alert_url: str) -> dict[str, Any]:
    """`text` is the notification fallback Slack requires; `blocks` is what users see."""
    title = alert_title(alert, event_type)
    blocks = [
        {"type": "header", "text": _plain(truncate(title, HEADER_MAX))},
        {"type": "section", "text": _mrkdwn(_summary_text(alert))},
        {"type": "section", "fields": [_mrkdwn(text) for text in _fields(alert)]},
    ]
    if len(alert_url) <= BUTTON_URL_MAX:
        button = {"type": "button", "text": _plain("Open alert"), "url": alert_url}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": escape_within(title, FALLBACK_TEXT_MAX), "blocks": blocks}


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters as entities, nothing else (per Slack's docs)."""
    return "".join(_MRKDWN_ESCAPES.get(char, char) for char in text)


def escape_within(text: str, limit: int) -> str:
    """Escaped text of at most `limit` characters, never cutting an entity in half."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(ELLIPSIS)
    pieces: list[str] = []
    for char in text:
        piece = _MRKDWN_ESCAPES.get(char, char)
        budget -= len(piece)
        if budget < 0:
            break
        pieces.append(piece)
    return "".join(pieces) + ELLIPSIS


def _summary_text(alert: Alert) -> str:
    """Bold summary, then as much of the details as fits the section limit."""
    summary = single_line(alert.get("summary") or "") or "(no summary)"
    head = f"*{escape_within(summary, SUMMARY_MAX)}*"
    details = (alert.get("details") or "").strip()
    if not details:
        return head
    return f"{head}\n{escape_within(details, SECTION_TEXT_MAX - len(head) - 1)}"


def _fields(alert: Alert) -> list[str]:
    facts = [
        ("Status", alert.get("status") or ""),
        ("Priority", alert.get("priority") or ""),
        ("Source", source_name(alert)),
        ("Responders", responders_text(alert)),
    ]
    return [_field(label, value) for label, value in facts[:FIELDS_MAX]]


def _field(label: str, value: str) -> str:
    head = f"*{label}*\n"
    return head + escape_within(value or "—", FIELD_TEXT_MAX - len(head))


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}
