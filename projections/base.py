"""What a projection is: its tables, its handler, and a version that forces a rebuild."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import asyncpg

from eventstore import RecordedEvent

RunHandler = Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]]


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

    async def apply_runs(
        self,
        conn: asyncpg.Connection,
        events: list[RecordedEvent],
        run_of: Callable[[RecordedEvent], RunHandler | None],
    ) -> None:
        """Apply ``events`` in order: consecutive ones ``run_of`` gives the same handler go
        to it together (a run is one pipelined statement, not one round trip per event);
        the others go to ``handle`` one by one."""
        run: list[RecordedEvent] = []
        current: RunHandler | None = None
        for event in events:
            handler = run_of(event)
            if run and handler != current:
                assert current is not None
                await current(conn, run)
                run = []
            current = handler
            if handler is None:
                await self.handle(conn, event)
            else:
                run.append(event)
        if run:
            assert current is not None
            await current(conn, run)

    async def drop(self, conn: asyncpg.Connection) -> None:
        for table in self.tables:
            await conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")

    def batch_started(self) -> None:  # noqa: B027 - an optional hook
        """Called before a batch is applied (a batch may still roll back)."""

    async def batch_committed(self) -> None:  # noqa: B027 - an optional hook
        """Called once a batch has committed: the place to tell others what changed."""

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types
