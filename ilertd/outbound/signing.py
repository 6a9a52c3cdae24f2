"""HMAC signatures on webhook deliveries, so receivers can trust body and timestamp.

The timestamp is signed with the body (`<unix seconds>.<body>`) so a captured delivery
cannot be replayed later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`."""
    message = f"{timestamp}.".encode() + body
    return SIGNATURE_PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    now: int | None = None,
    tolerance_seconds: int = 300,
) -> bool:
    """Constant-time check; pass `now` to also reject deliveries outside the tolerance."""
    if now is not None and abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def delivery_headers(
    delivery_id: str, event_type: str, timestamp: int, body: bytes, secret: bytes
) -> list[tuple[str, str]]:
    """The headers identifying and signing one delivery attempt of one webhook body."""
    return [
        ("X-Ilertd-Delivery", delivery_id),
        ("X-Ilertd-Event", event_type),
        ("X-Ilertd-Timestamp", str(timestamp)),
        ("X-Ilertd-Signature", sign(secret, timestamp, body)),
    ]
