"""Signed tokens of the subscription links: confirm (expiring), unsubscribe, and the form's.

A token names its purpose, what it acts on (a subscription's stream, or for the form a
page), a number (the confirmation's request round) and when it expires (0: never, for
unsubscribe links, which must work in any old mail), under an HMAC-SHA256 keyed with the
installation's link secret and a prefix of its own, so an alert action link never passes as
one of these nor the other way round. Nothing personal is in a token: no address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

MAC_BYTES = 16
MAX_TOKEN = 200
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,160}\.[A-Za-z0-9_-]{16,32}")
_PAYLOAD = re.compile(r"([a-z]{1,12})\.([0-9a-f]{1,32})\.([0-9]{1,9})\.([0-9]{1,12})")


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsub"
    FORM = "form"


class InvalidTokenError(Exception):
    """Malformed, forged, for another purpose, or expired: ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Token:
    purpose: Purpose
    #: a subscription stream's hex, or a page id (the form) in hex
    subject: str
    number: int
    expires_at: datetime | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"ilertd-status:" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def make(secret: bytes, token: Token) -> str:
    expires = int(token.expires_at.timestamp()) if token.expires_at is not None else 0
    payload = f"{token.purpose.value}.{token.subject}.{token.number}.{expires}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read(secret: bytes, text: str, purpose: Purpose, now: datetime) -> Token:
    """The token ``text`` stands for, if it is for ``purpose`` and not expired."""
    if not isinstance(text, str) or len(text) > MAX_TOKEN or not _TOKEN.fullmatch(text):
        raise InvalidTokenError("malformed")
    encoded, mac = text.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except (ValueError, TypeError):
        raise InvalidTokenError("malformed") from None
    if _b64(payload) != encoded or _b64(given) != mac:
        raise InvalidTokenError("malformed")  # only the canonical spelling counts
    if not hmac.compare_digest(_mac(secret, payload), given):
        raise InvalidTokenError("forged")
    match = _PAYLOAD.fullmatch(payload.decode("ascii", "replace"))
    if match is None or match.group(1) != purpose.value:
        raise InvalidTokenError("not for this")
    expires = int(match.group(4))
    expires_at = datetime.fromtimestamp(expires, UTC) if expires else None
    if expires_at is not None and now >= expires_at:
        raise InvalidTokenError("expired")
    return Token(purpose, match.group(2), int(match.group(3)), expires_at)


#: How long a served page's subscribe form may be sent.
FORM_TTL_S = 6 * 3600


def form_token(secret: bytes, page_id: int, now: datetime) -> str:
    """The subscribe form's token: this page's, for a few hours (a form posted from
    elsewhere, or replayed much later, lacks a valid one)."""
    expires = datetime.fromtimestamp(int(now.timestamp()) + FORM_TTL_S, UTC)
    return make(secret, Token(Purpose.FORM, format(page_id, "x"), 0, expires))
