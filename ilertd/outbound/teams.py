"""Microsoft Teams messages: one Adaptive Card, accepted by Workflows webhooks and by the
older incoming-webhook connectors alike."""

from __future__ import annotations

from typing import Any

import orjson

from ilertd.outbound.payload import Alert, alert_title, responders_text, source_name, user_name
from ilertd.outbound.request import OutboundRequest, json_request
from ilertd.outbound.templates import truncate

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # the newest version Teams renders everywhere (desktop, web, mobile)
# Teams rejects messages over ~28 KB; long details are cut well below that.
DETAILS_MAX = 10_000


def build_teams(url: str, alert: Alert, event_type: str, alert_url: str) -> OutboundRequest:
    """POST an Adaptive Card message for an alert event to a Teams webhook."""
    return json_request(url, orjson.dumps(teams_message(alert, event_type, alert_url)))


def teams_message(alert: Alert, event_type: str, alert_url: str) -> dict[str, Any]:
    card = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": alert_title(alert, event_type),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": _body_text(alert), "wrap": True},
            {"type": "FactSet", "facts": _facts(alert)},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open alert", "url": alert_url}],
    }
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def _body_text(alert: Alert) -> str:
    """The details when there are some, else the summary: the title already has it."""
    details = (alert.get("details") or "").strip()
    return truncate(details, DETAILS_MAX) if details else (alert.get("summary") or "")


def _facts(alert: Alert) -> list[dict[str, str]]:
    facts = [
        ("Status", alert.get("status") or ""),
        ("Priority", alert.get("priority") or ""),
        ("Source", source_name(alert)),
        ("Assigned to", user_name(alert.get("assignedTo")) or "—"),
        ("Responders", responders_text(alert)),
        ("Reported", alert.get("reportTime") or ""),
    ]
    return [{"title": title, "value": value} for title, value in facts]
