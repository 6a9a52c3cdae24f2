"""Signed, expiring action links: answer a page without logging in.

A token names one alert, one user and one action (accept, resolve, escalate) and when it
expires (for ``join``, one incident: its ``alert_id`` is the incident's id), and carries
an HMAC-SHA256 over exactly that, keyed with an installation secret:
it cannot be moved to another alert, user or action, and a forged or altered one fails the
check in constant time. Tokens are URL-safe and short enough for an SMS.
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
_PAYLOAD = re.compile(r"([0-9]{1,19})\.([0-9]{1,19})\.([a-z]{1,16})\.([0-9]{1,12})")
MAX_TOKEN = 200
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,160}\.[A-Za-z0-9_-]{16,32}")


class LinkAction(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    #: join an incident (the link's subject is an incident)
    JOIN = "join"


class InvalidLinkError(Exception):
    """The token is malformed, forged or expired; ``reason`` says which (for the log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ActionLink:
    alert_id: int
    user_id: int
    action: LinkAction
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"ilertd-link:" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def make_token(secret: bytes, link: ActionLink) -> str:
    expires = int(link.expires_at.timestamp())
    payload = f"{link.alert_id}.{link.user_id}.{link.action.value}.{expires}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_token(secret: bytes, token: str, now: datetime) -> ActionLink:
    """The link a token stands for, or InvalidLinkError (malformed, forged, expired)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or not _TOKEN.fullmatch(token):
        raise InvalidLinkError("malformed")
    encoded, mac = token.split(".")
    try:
        payload, given = _unb64(encoded), _unb64(mac)
    except (ValueError, TypeError):
        raise InvalidLinkError("malformed") from None
    if _b64(payload) != encoded or _b64(given) != mac:
        # base64's last character has spare bits: only the canonical spelling counts
        raise InvalidLinkError("malformed")
    if not hmac.compare_digest(_mac(secret, payload), given):
        raise InvalidLinkError("forged")
    match = _PAYLOAD.fullmatch(payload.decode("ascii", "replace"))
    if match is None or match.group(3) not in LinkAction.__members__.values():
        raise InvalidLinkError("malformed")
    expires_at = datetime.fromtimestamp(int(match.group(4)), UTC)
    if now >= expires_at:
        raise InvalidLinkError("expired")
    return ActionLink(
        int(match.group(1)), int(match.group(2)), LinkAction(match.group(3)), expires_at
    )
