"""The one value every outbound target builds, so the dispatcher sends them all alike.

Builders stay pure: they return an `OutboundRequest`, and only the dispatcher does I/O.
Validation lives here so no target can emit a header that splits the HTTP message.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

# RFC 9110 token: the only characters allowed in a header name.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_IN_VALUE = ("\r", "\n", "\x00")
_FORBIDDEN_IN_URL = re.compile(r"[\x00-\x20\x7f]")

JSON_CONTENT_TYPE = "application/json"

Header = tuple[str, str]


@dataclass(frozen=True)
class OutboundRequest:
    """An HTTP request ready to send; construction rejects header and URL injection."""

    method: str
    url: str
    headers: tuple[Header, ...]
    body: bytes

    def __post_init__(self) -> None:
        check_url(self.url)
        for name, value in self.headers:
            check_header(name, value)

    def __repr__(self) -> str:
        """Only scheme and host: webhook paths and Authorization values are secrets."""
        parts = urlsplit(self.url)
        names = [name for name, _ in self.headers]
        return (
            f"OutboundRequest({self.method} {parts.scheme}://{parts.hostname}/…,"
            f" headers={names}, body={len(self.body)} bytes)"
        )

    def header(self, name: str) -> str | None:
        """The last value of a header, matched case-insensitively as HTTP does."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found

    def with_headers(self, extra: Iterable[Header]) -> OutboundRequest:
        """A copy with headers appended, e.g. the dispatcher's delivery signature."""
        return OutboundRequest(self.method, self.url, (*self.headers, *extra), self.body)


def check_header(name: str, value: str) -> None:
    """Raise ValueError for a header that could inject another header or a body."""
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name: {name!r}")
    if any(char in value for char in _FORBIDDEN_IN_VALUE):
        raise ValueError(f"header {name} contains a line break or NUL")


def check_url(url: str) -> None:
    """Raise ValueError unless url is an absolute http(s) URL without control characters."""
    if _FORBIDDEN_IN_URL.search(url):
        raise ValueError("URL contains whitespace or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("URL must be absolute http(s)")


def basic_auth(user: str, password: str) -> str:
    """An Authorization value; UTF-8 as RFC 7617 recommends."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without `user:pass@`, and a Basic Authorization built from it (if any).

    Credentials must not travel in the request line or logs, so they move to a header.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, basic_auth(unquote(user), unquote(password))


def json_request(
    url: str, body: bytes, *, content_type: str = JSON_CONTENT_TYPE
) -> OutboundRequest:
    """A POST of a JSON document, the shape every chat webhook expects."""
    return OutboundRequest("POST", url, (("Content-Type", content_type),), body)
