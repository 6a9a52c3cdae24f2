"""Google Chat incoming-webhook messages: a short text plus a cardsV2 card.

Card text is a subset of HTML, so alert text is HTML-escaped there; the plain `text`
uses Chat's `<users/all>` syntax for mentions, so angle brackets from alerts are
replaced by look-alikes instead (Chat documents no escape for them).
"""

from __future__ import annotations

import html
from typing import Any

import orjson

from ilertd.outbound.payload import (
    Alert,
    alert_title,
    event_text,
    responders_text,
    source_name,
)
from ilertd.outbound.request import OutboundRequest, json_request
from ilertd.outbound.templates import single_line, truncate

CONTENT_TYPE = "application/json; charset=UTF-8"
DETAILS_MAX = 4000  # Chat caps a whole message at 32 KB; keep cards far below it
_NO_MENTIONS = str.maketrans({"<": "\u2039", ">": "\u203a"})  # single angle quotes


def build_google_chat(url: str, alert: Alert, event_type: str, alert_url: str) -> OutboundRequest:
    """POST a card message for an alert event to a Google Chat space webhook."""
    body = orjson.dumps(google_chat_message(alert, event_type, alert_url))
    return json_request(url, body, content_type=CONTENT_TYPE)


def google_chat_message(alert: Alert, event_type: str, alert_url: str) -> dict[str, Any]:
    button = {"text": "Open alert", "onClick": {"openLink": {"url": alert_url}}}
    widgets = [*_fact_widgets(alert), {"buttonList": {"buttons": [button]}}]
    card = {
        "header": {
            "title": event_text(event_type),
            "subtitle": single_line(alert.get("summary") or ""),
        },
        "sections": [{"widgets": widgets}],
    }
    return {
        "text": alert_title(alert, event_type).translate(_NO_MENTIONS),
        "cardsV2": [{"cardId": f"alert-{alert.get('id')}", "card": card}],
    }


def _fact_widgets(alert: Alert) -> list[dict[str, Any]]:
    facts = [
        ("Status", alert.get("status") or ""),
        ("Priority", alert.get("priority") or ""),
        ("Source", source_name(alert)),
        ("Responders", responders_text(alert)),
    ]
    widgets: list[dict[str, Any]] = [
        {"decoratedText": {"topLabel": label, "text": _card_text(value)}} for label, value in facts
    ]
    details = (alert.get("details") or "").strip()
    if details:
        text = _card_text(truncate(details, DETAILS_MAX))
        widgets.append({"decoratedText": {"topLabel": "Details", "text": text, "wrapText": True}})
    return widgets


def _card_text(text: str) -> str:
    """HTML-escaped, with line breaks as `<br>`, the card text's only newline."""
    return html.escape(text or "—", quote=False).replace("\n", "<br>")
