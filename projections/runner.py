"""Runs projections: each batch's table writes and its new position commit together.

Exactly-once without a coordinator: a batch applies only if the tracking row still holds the
position this runner last saw (row locked FOR UPDATE). Another instance, or an ``ilertd
rebuild`` running beside a live daemon, moves that row; the runner then notices, drops its
batch and re-reads from the row's position. A crash between batches loses nothing and
applies nothing twice, because position and tables commit in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence

import asyncpg
import structlog

from eventstore import EventStore, RecordedEvent
from eventstore.migrations import MIGRATION_LOCK_KEY

from . import tracking
from .base import Projection

log = structlog.get_logger(__name__)

#: After a live batch that wrote, a projection reads its next one this much later: a
#: batch costs a transaction however few events it holds, and under a steady stream of
#: commits gathering a few per batch frees more time than the wait costs. Batches without
#: events the projection wants cost nothing and are not paced; after a quiet spell the
#: first commit is read at once.
PACE_S = 0.004

Progress = Callable[[int, int], None]
"""Called with (position reached, head position) while catching up."""


class ProjectionRunner:
    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 2000,
        pace_s: float = PACE_S,
    ) -> None:
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.pace_s = pace_s
        #: Applied (or skipped) up to here; what readiness and wait_for look at.
        self.positions: dict[str, int] = {}
        #: What the tracking rows hold, as far as this runner knows.
        self._persisted: dict[str, int] = {}
        self.caught_up = False
        self._following: dict[str, asyncio.Task[None]] = {}
        #: Per projection, a heap of (position, n, future) woken once it reaches position:
        #: an advance wakes only the waiters it satisfies, however many reads are waiting.
        self._waiters: dict[str, list[tuple[int, int, asyncio.Future[None]]]] = {}
        #: Per projection, how many batches of events it wants were applied (by this
        #: runner or another): a row read from its tables stays valid while this holds.
        self.generations: dict[str, int] = dict.fromkeys(self.projections, 0)
        self._waiter_ids = itertools.count()

    async def prepare(self) -> None:
        """Create tables and tracking rows; rebuild any projection whose version changed."""
        async with self.store.pool.acquire() as conn:
            async with conn.transaction():
                # instances starting together would race on CREATE TABLE IF NOT EXISTS
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
                await tracking.ensure_tracking_table(conn)
            for projection in self.projections.values():
                async with conn.transaction():
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext($1))", projection.name
                    )
                    row = await tracking.tracked(conn, projection.name)
                    if row is None or row["version"] != projection.version:
                        if row is not None:
                            log.info(
                                "projection version changed; rebuilding",
                                projection=projection.name,
                                old=row["version"],
                                new=projection.version,
                            )
                        await projection.drop(conn)
                        await tracking.reset(conn, projection.name, projection.version)
                    await projection.setup(conn)
                    row = await tracking.tracked(conn, projection.name)
                    self.positions[projection.name] = row["position"]
                    self._persisted[projection.name] = row["position"]

    async def catch_up(self, progress: Progress | None = None) -> None:
        """Apply everything committed up to now to every projection."""
        head = await self.store.head_position()
        for projection in self.projections.values():
            await self._catch_up_one(projection, head, progress)
        self.caught_up = True

    async def _catch_up_one(
        self, projection: Projection, head: int, progress: Progress | None
    ) -> None:
        while self.positions[projection.name] < head:
            start = self.positions[projection.name] + 1
            async for batch in self.store.read_batches(
                start, batch_size=self.batch_size, to_position=head
            ):
                if not await self.apply(projection, batch):
                    break  # someone else moved the position; re-read from there
                if progress:
                    progress(self.positions[projection.name], head)

    async def apply(self, projection: Projection, batch: list[RecordedEvent]) -> bool:
        """Apply one batch in one transaction; False if the position moved under us.

        A batch with nothing the projection wants only moves the in-memory position: no
        transaction at all. The tracking row catches up with the next batch that writes
        (re-reading skipped events after a restart costs nothing but a read).
        """
        name = projection.name
        fresh = [e for e in batch if e.position > self.positions[name]]
        if not fresh:
            return True
        wanted = [e for e in fresh if projection.wants(e.type)]
        if not wanted:
            self.positions[name] = fresh[-1].position
            self._advanced(name)
            return True
        async with self.store.pool.acquire() as conn:
            # two round trips around the handler's statements, not four (BEGIN, lock,
            # advance, COMMIT): on a slow machine a round trip costs as much as a statement
            locked = await conn.execute(tracking.begin_batch_sql(name, self._persisted[name]))
            try:
                if locked != "UPDATE 1":
                    # another runner (instance, or a rebuild) moved it: re-read from there
                    await conn.execute("ROLLBACK")
                    current = await tracking.position_of(conn, name)
                    self.generations[name] += 1  # and its tables may have changed
                    self.positions[name] = self._persisted[name] = current
                    self._advanced(name)  # its tables hold what the other runner applied
                    return False
                projection.batch_started()
                await projection.handle_batch(conn, wanted)
                await conn.execute(tracking.commit_batch_sql(name, fresh[-1].position))
            except Exception:
                if not conn.is_closed() and conn.is_in_transaction():
                    with contextlib.suppress(
                        OSError, asyncpg.PostgresError, asyncpg.InterfaceError
                    ):
                        await conn.execute("ROLLBACK")
                raise
        self.generations[name] += 1
        self.positions[name] = self._persisted[name] = fresh[-1].position
        await projection.batch_committed()
        self._advanced(name)
        return True

    def _advanced(self, name: str) -> None:
        """Wake the waiters the projection's new position satisfies."""
        heap = self._waiters.get(name)
        position = self.positions[name]
        while heap and heap[0][0] <= position:
            waiter = heapq.heappop(heap)[2]
            if not waiter.done():
                waiter.set_result(None)

    def runs(self, name: str) -> bool:
        """Whether this runner keeps ``name`` up to date here, so ``positions[name]`` is
        live: every projection but a leader-only one, which only while leading."""
        return not self.projections[name].leader_only or name in self._following

    async def wait_until(self, position: int, names: Iterable[str]) -> None:
        """Wait, unbounded (the caller bounds it), until each of ``names`` has applied
        ``position``; woken by the advance that gets it there, not by every advance."""
        for name in names:
            if self.positions[name] >= position:
                continue
            waiter = asyncio.get_running_loop().create_future()
            heap = self._waiters.setdefault(name, [])
            heapq.heappush(heap, (position, next(self._waiter_ids), waiter))
            try:
                await waiter
            finally:
                if waiter.cancelled() and len(heap) > 64:
                    # timed-out waits of a stuck projection must not pile up
                    heap[:] = [entry for entry in heap if not entry[2].done()]
                    heapq.heapify(heap)

    def start(self) -> None:
        """Follow live commits; call after catch_up. Leader-only projections wait for
        ``follow_one`` (the engine's leader starts them)."""
        for projection in self.projections.values():
            if not projection.leader_only:
                self.follow_one(projection.name)

    def follow_one(self, name: str) -> None:
        """Follow one projection live (idempotent)."""
        if name in self._following:
            return
        task = asyncio.get_running_loop().create_task(
            self._follow(self.projections[name]), name=f"projection-{name}"
        )
        self._following[name] = task

    async def stop_one(self, name: str) -> None:
        task = self._following.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def catch_up_one(self, name: str) -> None:
        await self._catch_up_one(self.projections[name], await self.store.head_position(), None)

    async def _follow(self, projection: Projection) -> None:
        name = projection.name
        while True:
            try:
                async for batch in self.store.subscribe(
                    self.positions[name] + 1, batch_size=self.batch_size
                ):
                    generation = self.generations[name]
                    if not await self.apply(projection, batch):
                        break  # resubscribe from the position the tracking row holds
                    if self.pace_s > 0 and self.generations[name] != generation:
                        # it took a transaction: let the next commits gather meanwhile
                        # (the next batch is read when this loop asks for it)
                        await asyncio.sleep(self.pace_s)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("projection failed; retrying", projection=name, error=str(exc))
                await asyncio.sleep(1)
            except Exception:
                # A handler bug: keep the daemon up, say so loudly, retry the same batch.
                log.exception("projection handler raised; retrying", projection=name)
                await asyncio.sleep(5)

    async def stop(self) -> None:
        for name in list(self._following):
            await self.stop_one(name)

    async def wait_for(
        self, position: int, timeout: float = 10.0, *, only: str | None = None
    ) -> None:
        """Wait until every projection (or ``only`` that one) has applied ``position``
        (read-your-writes)."""
        names = [
            name for name in self.projections if (only is None or name == only) and self.runs(name)
        ]
        await asyncio.wait_for(self.wait_until(position, names), timeout)

    async def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Drop one projection's tables and replay it from position 0."""
        projection = self.projections[name]
        async with self.store.pool.acquire() as conn, conn.transaction():
            await tracking.ensure_tracking_table(conn)
            await tracking.lock_position(conn, name)
            await projection.drop(conn)
            await tracking.reset(conn, name, projection.version)
            await projection.setup(conn)
        self.positions[name] = self._persisted[name] = 0
        await self._catch_up_one(projection, await self.store.head_position(), progress)
        return self.positions[name]
