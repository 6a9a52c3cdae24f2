"""Validate and normalise one Events API request body (API.md, "Events API (inbound)").

Pure: no I/O, no HTTP, no database. msgspec decodes the body into the wire type
(``ilertd.contract.events.EventRequest``: types, list lengths, URL and text limits); this
module applies what a type cannot say and builds the ``InboundEvent``. Anything wrong
raises ``InvalidValueError(field, message)`` naming the field as the client spelled it
(``"apiKey"``, ``"images[2].src"``, ``"labels.env"``) so the 400 answer tells the sender
exactly what to fix.

Choices where ilert's contract is silent:

- ``null`` counts as absent for every optional field (ilert's Go client marshals empty
  slices and pointers as ``null``), and a blank key counts as absent, as does an image's
  blank ``href`` (ilert-go sends ``"href": ""`` for an image without a link).
- ilert truncates an over-long summary; ilertd refuses it and says the limit, because a
  silently cut summary hides what the sender meant.
- ``summary`` and ``routingKey`` only matter for ALERT and are not looked at otherwise.
- Every other field is validated for every event type, so a bad body fails the same way
  whatever its ``eventType``; unknown fields are ignored (ilert adds fields every release).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
import orjson

from ilertd.contract.events import (
    MAX_ALERT_KEY,
    MAX_COMMENT,
    MAX_COMMENTS,
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_IMAGES,
    MAX_INTEGRATION_KEY,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LINKS,
    MAX_ROUTING_KEY,
    MAX_SHORT_TEXT,
    MAX_SUMMARY,
    MAX_URL,
    EventComment,
    EventRequest,
    EventType,
    Image,
    Link,
)
from ilertd.domain.alert import normalize_key
from ilertd.domain.errors import InvalidValueError

__all__ = [
    "MAX_ALERT_KEY",
    "MAX_COMMENT",
    "MAX_COMMENTS",
    "MAX_CUSTOM_DETAILS_BYTES",
    "MAX_DETAILS",
    "MAX_IMAGES",
    "MAX_INTEGRATION_KEY",
    "MAX_LABELS",
    "MAX_LABEL_KEY",
    "MAX_LABEL_VALUE",
    "MAX_LINKS",
    "MAX_ROUTING_KEY",
    "MAX_SHORT_TEXT",
    "MAX_SUMMARY",
    "MAX_URL",
    "EventType",
    "InboundEvent",
    "event_from_request",
    "parse_event",
]

_URL_SCHEMES = frozenset({"http", "https"})
_PRIORITIES = frozenset({"HIGH", "LOW"})
#: looked up per event: a dict is faster than calling the enum (and than joining it)
_EVENT_TYPES = {member.value: member for member in EventType}
_EVENT_TYPE_NAMES = ", ".join(_EVENT_TYPES)
_SEVERITY_TEXTS = {f"{prefix}{n}": n for n in range(1, 6) for prefix in ("SEV", "")}


class InboundEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One validated Events API request, in ilertd's spelling, aliases resolved. A frozen
    msgspec Struct: built in C, a quarter of a frozen dataclass's cost per event."""

    integration_key: str
    event_type: EventType
    summary: str
    details: str
    alert_key: str | None
    priority: str | None
    severity: int | None
    images: tuple[dict, ...]
    links: tuple[dict, ...]
    comments: tuple[dict, ...]
    labels: dict[str, str]
    custom_details: dict | None
    routing_key: str | None


def parse_event(body: object, *, integration_key_from_path: str | None = None) -> InboundEvent:
    """Validate ``body`` (parsed JSON) into an InboundEvent or raise InvalidValueError.

    ``integration_key_from_path`` is the key of a tool webhook URL: the body's key then
    becomes optional but must match it when present. The HTTP route decodes the raw body
    into ``EventRequest`` itself and calls ``event_from_request``.
    """
    if not isinstance(body, Mapping):
        raise InvalidValueError("body", f"must be a JSON object, got {_kind(body)}")
    try:
        request = msgspec.convert(dict(body), EventRequest)
    except msgspec.ValidationError as exc:
        # the route's own wording for what msgspec found (imported here: this module is
        # pure, and the explanation is only needed on this path)
        from ilertd.http.routes import explain

        field, message = explain(str(exc), EventRequest)
        raise InvalidValueError(field, message) from None
    return event_from_request(request, integration_key_from_path=integration_key_from_path)


