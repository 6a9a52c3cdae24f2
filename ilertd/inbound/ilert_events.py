"""Validate and normalise one Events API request body (API.md, "Events API (inbound)").

Pure: no I/O, no HTTP, no database. The HTTP layer parses the JSON and hands the result
here; anything wrong raises ``InvalidValueError(field, message)`` naming the field as the
client spelled it (``"apiKey"``, ``"images[2].src"``, ``"labels.env"``) so the 400 answer
tells the sender exactly what to fix.

Choices where ilert's contract is silent:

- ``null`` counts as absent for every optional field (ilert's Go client marshals empty
  slices and pointers as ``null``), and a blank key counts as absent.
- ilert truncates an over-long summary; ilertd refuses it and says the limit, because a
  silently cut summary hides what the sender meant.
- ``summary`` and ``routingKey`` only matter for ALERT and are not looked at otherwise.
- Every other field is validated for every event type, so a bad body fails the same way
  whatever its ``eventType``; unknown fields are ignored (ilert adds fields every release).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson

from ilertd.domain.alert import MAX_ALERT_KEY as _DOMAIN_MAX_ALERT_KEY
from ilertd.domain.alert import normalize_key
from ilertd.domain.errors import InvalidValueError

# --- Limits. Bounded input keeps one event from bloating the event store or the UI. ---

#: Characters of ``summary`` after trimming (ilert truncates here; ilertd refuses).
MAX_SUMMARY = 1_024
#: Characters of the markdown ``details``.
MAX_DETAILS = 100_000
#: Characters of ``alertKey`` after trimming; the same bound the Alert aggregate enforces.
MAX_ALERT_KEY = _DOMAIN_MAX_ALERT_KEY
#: Entries in ``images``.
MAX_IMAGES = 50
#: Entries in ``links``.
MAX_LINKS = 50
#: Entries in ``comments``.
MAX_COMMENTS = 100
#: Characters of one comment's ``content``.
MAX_COMMENT = 10_000
#: Entries in ``labels``.
MAX_LABELS = 100
#: Characters of a label key.
MAX_LABEL_KEY = 128
#: Characters of a label value (after numbers and booleans are turned into strings).
MAX_LABEL_VALUE = 1_024
#: Bytes of ``customDetails`` serialised as compact JSON by orjson.
MAX_CUSTOM_DETAILS_BYTES = 64 * 1024
#: Characters of an integration key; ilertd's own bound, generated keys are far shorter.
MAX_INTEGRATION_KEY = 256
#: Characters of ``routingKey``; ilertd's own bound.
MAX_ROUTING_KEY = 512
#: Characters of an image or link URL; ilertd's own bound (what browsers reliably handle).
MAX_URL = 2_048
#: Characters of short texts (image ``alt``, link ``text``, comment ``creator``); ilertd's own.
MAX_SHORT_TEXT = 1_024

_URL_SCHEMES = frozenset({"http", "https"})


class EventType(StrEnum):
    """The four Events API verbs; closed here, since an unknown verb cannot be acted on."""

    ALERT = "ALERT"
    ACCEPT = "ACCEPT"
    RESOLVE = "RESOLVE"
    COMMENT = "COMMENT"


_PRIORITIES = frozenset({"HIGH", "LOW"})
_SEVERITY_TEXTS = {f"{prefix}{n}": n for n in range(1, 6) for prefix in ("SEV", "")}


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One validated Events API request, in ilertd's spelling, aliases resolved."""

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
    becomes optional but must match it when present.
    """
    if not isinstance(body, Mapping):
        raise InvalidValueError("body", f"must be a JSON object, got {_kind(body)}")
    integration_key = _integration_key(body, integration_key_from_path)
    event_type = _event_type(body.get("eventType"))
    is_alert = event_type is EventType.ALERT
    alert_key = _alert_key(body)
    if alert_key is None and not is_alert:
        raise InvalidValueError("alertKey", f"is required for {event_type} events")
    comments = _comments(body.get("comments"))
    if event_type is EventType.COMMENT and not comments:
        raise InvalidValueError("comments", "COMMENT events need at least one comment")
    return InboundEvent(
        integration_key=integration_key,
        event_type=event_type,
        summary=_summary(body.get("summary")) if is_alert else "",
        details=_optional_text(body.get("details"), "details", MAX_DETAILS) or "",
        alert_key=alert_key,
        priority=_priority(body.get("priority")),
        severity=_severity(body.get("severity")),
        images=_images(body.get("images")),
        links=_links(body.get("links")),
        comments=comments,
        labels=_labels(body.get("labels")),
        custom_details=_custom_details(body.get("customDetails")),
        routing_key=_routing_key(body.get("routingKey")) if is_alert else None,
    )


# --- Keys -----------------------------------------------------------------------------


def _integration_key(body: Mapping[str, Any], from_path: str | None) -> str:
    """Accept ``integrationKey`` and ilert's legacy ``apiKey``; they must agree when both."""
    current = _key_text(body.get("integrationKey"), "integrationKey")
    legacy = _key_text(body.get("apiKey"), "apiKey")
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


def _key_text(value: object, field: str) -> str | None:
    """An integration key: a string, trimmed; null or blank means absent."""
    text = _optional_text(value, field, MAX_INTEGRATION_KEY, strip=True)
    return text or None


