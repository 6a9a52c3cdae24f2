"""API keys: 256 random bits shown once; only a SHA-256 hash is stored. Passwords: only
an argon2id hash is stored.

A fast hash is right for keys: they are random, not passwords, so there is nothing to
brute-force, and authentication runs on every request. Passwords are chosen by people, so
they get a slow, memory-hard hash, computed off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
    """Constant-time; compared as UTF-8 bytes, so a non-ASCII token is simply wrong (the
    str form of ``compare_digest`` raises on it)."""
    expected = feed_token(secret, schedule_id).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "replace"))


#: OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about 20 ms of one core per hash
#: here, so a guess costs an attacker that much and a Basic-auth request costs us that much.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
#: Hashes run on at most two threads: a burst of Basic-auth requests queues here instead
#: of taking every core and 19 MiB a thread.
HASH_THREADS = 2


@cache
def _hash_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="password-hash")


@cache
def _decoy_hash() -> str:
    """A hash of a random password: verifying against it makes an unknown user cost what
    a known one does, so the answer's timing does not tell whether a user exists."""
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash or _decoy_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2id hash (salt and parameters included) of ``password``, in a thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hash_pool(), PASSWORD_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a None hash (no such user, or no password set) is
    checked against a decoy and never matches. Nothing is cached: each call hashes."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hash_pool(), _verify, password_hash, password)