def event_from_request(
    request: EventRequest, *, integration_key_from_path: str | None = None
) -> InboundEvent:
    """The InboundEvent of a decoded body, or InvalidValueError for what its type allows
    but the Events API does not (aliases that disagree, a verb it does not know, a blank
    summary, a limit counted after trimming)."""
    integration_key = _integration_key(request, integration_key_from_path)
    event_type = _event_type(request.eventType)
    is_alert = event_type is EventType.ALERT
    alert_key = _alert_key(request)
    if alert_key is None and not is_alert:
        raise InvalidValueError("alertKey", f"is required for {event_type} events")
    comments = _comments(request.comments)
    if event_type is EventType.COMMENT and not comments:
        raise InvalidValueError("comments", "COMMENT events need at least one comment")
    return InboundEvent(
        integration_key=integration_key,
        event_type=event_type,
        summary=_summary(request.summary) if is_alert else "",
        details=request.details or "",
        alert_key=alert_key,
        priority=_priority(request.priority),
        severity=_severity(request.severity),
        images=_images(request.images),
        links=_links(request.links),
        comments=comments,
        labels=_labels(request.labels),
        custom_details=_custom_details(request.customDetails),
        routing_key=_routing_key(request.routingKey) if is_alert else None,
    )


# --- Keys -----------------------------------------------------------------------------


def _integration_key(request: EventRequest, from_path: str | None) -> str:
    """Accept ``integrationKey`` and ilert's legacy ``apiKey``; they must agree when both."""
    current = _key_text(request.integrationKey, "integrationKey")
    legacy = _key_text(request.apiKey, "apiKey")
    if current is not None and legacy is not None and current != legacy:
        raise InvalidValueError("integrationKey", "differs from apiKey; send one of the two")
    given, field = (current, "integrationKey") if current is not None else (legacy, "apiKey")
    if from_path is None:
        if given is None:
            raise InvalidValueError("integrationKey", "is required (legacy name: apiKey)")
        return given
    if given is not None and given != from_path:
        raise InvalidValueError(field, "does not match the integration key in the URL")
    return from_path


def _key_text(value: str | None, field: str) -> str | None:
    """An integration key, trimmed; null or blank means absent."""
    text = _optional_text(value, field, MAX_INTEGRATION_KEY, strip=True)
    return text or None


def _alert_key(request: EventRequest) -> str | None:
    """``alertKey`` or legacy ``incidentKey``: trimmed, blank is None, both must agree."""
    current = _optional_text(request.alertKey, "alertKey", MAX_ALERT_KEY, strip=True)
    legacy = _optional_text(request.incidentKey, "incidentKey", MAX_ALERT_KEY, strip=True)
    current, legacy = current or None, legacy or None
    if (
        current is not None
        and legacy is not None
        and normalize_key(current) != normalize_key(legacy)
    ):
        raise InvalidValueError("alertKey", "differs from incidentKey; send one of the two")
    return current if current is not None else legacy


# --- Scalars --------------------------------------------------------------------------


def _event_type(value: str | None) -> EventType:
    """Case-insensitive on input; an unknown verb is an error, not an open enum value."""
    if value is None:
        raise InvalidValueError("eventType", f"is required; one of {_EVENT_TYPE_NAMES}")
    found = _EVENT_TYPES.get(value.strip().upper())
    if found is None:
        raise InvalidValueError("eventType", f"must be one of {_EVENT_TYPE_NAMES}")
    return found


def _summary(value: object) -> str:
    """Required, non-blank, trimmed, at most MAX_SUMMARY characters (ALERT only)."""
    text = _optional_text(value, "summary", MAX_SUMMARY, strip=True)
    if not text:
        raise InvalidValueError("summary", "is required for ALERT events and must not be blank")
    return text