def _alert_key(body: Mapping[str, Any]) -> str | None:
    """``alertKey`` or legacy ``incidentKey``: trimmed, blank is None, both must agree."""
    current = _optional_text(body.get("alertKey"), "alertKey", MAX_ALERT_KEY, strip=True)
    legacy = _optional_text(body.get("incidentKey"), "incidentKey", MAX_ALERT_KEY, strip=True)
    current, legacy = current or None, legacy or None
    if (
        current is not None
        and legacy is not None
        and normalize_key(current) != normalize_key(legacy)
    ):
        raise InvalidValueError("alertKey", "differs from incidentKey; send one of the two")
    return current if current is not None else legacy


# --- Scalars --------------------------------------------------------------------------


def _event_type(value: object) -> EventType:
    """Case-insensitive on input; an unknown verb is an error, not an open enum value."""
    allowed = ", ".join(EventType)
    if value is None:
        raise InvalidValueError("eventType", f"is required; one of {allowed}")
    text = _string(value, "eventType").strip().upper()
    try:
        return EventType(text)
    except ValueError:
        raise InvalidValueError("eventType", f"must be one of {allowed}") from None


def _summary(value: object) -> str:
    """Required, non-blank, trimmed, at most MAX_SUMMARY characters (ALERT only)."""
    text = _optional_text(value, "summary", MAX_SUMMARY, strip=True)
    if not text:
        raise InvalidValueError("summary", "is required for ALERT events and must not be blank")
    return text


def _priority(value: object) -> str | None:
    if value is None:
        return None
    text = _string(value, "priority").strip().upper()
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


# --- Lists of objects -----------------------------------------------------------------


def _images(value: object) -> tuple[dict, ...]:
    """``[{src, href?, alt?}]``: URLs must be http(s) so the UI never renders other schemes."""
    items = _object_list(value, "images", MAX_IMAGES)
    images = []
    for index, item in enumerate(items):
        at = f"images[{index}]"
        image = {"src": _url(item.get("src"), f"{at}.src")}
        image |= _optional_fields(item, at, href=_url, alt=_short_text)
        images.append(image)
    return tuple(images)


def _links(value: object) -> tuple[dict, ...]:
    """``[{href, text?}]``."""
    items = _object_list(value, "links", MAX_LINKS)
    links = []
    for index, item in enumerate(items):
        at = f"links[{index}]"
        link = {"href": _url(item.get("href"), f"{at}.href")}
        link |= _optional_fields(item, at, text=_short_text)
        links.append(link)
    return tuple(links)


def _comments(value: object) -> tuple[dict, ...]:
    """``[{creator?, content}]``; content is required and non-blank."""
    items = _object_list(value, "comments", MAX_COMMENTS)
    comments = []
    for index, item in enumerate(items):
        at = f"comments[{index}]"
        content = _optional_text(item.get("content"), f"{at}.content", MAX_COMMENT)
        if content is None or not content.strip():
            raise InvalidValueError(f"{at}.content", "is required and must not be blank")
        comment = {"content": content}
        comment |= _optional_fields(item, at, creator=_short_text)
        comments.append(comment)
    return tuple(comments)


def _object_list(value: object, field: str, limit: int) -> list[Mapping[str, Any]]:
    """A JSON array of objects, at most ``limit`` long; null is the empty list."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidValueError(field, f"must be an array, got {_kind(value)}")
    if len(value) > limit:
        raise InvalidValueError(field, f"has {len(value)} entries; at most {limit} are allowed")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise InvalidValueError(f"{field}[{index}]", f"must be an object, got {_kind(item)}")
    return list(value)


def _optional_fields(item: Mapping[str, Any], at: str, **checks: Any) -> dict[str, str]:
    """Validate the optional members of one list entry; absent or null ones are left out."""
    found = {}
    for name, check in checks.items():
        value = item.get(name)
        if value is not None:
            found[name] = check(value, f"{at}.{name}")
    return found


def _url(value: object, field: str) -> str:
    """An absolute http(s) URL with a host and no whitespace."""
    if value is None:
        raise InvalidValueError(field, "is required")
    text = _string(value, field, MAX_URL)
    message = "must be an absolute http:// or https:// URL"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidValueError(field, f"{message} without spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise InvalidValueError(field, message) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not host:
        raise InvalidValueError(field, message)
    return text


def _short_text(value: object, field: str) -> str:
    return _string(value, field, MAX_SHORT_TEXT)


# --- Maps -----------------------------------------------------------------------------


def _labels(value: object) -> dict[str, str]:
    """A flat string map; numbers and booleans become their JSON text, nesting is refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidValueError("labels", f"must be an object of strings, got {_kind(value)}")
    if len(value) > MAX_LABELS:
        raise InvalidValueError(
            "labels", f"has {len(value)} entries; at most {MAX_LABELS} are allowed"
        )
    labels = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not key:
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


def _custom_details(value: object) -> dict | None:
    """Any JSON object, kept as given, at most MAX_CUSTOM_DETAILS_BYTES once serialised."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidValueError("customDetails", f"must be a JSON object, got {_kind(value)}")
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
