"""What a projection is: its tables, its handler, and a version that forces a rebuild."""

from __future__ import annotations

from abc import ABC, abstractmethod

import asyncpg

from eventstore import RecordedEvent


class Projection(ABC):
    """A read model. ``handle`` runs inside the runner's transaction; never commit there."""

    name: str
    #: Bump when the tables or the handler change meaning: the runner then rebuilds from 0.
    version: int = 1
    #: Tables the projection owns, dropped on rebuild (children first).
    tables: tuple[str, ...] = ()
    #: Event types it reacts to; None means all. Others only advance its position.
    event_types: frozenset[str] | None = None
    #: Followed live only by the instance that leads the engine (it is the engine's own
    #: read model, and its change notifications must reach the leader).
    leader_only: bool = False

    @abstractmethod
    async def setup(self, conn: asyncpg.Connection) -> None:
        """Create the tables if missing (idempotent)."""

    @abstractmethod
    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """Apply one event to the tables."""

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """Apply a batch in order; override to turn runs of one kind into one statement."""
        for event in events:
            await self.handle(conn, event)

    async def drop(self, conn: asyncpg.Connection) -> None:
        for table in self.tables:
            await conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")

    def batch_started(self) -> None:  # noqa: B027 - an optional hook
        """Called before a batch is applied (a batch may still roll back)."""

    async def batch_committed(self) -> None:  # noqa: B027 - an optional hook
        """Called once a batch has committed: the place to tell others what changed."""

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types
