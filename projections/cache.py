"""Rows read from a read model, kept until that read model next changes.

Every API request looks up its API key's user, and every event its alert source: rows
that change a few times a day, read hundreds of times a second in a storm. A time-based
cache would let a revoked key or a deactivated source work on for its lifetime, which
breaks read-your-writes; here an entry is dropped as soon as the projection applies any
batch with events it wants (``ProjectionRunner.generations``), so a read that waited for
the read models (the read barrier) sees exactly what a query would have returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from .runner import ProjectionRunner

V = TypeVar("V")

MAX_ENTRIES = 4096


class ReadModelCache(Generic[V]):
    def __init__(
        self, runner: ProjectionRunner, projection: str, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.runner = runner
        self.projection = projection
        self.max_entries = max_entries
        self._generation = -1
        self._entries: dict[Hashable, V] = {}
        self._invalidations = 0

    def invalidate(self) -> None:
        """Drop every row now: the read model changed (maybe through another instance,
        whose change this runner has not applied yet; the shared table already has it)."""
        self._entries.clear()
        self._generation = -1
        self._invalidations += 1

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value for ``key``, else ``load()``'s (None, a miss, is not kept).
        Where this runner does not keep the projection, every get loads."""
        generation = self.runner.generations.get(self.projection)
        if generation is None:
            return await load()
        if generation != self._generation:
            self._entries.clear()
            self._generation = generation
        if key in self._entries:
            return self._entries[key]
        invalidations = self._invalidations
        value = await load()
        # kept only if the read model did not change while it was read
        if (
            value is not None
            and self.runner.generations.get(self.projection) == generation
            and self._invalidations == invalidations
        ):
            if len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value
