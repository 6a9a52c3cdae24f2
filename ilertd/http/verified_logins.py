"""Basic logins verified a moment ago, so ilert's clients (which send Basic on every
request) pay argon2 once every few minutes, not about 20 ms of hashing per request.

What is kept is an HMAC of the sent name and password under a key made for this process
(never the password, and not reusable by another process), with the password hash it was
verified against: a changed password (another hash) is a miss, and entries expire after
``TTL_S``. The table is bounded; the oldest entry goes first.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict

TTL_S = 120.0
MAX_ENTRIES = 1024


class VerifiedLogins:
    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self._key = os.urandom(32)
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    def _digest(self, name: str, password: str) -> bytes:
        message = name.encode() + b"\0" + password.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verified(self, name: str, password: str, password_hash: str) -> bool:
        """Whether this name and password were verified against ``password_hash`` within
        the last ``ttl_s``."""
        entry = self._entries.get(self._digest(name, password))
        if entry is None:
            return False
        stored_hash, expires = entry
        return expires > time.monotonic() and hmac.compare_digest(stored_hash, password_hash)

    def remember(self, name: str, password: str, password_hash: str) -> None:
        digest = self._digest(name, password)
        self._entries.pop(digest, None)
        self._entries[digest] = (password_hash, time.monotonic() + self._ttl_s)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
