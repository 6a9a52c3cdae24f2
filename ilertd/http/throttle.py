"""Failed authentication throttled per client address and per user, in bounded memory.

After ``max_failures`` failures within ``window_s`` of the first, a key (an address, or a
user whose password was guessed wrong) is refused for ``window_s``: the answer is 429 with
Retry-After, before any credential is checked, so a guess made then is no guess at all.
Successes add nothing and are never delayed.

Memory: each table keeps at most ``max_entries`` keys, the least recently failed dropped
first. An attacker cycling addresses only pushes out addresses (users have their own
table, and only known users enter it); IPv6 addresses count per /64, the block one
subscriber usually gets, so cycling inside it gains nothing. Like the events rate limit,
each ilertd process keeps its own counts.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

#: An IPv6 client's addresses: its /64 (one subscriber's, or one host's, as a rule).
IPV6_PREFIX = 64


@dataclass(slots=True)
class _Failures:
    started: float
    count: int
    blocked_until: float = 0.0


class FailureTable:
    """Failures per key: ``wait(key)`` says how long the key is still refused."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Failures] = OrderedDict()

    def wait(self, key: Hashable) -> float:
        """Seconds ``key`` is still refused; 0 when it may try."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        left = entry.blocked_until - self._clock()
        return left if left > 0 else 0.0

    def failed(self, key: Hashable) -> bool:
        """Count one failure; True when it is the one that blocks ``key``."""
        now = self._clock()
        entry = self._entries.pop(key, None)
        if entry is None or now - entry.started >= self.window_s:
            entry = _Failures(started=now, count=0)
        entry.count += 1
        blocks = entry.count >= self.max_failures
        if blocks:  # refused for a whole window; counting starts afresh after it
            entry.blocked_until = now + self.window_s
            entry.started, entry.count = entry.blocked_until, 0
        self._entries[key] = entry  # now the most recently failed
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return blocks

    def __len__(self) -> int:
        return len(self._entries)


def address_key(remote: str | None) -> str:
    """What an address counts under: itself, an IPv6 address its /64."""
    if not remote:
        return "unknown"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_address(
    remote: str | None,
    forwarded_for: str | None,
    trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> str | None:
    """The client's address: the connection's, unless it is a trusted proxy; then the
    rightmost X-Forwarded-For entry that is no trusted proxy (entries left of it are the
    client's own claims and could be forged)."""
    if not trusted or not forwarded_for or not _within(remote, trusted):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else remote


def _within(
    address: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(parsed in network for network in networks)


class AuthThrottle:
    """The two tables: client addresses (every failure) and users (wrong passwords)."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = FailureTable(max_failures, window_s, max_entries, clock)
        self.users = FailureTable(max_failures, window_s, max_entries, clock)


def retry_after(wait_s: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
