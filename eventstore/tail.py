"""One read of the newest events for every subscriber that wakes for the same commit.

Each followed projection subscribes on its own, so every commit used to wake them all into
the same ``SELECT ... WHERE position >= p``: under load, nine identical reads per commit.
Here the first subscriber to ask starts the read and the others, asking from a position
the read covers, share its result.

A shared read may serve a subscriber only if it *started* after the commit that woke the
subscriber was announced (its notifier ``sequence`` is at least the subscriber's ``seen``):
then it sees that commit and everything before it, as a read of the subscriber's own would.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .records import RecordedEvent

Fetch = Callable[[int, int], Awaitable[list[RecordedEvent]]]


@dataclass(frozen=True)
class _Read:
    sequence: int
    start: int
    limit: int
    result: asyncio.Future[list[RecordedEvent]]


class SharedTail:
    def __init__(self, fetch: Fetch) -> None:
        """``fetch(position, limit)``: up to ``limit`` events from ``position`` on, in order."""
        self._fetch = fetch
        self._latest: _Read | None = None

    async def batch(
        self, position: int, seen: int | None, sequence: int, limit: int
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events from ``position`` on, as a read started now would give
        them to a subscriber woken by the commit announced as ``seen`` (None: read afresh);
        ``sequence`` is the notifier's count now."""
        shared = self._latest
        if (
            seen is not None
            and shared is not None
            and shared.sequence >= seen
            and shared.start <= position
        ):
            events = await self._shared(shared)
            if events is not None:
                at = bisect_left(events, position, key=lambda e: e.position)
                if at < len(events):
                    return events[at : at + limit]
                if len(events) < shared.limit:
                    return []  # that read reached the end of the log as of its start
        read = _Read(sequence, position, limit, asyncio.get_running_loop().create_future())
        self._latest = read
        try:
            events = await self._fetch(position, limit)
        except BaseException as exc:
            if self._latest is read:
                self._latest = None
            if isinstance(exc, asyncio.CancelledError):
                read.result.cancel()  # sharers read for themselves
            else:
                read.result.set_exception(exc)
                read.result.exception()  # retrieved: sharers get it from their await
            raise
        read.result.set_result(events)
        return events

    @staticmethod
    async def _shared(read: _Read) -> list[RecordedEvent] | None:
        """The shared read's events; None if its reader was cancelled before it finished."""
        try:
            return await asyncio.shield(read.result)
        except asyncio.CancelledError:
            if read.result.cancelled():
                return None
            raise  # this subscriber itself is being cancelled