def _priority(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().upper()
    if text not in _PRIORITIES:
        raise InvalidValueError("priority", "must be HIGH or LOW")
    return text


def _severity(value: object) -> int | None:
    """An integer 1..5, or the text "SEV1".."SEV5" / "1".."5" that some tools send."""
    if value is None:
        return None
    message = 'must be an integer from 1 to 5, or "SEV1" to "SEV5"'
    if isinstance(value, bool):
        raise InvalidValueError("severity", message)
    if isinstance(value, int):
        if 1 <= value <= 5:
            return value
        raise InvalidValueError("severity", message)
    if isinstance(value, str):
        number = _SEVERITY_TEXTS.get(value.strip().upper())
        if number is not None:
            return number
    raise InvalidValueError("severity", message)


def _routing_key(value: object) -> str | None:
    return _optional_text(value, "routingKey", MAX_ROUTING_KEY, strip=True) or None


# --- Lists of objects (their types and lengths checked by msgspec) --------------------


def _images(images: list[Image] | None) -> tuple[dict, ...]:
    """``[{src, href?, alt?}]``: URLs must be http(s) so the UI never renders other schemes;
    a blank ``href`` is left out."""
    found = []
    for index, image in enumerate(images or ()):
        at = f"images[{index}]"
        item = {"src": _url(image.src, f"{at}.src")}
        if image.href:
            item["href"] = _url(image.href, f"{at}.href")
        if image.alt is not None:
            item["alt"] = image.alt
        found.append(item)
    return tuple(found)


def _links(links: list[Link] | None) -> tuple[dict, ...]:
    """``[{href, text?}]``."""
    found = []
    for index, link in enumerate(links or ()):
        item = {"href": _url(link.href, f"links[{index}].href")}
        if link.text is not None:
            item["text"] = link.text
        found.append(item)
    return tuple(found)


def _comments(comments: list[EventComment] | None) -> tuple[dict, ...]:
    """``[{creator?, content}]``; content must not be blank."""
    found = []
    for index, comment in enumerate(comments or ()):
        if not comment.content.strip():
            raise InvalidValueError(
                f"comments[{index}].content", "is required and must not be blank"
            )
        item = {"content": comment.content}
        if comment.creator is not None:
            item["creator"] = comment.creator
        found.append(item)
    return tuple(found)


def _url(text: str, field: str) -> str:
    """An absolute http(s) URL with a host and no whitespace (its length checked by msgspec)."""
    message = "must be an absolute http:// or https:// URL"
    if not text.isprintable() or any(ch.isspace() for ch in text):
        raise InvalidValueError(field, f"{message} without spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise InvalidValueError(field, message) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not host:
        raise InvalidValueError(field, message)
    return text


# --- Maps -----------------------------------------------------------------------------


def _labels(value: dict[str, Any] | None) -> dict[str, str]:
    """A flat string map; numbers and booleans become their JSON text, nesting is refused
    (its size checked by msgspec)."""
    labels: dict[str, str] = {}
    for key, raw in (value or {}).items():
        if not key:
            raise InvalidValueError("labels", "keys must be non-empty strings")
        if len(key) > MAX_LABEL_KEY:
            raise InvalidValueError(
                "labels", f"key {key[:32]!r}... is longer than {MAX_LABEL_KEY} characters"
            )
        labels[key] = _label_value(raw, f"labels.{key}")
    return labels


def _label_value(value: object, field: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidValueError(field, f"must be a string, number or boolean, got {_kind(value)}")
    if len(text) > MAX_LABEL_VALUE:
        raise InvalidValueError(field, f"is longer than {MAX_LABEL_VALUE} characters")
    return text


def _custom_details(value: dict[str, Any] | None) -> dict | None:
    """Any JSON object, kept as given, at most MAX_CUSTOM_DETAILS_BYTES once serialised."""
    if value is None:
        return None
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        raise InvalidValueError(
            "customDetails",
            "holds a value that cannot be stored as JSON (an integer beyond 64 bits, "
            "nesting deeper than 254 levels, or a non-string key)",
        ) from None
    if size > MAX_CUSTOM_DETAILS_BYTES:
        raise InvalidValueError(
            "customDetails",
            f"is {size} bytes as JSON; at most {MAX_CUSTOM_DETAILS_BYTES} are allowed",
        )
    return value


# --- Strings --------------------------------------------------------------------------


def _string(value: object, field: str, limit: int | None = None) -> str:
    """A JSON string (never a number) of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise InvalidValueError(field, f"must be a string, got {_kind(value)}")
    if limit is not None and len(value) > limit:
        raise InvalidValueError(field, f"is longer than {limit} characters ({len(value)})")
    return value


def _optional_text(value: object, field: str, limit: int, *, strip: bool = False) -> str | None:
    """A string or null; trimmed first when ``strip`` so the limit counts what is kept."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(field, f"must be a string, got {_kind(value)}")
    return _string(value.strip() if strip else value, field, limit)


def _kind(value: object) -> str:
    """The JSON name of a value's type, for messages a client author understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
