"""The event store: append with group commit, read a stream, read and follow everything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from .head import HeadReader
from .migrations import apply_migrations
from .notifier import Notifier
from .records import RECORDED_COLUMNS, AppendResult, NewEvent, RecordedEvent
from .tail import SharedTail
from .writer import BatchObserver, GroupCommitWriter

_COLUMNS = RECORDED_COLUMNS
POOL_CLOSE_TIMEOUT_S = 10.0
log = structlog.get_logger(__name__)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: pooled connections never keep session state (locks are
    transaction-scoped; LISTEN and the leader's lock use connections of their own)."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """jsonb travels as text (asyncpg's C codec); orjson decodes only what is read.

    ``reset`` replaces asyncpg's default release, which sends ``RESET ALL; UNLISTEN *;
    pg_advisory_unlock_all(); CLOSE ALL`` on every release: a round trip, and database CPU,
    for each of the thousands of short checkouts a second under load."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=60,
        reset=_keep_session,
    )


class EventStore:
    """Knows events, streams and positions; nothing about alerts."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        *,
        observer: BatchObserver | None = None,
        max_batch: int = 1000,
        listen_dsn: str | None = None,
    ) -> None:
        self.pool = pool
        self._listen_dsn = listen_dsn or dsn
        self._dsn = dsn
        self._writer = GroupCommitWriter(
            self._connect_writer, max_batch=max_batch, observer=observer
        )
        self.notifier = Notifier(self._connect_listener)
        self._tail = SharedTail(self._read_from)
        self._head = HeadReader(self._connect_head)

    @property
    def dsn(self) -> str:
        return self._dsn

    async def _connect_writer(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, timeout=10, command_timeout=60)

    async def _connect_head(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, timeout=10, command_timeout=60)

    async def _connect_listener(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._listen_dsn, timeout=5)

    @classmethod
    async def open(
        cls, dsn: str, *, pool_size: int = 10, migrate: bool = True, **kwargs: Any
    ) -> EventStore:
        pool = await create_pool(dsn, max_size=pool_size)
        if migrate:
            async with pool.acquire() as conn:
                await apply_migrations(conn)
        store = cls(pool, dsn, **kwargs)
        await store.start()
        return store

    async def start(self) -> None:
        self._writer.start()
        await self.notifier.start()

    async def close(self, *, close_pool: bool = True) -> None:
        """Finish in-flight appends, stop listening, close the pool."""
        await self._writer.close()
        await self.notifier.close()
        await self._head.close()
        if close_pool:
            try:
                # graceful: waits for connections still in use to come back
                await asyncio.wait_for(self.pool.close(), POOL_CLOSE_TIMEOUT_S)
            except TimeoutError:
                log.warning("pool did not close in time; terminating its connections")
                self.pool.terminate()

    async def append(
        self,
        stream_id: UUID,
        events: Sequence[NewEvent],
        expected_version: int | None,
        *,
        stream_type: str,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        """Append after checking the stream is at ``expected_version`` (None: any).

        Returns once committed. A used ``idempotency_key`` returns the first result and
        writes nothing.
        """
        result = await self._writer.append(
            stream_id, stream_type, events, expected_version, idempotency_key
        )
        self.notifier.poke(result.last_position)
        return result

    async def read_stream(
        self, stream_id: UUID, *, from_version: int = 1, to_version: int | None = None
    ) -> list[RecordedEvent]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 "
            "AND ($3::int IS NULL OR version <= $3) ORDER BY version",
            stream_id,
            from_version,
            to_version,
            record_class=RecordedEvent,
        )
        return list(rows)

    async def read_streams(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        """Several whole streams in one query, each in version order."""
        streams: dict[UUID, list[RecordedEvent]] = {}
        for row in await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = ANY($1::uuid[]) "
            "ORDER BY stream_id, version",
            list(stream_ids),
            record_class=RecordedEvent,
        ):
            streams.setdefault(row.stream_id, []).append(row)
        return streams

    async def stream_version(self, stream_id: UUID) -> int:
        return await self.pool.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
        )

    async def head_position(self) -> int:
        return await self.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")

    async def fresh_head(self) -> int:
        """The head read after this call began: every commit answered before it is at or
        below it, whichever instance made it. Cheap for many callers at once: they share
        one query on a connection of its own (``head.HeadReader``). Also wakes this
        process's subscribers if it shows a commit they were not told about."""
        head = await self._head.head()
        self.notifier.poke(head)  # nothing if announced already
        return head

    async def _read_from(self, position: int, limit: int) -> list[RecordedEvent]:
        return await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE position >= $1 ORDER BY position LIMIT $2",
            position,
            limit,
            record_class=RecordedEvent,
        )

    async def read_batches(
        self,
        from_position: int = 1,
        *,
        batch_size: int = 1000,
        to_position: int | None = None,
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Everything from ``from_position`` (inclusive) in batches; never the whole table."""
        position = from_position
        query = (
            f"SELECT {_COLUMNS} FROM events WHERE position >= $1 "
            "AND ($2::bigint IS NULL OR position <= $2) ORDER BY position LIMIT $3"
        )
        while True:
            # A connection per batch: a slow consumer never pins one between batches.
            batch = await self.pool.fetch(
                query, position, to_position, batch_size, record_class=RecordedEvent
            )
            if not batch:
                return
            yield batch
            position = batch[-1].position + 1
            if len(batch) < batch_size:
                return

    async def read_all(
        self, from_position: int = 1, *, batch_size: int = 1000, to_position: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        async for batch in self.read_batches(
            from_position, batch_size=batch_size, to_position=to_position
        ):
            for event in batch:
                yield event

    async def subscribe(
        self, from_position: int = 1, *, batch_size: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Catch up from ``from_position``, then follow live commits, batch by batch.

        Never ends on its own; a dropped notification connection only slows it to polling.
        """
        position = from_position
        seen = None
        while True:
            # Woken by an announced commit, a read started since serves as well as our own;
            # the first round and polling (commits of other instances may be unannounced)
            # read for themselves.
            announced = seen is not None and self.notifier.sequence != seen
            seen = self.notifier.sequence
            try:
                while batch := await self._tail.batch(
                    position, seen if announced else None, self.notifier.sequence, batch_size
                ):
                    yield batch
                    position = batch[-1].position + 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # the database blinked; try again after the next wake-up
            await self.notifier.wait(seen)
