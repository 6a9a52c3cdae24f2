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
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import orjson
import structlog

from .errors import ConcurrencyError, StoreClosedError, UnstorableEventError
from .records import AppendResult, NewEvent

log = structlog.get_logger(__name__)

#: Also spelled out in the eventstore_append_batch SQL function.
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
    #: (type, data, metadata) as JSON text, encoded by the caller's own append() so that
    #: an unencodable event fails that append alone, never the batch it would share.
    encoded: list[tuple[str, str, str]]


BatchObserver = Callable[[int, int, list[float]], None]
"""Called after each commit with (appends, events, per-append latency seconds)."""


#: JSON's \u0000 escape (not preceded by an escaping backslash): jsonb refuses it.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def encode_events(
    stream_type: str, events: Sequence[NewEvent], idempotency_key: str | None
) -> list[tuple[str, str, str]]:
    """Events as JSON text, checked for what PostgreSQL refuses (U+0000, lone surrogates)."""
    try:
        encoded = [(e.type, e.data.decode(), orjson.dumps(e.metadata).decode()) for e in events]
        for text in (stream_type, idempotency_key or "", *(t for row in encoded for t in row)):
            if not text.isascii():
                text.encode()  # lone surrogates raise here
            if "\x00" in text or ("\\u0000" in text and _NUL_ESCAPE.search(text)):
                raise UnstorableEventError("events cannot hold U+0000")
    except (UnicodeError, orjson.JSONEncodeError) as exc:
        raise UnstorableEventError(f"event text cannot be stored: {exc}") from None
    return encoded


class GroupCommitWriter:
    """One writer task per process; appends wait on a future resolved after COMMIT."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        max_batch: int = 1000,
        observer: BatchObserver | None = None,
    ) -> None:
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
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
        encoded = encode_events(stream_type, events, idempotency_key)
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
                encoded,
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
        if self._conn is not None:
            await self._conn.close(timeout=5)
            self._conn = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._commit_safely(self._take_batch())
            if self._closing:
                return

    def _take_batch(self) -> list[_PendingAppend]:
        """Up to max_batch appends, each stream and each key at most once (the SQL function
        decides them set-wise); a second append to a stream waits for the next batch, so
        per-stream order is kept."""
        batch: list[_PendingAppend] = []
        deferred: list[_PendingAppend] = []
        streams: set[UUID] = set()
        keys: set[str] = set()
        while self._queue and len(batch) < self._max_batch:
            pending = self._queue.popleft()
            key = pending.idempotency_key
            if pending.stream_id in streams or (key is not None and key in keys):
                deferred.append(pending)
                continue
            streams.add(pending.stream_id)
            if key is not None:
                keys.add(key)
            batch.append(pending)
        self._queue.extendleft(reversed(deferred))
        return batch

    async def _commit_safely(self, batch: list[_PendingAppend]) -> None:
        """A failed batch fails its callers: nothing of it was acknowledged."""
        try:
            await self._commit(batch)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
            log.warning("append batch failed", error=str(exc), appends=len(batch))
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None
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
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        types: list[str] = []
        data: list[str] = []
        metadata: list[str] = []
        for pending in batch:
            for event_type, event_data, event_metadata in pending.encoded:
                types.append(event_type)
                data.append(event_data)
                metadata.append(event_metadata)
        rows = await self._conn.fetch(
            "SELECT * FROM eventstore_append_batch($1, $2, $3, $4, $5, $6, $7, $8)",
            [p.stream_id for p in batch],
            [p.stream_type for p in batch],
            [p.expected_version for p in batch],
            [p.idempotency_key for p in batch],
            [len(p.events) for p in batch],
            types,
            data,
            metadata,
        )
        now = time.perf_counter()
        committed: list[float] = []
        events = 0
        for pending, row in zip(batch, rows, strict=True):
            outcome = row["outcome"]
            if outcome == "conflict":
                error = ConcurrencyError(
                    pending.stream_id, pending.expected_version or 0, row["version"]
                )
                pending.future.set_exception(error)
                continue
            result = AppendResult(
                row["stream_id"],
                row["first_position"],
                row["last_position"],
                row["version"],
                duplicate=outcome == "duplicate",
            )
            if not pending.future.done():
                pending.future.set_result(result)
            if outcome == "ok":
                committed.append(now - pending.enqueued_at)
                events += len(pending.events)
        if self._observer is not None and committed:
            self._observer(len(committed), events, committed)
