"""The event store: append with group commit, read a stream, read and follow everything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from .errors import ConcurrencyError
from .head import HeadReader
from .migrations import apply_migrations
from .notifier import Notifier
from .records import RECORDED_COLUMNS, AppendResult, NewEvent, RecordedEvent
from .tail import SharedTail
from .writer import BatchObserver, GroupCommitWriter, encode_events

_COLUMNS = RECORDED_COLUMNS
POOL_CLOSE_TIMEOUT_S = 10.0
log = structlog.get_logger(__name__)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: pooled connections never keep session state (locks are
    transaction-scoped; LISTEN and the leader's lock use connections of their own)."""


#: Without a configured bound, statements may run this long (client-side), as before.
DEFAULT_COMMAND_TIMEOUT_S = 60.0
#: The client-side bound runs this much past the server's statement_timeout, so the server
#: cancels first (a clean QueryCanceledError) and the client only gives up on a server that
#: does not answer at all.
CLIENT_MARGIN_S = 2.0
CONNECT_TIMEOUT_S = 10.0


class BoundedPool(asyncpg.Pool):
    """A pool whose ``acquire()`` gives up after ``acquire_timeout_s`` (TimeoutError).

    Every checkout goes through ``acquire`` (``pool.fetch`` and friends too), so one bound
    holds for all callers: a request never waits without end for a pool that is exhausted
    or a database that hangs. None waits as long as it takes (the engine's workers)."""

    acquire_timeout_s: float | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout_s if timeout is None else timeout)


def connect_settings(statement_timeout_s: float | None) -> dict[str, Any]:
    """asyncpg connect arguments that bound each statement (server first, then client)."""
    if statement_timeout_s is None:
        return {"command_timeout": DEFAULT_COMMAND_TIMEOUT_S}
    return {
        "command_timeout": statement_timeout_s + CLIENT_MARGIN_S,
        "server_settings": {"statement_timeout": str(max(1, round(statement_timeout_s * 1000)))},
    }


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    acquire_timeout_s: float | None = None,
    statement_timeout_s: float | None = None,
) -> BoundedPool:
    """jsonb travels as text (asyncpg's C codec); orjson decodes only what is read.

    ``reset`` replaces asyncpg's default release, which sends ``RESET ALL; UNLISTEN *;
    pg_advisory_unlock_all(); CLOSE ALL`` on every release: a round trip, and database CPU,
    for each of the thousands of short checkouts a second under load.

    ``acquire_timeout_s`` bounds waiting for a connection, ``statement_timeout_s`` each
    statement (PostgreSQL's ``statement_timeout``, so lock waits count too)."""
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        reset=_keep_session,
        timeout=CONNECT_TIMEOUT_S,
        **connect_settings(statement_timeout_s),
    )
    pool.acquire_timeout_s = acquire_timeout_s
    await pool
    return pool


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """One stream's part of ``EventStore.append_together``."""

    stream_id: UUID
    stream_type: str
    events: Sequence[NewEvent]
    expected_version: int | None


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
        statement_timeout_s: float | None = None,
    ) -> None:
        self.pool = pool
        self._statements = connect_settings(statement_timeout_s)
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
        return await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S, **self._statements)

    async def _connect_head(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S, **self._statements)

    async def _connect_listener(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._listen_dsn, timeout=5)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        pool_size: int = 10,
        migrate: bool = True,
        acquire_timeout_s: float | None = None,
        statement_timeout_s: float | None = None,
        **kwargs: Any,
    ) -> EventStore:
        """Migrate (on a connection of its own: a migration may take longer than any
        statement bound allows), then open the pool and start the writer."""
        if migrate:
            conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
            try:
                await apply_migrations(conn)
            finally:
                await conn.close()
        pool = await create_pool(
            dsn,
            max_size=pool_size,
            acquire_timeout_s=acquire_timeout_s,
            statement_timeout_s=statement_timeout_s,
        )
        store = cls(pool, dsn, statement_timeout_s=statement_timeout_s, **kwargs)
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

    async def append_together(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Several streams in one transaction, all or none: a stream not at its expected
        version fails the whole append with ConcurrencyError and nothing is written.

        For a fact that spans aggregates (an incident and the counter that numbered it):
        the group-commit writer decides each append on its own, this takes the same table
        lock and positions in a transaction of its own. Rare writes only: it costs one
        transaction and one fsync per call."""
        if not appends or len({a.stream_id for a in appends}) != len(appends):
            raise ValueError("append_together needs distinct streams")
        encoded = [encode_events(a.stream_type, a.events, None) for a in appends]
        if not all(encoded):
            raise ValueError("append needs at least one event")
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT * FROM eventstore_append_batch($1, $2, $3, $4, $5, $6, $7, $8)",
                [a.stream_id for a in appends],
                [a.stream_type for a in appends],
                [a.expected_version for a in appends],
                [None] * len(appends),
                [len(a.events) for a in appends],
                [t for rows in encoded for t, _, _ in rows],
                [d for rows in encoded for _, d, _ in rows],
                [m for rows in encoded for _, _, m in rows],
            )
            for pending, row in zip(appends, rows, strict=True):
                if row["outcome"] == "conflict":  # raising rolls the others back too
                    raise ConcurrencyError(
                        pending.stream_id, pending.expected_version or 0, row["version"]
                    )
        results = [
            AppendResult(r["stream_id"], r["first_position"], r["last_position"], r["version"])
            for r in rows
        ]
        self.notifier.poke(max(r.last_position for r in results))
        return results

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
