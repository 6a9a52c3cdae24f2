"""Checks for free text and URLs that several aggregates share."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidValueError

MAX_NAME = 255
MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked_name(value: Any, field: str = "name", maximum: int = MAX_NAME) -> str:
    """A required one-line name, trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(field, "is required and must be a non-empty string")
    name = value.strip()
    if len(name) > maximum:
        raise InvalidValueError(field, f"must be at most {maximum} characters")
    if _CONTROL.search(name):  # NUL cannot even be stored (PostgreSQL text and jsonb)
        raise InvalidValueError(field, "must not contain control characters")
    return name


def checked_url(field: str, value: Any) -> str:
    """An absolute http(s) URL with a host: where ilertd sends requests."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(field, "is required: an http(s) URL")
    url = value.strip()
    if len(url) > MAX_URL or _CONTROL.search(url) or " " in url:
        raise InvalidValueError(field, f"must be a URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise InvalidValueError(field, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValueError(field, "must be an http:// or https:// URL with a host")
    del port
    return url
