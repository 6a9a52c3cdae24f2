"""A PagerDuty Events API v2 event as one Events API event (pure: no I/O).

What maps to what: ``routing_key`` is the integration key, ``dedup_key`` the alertKey
(a trigger without one gets the key the caller passes, which PagerDuty would have made);
``trigger`` opens or joins, ``acknowledge`` accepts, ``resolve`` resolves. ``payload``:
summary (cut to 1024 characters, as PagerDuty does), severity critical or error -> HIGH,
warning or info -> LOW; source, component, group and class become labels and lines of the
details; ``custom_details`` (an object, or anything else wrapped as ``{"details": ...}``)
becomes customDetails and is listed in the details. ``links``, ``images`` and
``client_url`` become links and images when they are http(s) URLs.

Errors are ``InvalidValueError`` naming the field as PagerDuty spells it
(``payload.summary``), so the 400 says what to fix.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..contract.events import (
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_IMAGES,
    MAX_LABEL_VALUE,
    MAX_LINKS,
    MAX_SHORT_TEXT,
    MAX_SUMMARY,
    EventType,
)
from ..contract.pagerduty import PagerDutyEventRequest, PagerDutyPayload
from ..domain.errors import InvalidValueError
from .ilert_events import InboundEvent
from .prometheus import cut, is_web_url

ACTIONS = {
    "trigger": EventType.ALERT,
    "acknowledge": EventType.ACCEPT,
    "resolve": EventType.RESOLVE,
}
PRIORITIES = {"critical": "HIGH", "error": "HIGH", "warning": "LOW", "info": "LOW"}
_LABELLED = ("source", "component", "group", "class")


def event_from_pagerduty(body: PagerDutyEventRequest, new_dedup_key: str) -> InboundEvent:
    """The event; ``new_dedup_key`` is the key a trigger without a ``dedup_key`` gets."""
    action = ACTIONS[body.event_action]
    dedup_key = (body.dedup_key or "").strip()
    if action is not EventType.ALERT:
        if not dedup_key:
            raise InvalidValueError("dedup_key", f"is required to {body.event_action}")
        return _event(body, action, dedup_key)
    payload = body.payload
    if payload is None:
        raise InvalidValueError("payload", "is required for a trigger")
    for field in ("summary", "source"):
        if not (getattr(payload, field) or "").strip():
            raise InvalidValueError(f"payload.{field}", "is required and must not be blank")
    if payload.severity is None:
        raise InvalidValueError(
            "payload.severity", "is required: one of critical, error, warning, info"
        )
    custom_details = _custom_details(payload.custom_details)  # first: it checks the JSON
    return _event(
        body,
        action,
        dedup_key or new_dedup_key,
        summary=cut(payload.summary.strip(), MAX_SUMMARY),  # type: ignore[union-attr]
        details=_details(payload),
        priority=PRIORITIES[payload.severity],
        labels=_labels(payload),
        custom_details=custom_details,
    )


def _event(
    body: PagerDutyEventRequest,
    action: EventType,
    dedup_key: str,
    *,
    summary: str = "",
    details: str = "",
    priority: str | None = None,
    labels: dict[str, str] | None = None,
    custom_details: dict | None = None,
) -> InboundEvent:
    return InboundEvent(
        integration_key=body.routing_key.strip(),
        event_type=action,
        summary=summary,
        details=details,
        alert_key=dedup_key,
        priority=priority,
        severity=None,
        images=_images(body) if action is EventType.ALERT else (),
        links=_links(body) if action is EventType.ALERT else (),
        comments=(),
        labels=labels or {},
        custom_details=custom_details,
        routing_key=None,
    )


def _fields(payload: PagerDutyPayload) -> dict[str, str]:
    """The payload's short fields that were sent, by PagerDuty's names."""
    found = {
        "source": payload.source,
        "component": payload.component,
        "group": payload.group,
        "class": payload.class_,
        "timestamp": payload.timestamp,
    }
    return {name: value.strip() for name, value in found.items() if value and value.strip()}


def _labels(payload: PagerDutyPayload) -> dict[str, str]:
    fields = _fields(payload)
    labels = {name: cut(fields[name], MAX_LABEL_VALUE) for name in _LABELLED if name in fields}
    assert payload.severity is not None
    labels["severity"] = payload.severity
    return labels


def _details(payload: PagerDutyPayload) -> str:
    """Markdown: the payload's fields, then its custom_details."""
    lines = [f"**{name}**: {value}" for name, value in _fields(payload).items()]
    details = payload.custom_details
    if isinstance(details, dict):
        lines += [f"**{key}**: {_text(value)}" for key, value in details.items()]
    elif details is not None:
        lines.append(_text(details))
    return cut("\n\n".join(lines), MAX_DETAILS)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _custom_details(value: Any) -> dict | None:
    if value is None:
        return None
    details = value if isinstance(value, dict) else {"details": value}
    try:
        size = len(orjson.dumps(details))
    except orjson.JSONEncodeError:
        raise InvalidValueError(
            "payload.custom_details",
            "holds a value that cannot be stored as JSON (an integer beyond 64 bits, or "
            "nesting deeper than 254 levels)",
        ) from None
    if size > MAX_CUSTOM_DETAILS_BYTES:
        raise InvalidValueError(
            "payload.custom_details",
            f"is {size} bytes as JSON; at most {MAX_CUSTOM_DETAILS_BYTES} are allowed",
        )
    return details


def _links(body: PagerDutyEventRequest) -> tuple[dict, ...]:
    links = [
        {"href": link.href, "text": cut(link.text, MAX_SHORT_TEXT)}
        if link.text
        else {"href": link.href}
        for link in body.links or ()
        if is_web_url(link.href)
    ]
    if body.client_url and is_web_url(body.client_url):
        links.append(
            {"href": body.client_url, "text": cut(body.client or "client", MAX_SHORT_TEXT)}
        )
    return tuple(links[:MAX_LINKS])


def _images(body: PagerDutyEventRequest) -> tuple[dict, ...]:
    images = []
    for image in body.images or ():
        if not is_web_url(image.src):
            continue
        item = {"src": image.src}
        if image.href and is_web_url(image.href):
            item["href"] = image.href
        if image.alt:
            item["alt"] = cut(image.alt, MAX_SHORT_TEXT)
        images.append(item)
    return tuple(images[:MAX_IMAGES])
