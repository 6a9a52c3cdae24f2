"""API keys: 256 random bits shown once; only a SHA-256 hash is stored.

A fast hash is right here: the keys are random, not passwords, so there is nothing to
brute-force, and authentication runs on every request.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ilk_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
