"""Posts of an incident's timeline to its chat channels: Slack Block Kit, a Teams Adaptive
Card, a Google Chat card; pure builders, in the style (and with the limits and escaping) of
the alert messages in ``slack``, ``teams`` and ``google_chat``.

Each post names the incident (``INC-7: title``), says what changed (the timeline entry's
text) and shows where the incident stands (status, severity, commander, responders).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import orjson

from ..domain.incident_channel import ChannelType
from .google_chat import CONTENT_TYPE as GOOGLE_CHAT_CONTENT_TYPE
from .payload import responders_text, user_name
from .request import OutboundRequest, json_request
from .slack import (
    BUTTON_URL_MAX,
    FALLBACK_TEXT_MAX,
    FIELD_TEXT_MAX,
    HEADER_MAX,
    SECTION_TEXT_MAX,
    escape_within,
)
from .teams import CARD_CONTENT_TYPE, CARD_SCHEMA, CARD_VERSION
from .templates import single_line, truncate

Incident = dict[str, Any]
CHANGE_MAX = 4000  # Google Chat's and Teams' messages stay far below their size caps
_NO_MENTIONS = str.maketrans({"<": "\u2039", ">": "\u203a"})  # as google_chat does


def title_of(incident: Incident) -> str:
    return single_line(f"{incident.get('reference')}: {incident.get('title') or ''}")


def facts(incident: Incident) -> list[tuple[str, str]]:
    return [
        ("Status", incident.get("status") or ""),
        ("Severity", incident.get("severity") or ""),
        ("Commander", user_name(incident.get("commander")) or "—"),
        ("Responders", responders_text(incident)),
    ]


def slack_post(incident: Incident, change: str, incident_url: str) -> dict[str, Any]:
    """Block Kit for an incoming webhook; ``text`` is the notification fallback."""
    title = title_of(incident)
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n" + escape_within(value or "—", FIELD_TEXT_MAX)}
        for label, value in facts(incident)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, HEADER_MAX)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": escape_within(change, SECTION_TEXT_MAX)},
        },
        {"type": "section", "fields": fields},
    ]
    if len(incident_url) <= BUTTON_URL_MAX:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open incident"},
            "url": incident_url,
        }
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": escape_within(f"{title}: {change}", FALLBACK_TEXT_MAX), "blocks": blocks}


def teams_post(incident: Incident, change: str, incident_url: str) -> dict[str, Any]:
    """One Adaptive Card, as ``teams`` sends for alerts (Workflows and older webhooks)."""
    card = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": title_of(incident),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": truncate(change, CHANGE_MAX), "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": value} for label, value in facts(incident)],
            },
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open incident", "url": incident_url}],
    }
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def google_chat_post(incident: Incident, change: str, incident_url: str) -> dict[str, Any]:
    """A short text (no mentions can be forged) and a cardsV2 card (HTML-escaped)."""
    widgets: list[dict[str, Any]] = [
        {"textParagraph": {"text": _card_text(truncate(change, CHANGE_MAX))}},
        *(
            {"decoratedText": {"topLabel": label, "text": _card_text(value)}}
            for label, value in facts(incident)
        ),
        {
            "buttonList": {
                "buttons": [
                    {"text": "Open incident", "onClick": {"openLink": {"url": incident_url}}}
                ]
            }
        },
    ]
    card = {
        "header": {"title": title_of(incident), "subtitle": single_line(change)[:200]},
        "sections": [{"widgets": widgets}],
    }
    return {
        "text": f"{title_of(incident)}: {single_line(change)}".translate(_NO_MENTIONS),
        "cardsV2": [{"cardId": f"incident-{incident.get('id')}", "card": card}],
    }


def _card_text(text: str) -> str:
    return html.escape(text or "—", quote=False).replace("\n", "<br>")


_BUILDERS: dict[ChannelType, tuple[Callable[[Incident, str, str], dict[str, Any]], str]] = {
    ChannelType.SLACK: (slack_post, "application/json"),
    ChannelType.MICROSOFT_TEAMS: (teams_post, "application/json"),
    ChannelType.GOOGLE_CHAT: (google_chat_post, GOOGLE_CHAT_CONTENT_TYPE),
}


def build_incident_post(
    channel_type: ChannelType, url: str, incident: Incident, change: str, incident_url: str
) -> OutboundRequest:
    """POST the post for ``channel_type`` to the connector's webhook ``url``."""
    builder, content_type = _BUILDERS[channel_type]
    body = orjson.dumps(builder(incident, change, incident_url))
    return json_request(url, body, content_type=content_type)
