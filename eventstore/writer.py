"""Group commit: concurrent appends in one process share one transaction.

Readers follow the global position, and PostgreSQL sequences commit out of order, so every
append takes ``LOCK TABLE events IN EXCLUSIVE MODE`` (as eventsourcing's own PostgreSQL
recorder does) and assigns positions under it: nothing commits behind a reader's back. One
lock and one fsync per *batch* wins the throughput back: while a transaction is in flight the
next appends queue up and go together. Each append keeps its own version check and its own
idempotency key, so a conflict fails only the append that caused it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import orjson
import structlog

from .errors import ConcurrencyError, StoreClosedError
from .records import AppendResult, NewEvent

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "ilertd_events"


@dataclass(slots=True)
class _PendingAppend:
    stream_id: UUID
    stream_type: str
    events: Sequence[NewEvent]
    expected_version: int | None
    idempotency_key: str | None
    future: asyncio.Future[AppendResult]
    enqueued_at: float


BatchObserver = Callable[[int, int, list[float]], None]
"""Called after each commit with (appends, events, per-append latency seconds)."""


class GroupCommitWriter:
    """One writer task per process; appends wait on a future resolved after COMMIT."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_batch: int = 1000,
        observer: BatchObserver | None = None,
    ) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._observer = observer
        self._queue: deque[_PendingAppend] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="eventstore-writer")

    async def append(
        self,
        stream_id: UUID,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        idempotency_key: str | None,
    ) -> AppendResult:
        if self._closing or self._task is None:
            raise StoreClosedError("the event store is closed")
        if not events:
            raise ValueError("append needs at least one event")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append(
            _PendingAppend(
                stream_id,
                stream_type,
                events,
                expected_version,
                idempotency_key,
                future,
                time.perf_counter(),
            )
        )
        self._wakeup.set()
        # shield: a cancelled caller must not cancel the commit other appends share.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish every append already queued, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))
                ]
                await self._commit_with_retry(batch)
            if self._closing:
                return

    async def _commit_with_retry(self, batch: list[_PendingAppend]) -> None:
        """A lost connection fails the batch; nothing was acknowledged, callers see the error."""
        try:
            await self._commit(batch)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
            log.warning("append batch failed", error=str(exc), appends=len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
        except BaseException as exc:  # never leave a caller waiting forever
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _commit(self, batch: list[_PendingAppend]) -> None:
        stream_ids = list({p.stream_id for p in batch})
        keys = list({p.idempotency_key for p in batch if p.idempotency_key})
        accepted: list[tuple[_PendingAppend, AppendResult]] = []
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            head, versions, used_keys = await self._read_state(conn, stream_ids, keys)
            rows: list[tuple] = []
            new_keys: list[tuple] = []
            batch_keys: dict[str, AppendResult] = {}
            for pending in batch:
                key = pending.idempotency_key
                if key and key in used_keys:
                    pending.future.set_result(used_keys[key])
                    continue
                if key and key in batch_keys:
                    accepted.append((pending, batch_keys[key]))
                    continue
                current = versions.get(pending.stream_id, 0)
                if pending.expected_version is not None and pending.expected_version != current:
                    pending.future.set_exception(
                        ConcurrencyError(pending.stream_id, pending.expected_version, current)
                    )
                    continue
                first = head + 1
                for offset, event in enumerate(pending.events, start=1):
                    head += 1
                    rows.append(
                        (
                            head,
                            pending.stream_id,
                            pending.stream_type,
                            current + offset,
                            event.type,
                            event.data.decode(),
                            orjson.dumps(event.metadata).decode(),
                        )
                    )
                version = current + len(pending.events)
                versions[pending.stream_id] = version
                result = AppendResult(pending.stream_id, first, head, version)
                accepted.append((pending, result))
                if key:
                    batch_keys[key] = AppendResult(
                        pending.stream_id, first, head, version, duplicate=True
                    )
                    new_keys.append((key, pending.stream_id, first, head, version))
            if rows:
                await conn.copy_records_to_table(
                    "events",
                    records=rows,
                    columns=(
                        "position",
                        "stream_id",
                        "stream_type",
                        "version",
                        "type",
                        "data",
                        "metadata",
                    ),
                )
                if new_keys:
                    await conn.executemany(
                        "INSERT INTO idempotency_keys "
                        "(key, stream_id, first_position, last_position, version) "
                        "VALUES ($1, $2, $3, $4, $5)",
                        new_keys,
                    )
                await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}, '{head}'")
        now = time.perf_counter()
        for pending, result in accepted:
            if not pending.future.done():
                pending.future.set_result(result)
        if self._observer is not None and rows:
            self._observer(len(accepted), len(rows), [now - p.enqueued_at for p, _ in accepted])

    @staticmethod
    async def _read_state(
        conn: asyncpg.Connection, stream_ids: list[UUID], keys: list[str]
    ) -> tuple[int, dict[UUID, int], dict[str, AppendResult]]:
        """One round trip: head position, each stream's version, keys already used."""
        row = await conn.fetchrow(
            """
            SELECT
              (SELECT coalesce(max(position), 0) FROM events) AS head,
              (SELECT coalesce(array_agg(
                   (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.stream_id = s.id)
                   ORDER BY s.ord), '{}')
                 FROM unnest($1::uuid[]) WITH ORDINALITY s(id, ord)) AS versions,
              (SELECT coalesce(jsonb_agg(jsonb_build_array(
                   k.key, k.stream_id, k.first_position, k.last_position, k.version)), '[]')
                 FROM idempotency_keys k WHERE k.key = ANY($2::text[])) AS keys
            """,
            stream_ids,
            keys,
        )
        versions = dict(zip(stream_ids, row["versions"], strict=True))
        used: dict[str, AppendResult] = {}
        if keys:
            for key, sid, first, last, version in orjson.loads(row["keys"]):
                used[key] = AppendResult(UUID(sid), first, last, version, duplicate=True)
        return row["head"], versions, used
