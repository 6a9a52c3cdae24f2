"""A PagerDuty Events API v2 event as one Events API event (pure: no I/O).

What maps to what: ``routing_key`` is the integration key, ``dedup_key`` the alertKey
(a trigger without one gets the key the caller passes, which PagerDuty would have made);
``trigger`` opens or joins, ``acknowledge`` accepts, ``resolve`` resolves. ``payload``:
summary (cut to 1024 characters, as PagerDuty does), severity critical or error -> HIGH,
warning or info -> LOW; source, component, group and class become labels and lines of the
details; ``custom_details`` (an object, or anything else wrapped as ``{"details": ...}``)
becomes customDetails and is listed in the details. ``links``, ``images`` and
``client_url`` become links and images when they are http(s) URLs.

PagerDuty's older Events API v1 (``event_from_pagerduty_v1``) maps the same way:
``service_key``, ``incident_key``, ``description`` (summary), ``details``, ``contexts``.

Errors are ``InvalidValueError`` naming the field as PagerDuty spells it
(``payload.summary``), so the 400 says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from ..contract.pagerduty import (
    PagerDutyEventRequest,
    PagerDutyImage,
    PagerDutyLink,
    PagerDutyPayload,
    PagerDutyV1EventRequest,
)
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
        return _plain(body.routing_key.strip(), action, dedup_key)
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
    return InboundEvent(
        integration_key=body.routing_key.strip(),
        event_type=action,
        summary=cut(payload.summary.strip(), MAX_SUMMARY),  # type: ignore[union-attr]
        details=_details(payload),
        alert_key=dedup_key or new_dedup_key,
        priority=PRIORITIES[payload.severity],
        severity=None,
        images=_images(body.images or ()),
        links=_links(body.links or (), body.client, body.client_url),
        comments=(),
        labels=_labels(payload),
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
    return cut("\n\n".join(lines + _listed(payload.custom_details)), MAX_DETAILS)


def _listed(details: Any) -> list[str]:
    """Markdown lines of custom details: one per key of an object."""
    if isinstance(details, dict):
        return [f"**{key}**: {_text(value)}" for key, value in details.items()]
    return [] if details is None else [_text(details)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _custom_details(value: Any, field: str = "payload.custom_details") -> dict | None:
    if value is None:
        return None
    details = value if isinstance(value, dict) else {"details": value}
    try:
        size = len(orjson.dumps(details))
    except orjson.JSONEncodeError:
        raise InvalidValueError(
            field,
            "holds a value that cannot be stored as JSON (an integer beyond 64 bits, or "
            "nesting deeper than 254 levels)",
        ) from None
    if size > MAX_CUSTOM_DETAILS_BYTES:
        raise InvalidValueError(
            field,
            f"is {size} bytes as JSON; at most {MAX_CUSTOM_DETAILS_BYTES} are allowed",
        )
    return details


def _links(
    links: Iterable[PagerDutyLink], client: str | None, client_url: str | None
) -> tuple[dict, ...]:
    found = [
        {"href": link.href, "text": cut(link.text, MAX_SHORT_TEXT)}
        if link.text
        else {"href": link.href}
        for link in links
        if is_web_url(link.href)
    ]
    if client_url and is_web_url(client_url):
        found.append({"href": client_url, "text": cut(client or "client", MAX_SHORT_TEXT)})
    return tuple(found[:MAX_LINKS])


def _images(images: Iterable[PagerDutyImage]) -> tuple[dict, ...]:
    found = []
    for image in images:
        if not is_web_url(image.src):
            continue
        item = {"src": image.src}
        if image.href and is_web_url(image.href):
            item["href"] = image.href
        if image.alt:
            item["alt"] = cut(image.alt, MAX_SHORT_TEXT)
        found.append(item)
    return tuple(found[:MAX_IMAGES])


def event_from_pagerduty_v1(body: PagerDutyV1EventRequest, new_incident_key: str) -> InboundEvent:
    """PagerDuty's older Events API: ``service_key``, ``event_type``, ``incident_key``,
    ``description`` (the summary), ``details`` (customDetails), ``contexts`` (links and
    images). v1 has no severity: the source's priority rule decides."""
    action = ACTIONS[body.event_type]
    incident_key = (body.incident_key or "").strip()
    integration_key = body.service_key.strip()
    if action is not EventType.ALERT:
        if not incident_key:
            raise InvalidValueError("incident_key", f"is required to {body.event_type}")
        return _plain(integration_key, action, incident_key)
    description = (body.description or "").strip()
    if not description:
        raise InvalidValueError("description", "is required for a trigger and must not be blank")
    contexts = body.contexts or ()
    links = [
        PagerDutyLink(href=c.href, text=c.text) for c in contexts if c.type == "link" and c.href
    ]
    images = [
        PagerDutyImage(src=c.src, href=c.href, alt=c.alt)
        for c in contexts
        if c.type == "image" and c.src
    ]
    custom_details = _custom_details(body.details, "details")
    listed = _listed(body.details)
    return InboundEvent(
        integration_key=integration_key,
        event_type=action,
        summary=cut(description, MAX_SUMMARY),
        details=cut("\n\n".join(listed), MAX_DETAILS),
        alert_key=incident_key or new_incident_key,
        priority=None,
        severity=None,
        images=_images(images),
        links=_links(links, body.client, body.client_url),
        comments=(),
        labels={},
        custom_details=custom_details,
        routing_key=None,
    )


def _plain(integration_key: str, action: EventType, alert_key: str) -> InboundEvent:
    """An acknowledge or resolve: the key is all it carries."""
    return InboundEvent(
        integration_key=integration_key,
        event_type=action,
        summary="",
        details="",
        alert_key=alert_key,
        priority=None,
        severity=None,
        images=(),
        links=(),
        comments=(),
        labels={},
        custom_details=None,
        routing_key=None,
    )
