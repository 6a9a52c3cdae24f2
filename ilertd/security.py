"""API keys: 256 random bits shown once; only a SHA-256 hash is stored.

A fast hash is right here: the keys are random, not passwords, so there is nothing to
brute-force, and authentication runs on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "ilk_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def feed_token(secret: bytes, schedule_id: int) -> str:
    """A read-only token for one schedule's calendar feed: calendar apps cannot send a
    Bearer header, so the feed URL carries this instead of an API key."""
    return hmac.new(secret, f"ical:{schedule_id}".encode(), hashlib.sha256).hexdigest()[:40]


def feed_token_valid(secret: bytes, schedule_id: int, token: str) -> bool:
    return hmac.compare_digest(feed_token(secret, schedule_id), token)
