"""Reading everything in batches, and following live commits even when LISTEN drops."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import orjson

from eventstore import EventStore, NewEvent, RecordedEvent


def ev(n: int) -> NewEvent:
    return NewEvent("thing-happened", orjson.dumps({"n": n}))


async def collect(store: EventStore, into: list[RecordedEvent], from_position: int = 1) -> None:
    async for batch in store.subscribe(from_position, batch_size=50):
        into.extend(batch)


async def wait_until(predicate, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_read_all_streams_in_batches(store: EventStore) -> None:
    for i in range(25):
        await store.append(uuid.uuid4(), [ev(i), ev(i)], 0, stream_type="thing")
    batches = [b async for b in store.read_batches(1, batch_size=7)]
    assert all(len(b) <= 7 for b in batches)
    assert [e.position for b in batches for e in b] == list(range(1, 51))
    assert [e.position async for e in store.read_all(45)] == list(range(45, 51))
    assert [e.position async for e in store.read_all(1, to_position=3)] == [1, 2, 3]


async def test_reader_sequence_equals_final_order_under_many_writers(dsn: str) -> None:
    """Two stores (two pools, as two daemons) and 64 writers; a live reader sees every
    position exactly once, in order, no gaps, equal to the table's final order."""
    writer_a = await EventStore.open(dsn)
    writer_b = await EventStore.open(dsn, migrate=False)
    reader = await EventStore.open(dsn, migrate=False)
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(collect(reader, seen))
    try:

        async def write(store: EventStore, worker: int) -> None:
            for i in range(30):
                await store.append(uuid.uuid4(), [ev(worker * 1000 + i)], 0, stream_type="t")

        await asyncio.gather(*(write(writer_a if w % 2 else writer_b, w) for w in range(64)))
        total = 64 * 30
        await wait_until(lambda: len(seen) >= total)
        rows = await reader.pool.fetch("SELECT position FROM events ORDER BY position")
        assert [e.position for e in seen] == [r["position"] for r in rows]
        assert [e.position for e in seen] == list(range(1, total + 1))
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        for s in (writer_a, writer_b, reader):
            await s.close()


async def test_subscription_survives_terminated_listen_connection(
    store: EventStore, dsn: str
) -> None:
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(collect(store, seen))
    try:
        await store.append(uuid.uuid4(), [ev(1)], 0, stream_type="t")
        await wait_until(lambda: len(seen) == 1)
        pid = store.notifier.connection_pid
        assert pid is not None
        admin = await asyncpg.connect(dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # appended by another process (no in-process poke)
        other = await EventStore.open(dsn, migrate=False)
        try:
            await other.append(uuid.uuid4(), [ev(2)], 0, stream_type="t")
            await wait_until(lambda: len(seen) == 2, timeout=5)
            await wait_until(lambda: store.notifier.listening, timeout=15)
            assert store.notifier.connection_pid not in (None, pid)
            await other.append(uuid.uuid4(), [ev(3)], 0, stream_type="t")
            await wait_until(lambda: len(seen) == 3, timeout=5)
        finally:
            await other.close()
        assert [e.data["n"] for e in seen] == [1, 2, 3]
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


async def test_live_notification_reaches_another_process_quickly(dsn: str) -> None:
    reader = await EventStore.open(dsn)
    writer = await EventStore.open(dsn, migrate=False)
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(collect(reader, seen))
    try:
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await writer.append(uuid.uuid4(), [ev(1)], 0, stream_type="t")
        await wait_until(lambda: len(seen) == 1, timeout=5)
        # NOTIFY, not the 2 s idle poll, woke the reader
        assert loop.time() - started < reader.notifier.idle_poll_s
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await reader.close()
        await writer.close()


async def test_polling_fallback_when_listening_is_impossible(dsn: str) -> None:
    """No LISTEN connection can be made at all: commits from elsewhere still arrive."""
    reader = await EventStore.open(dsn, listen_dsn="postgresql://nobody@127.0.0.1:1/none")
    writer = await EventStore.open(dsn, migrate=False)
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(collect(reader, seen))
    try:
        assert not reader.notifier.listening
        for n in range(3):
            await writer.append(uuid.uuid4(), [ev(n)], 0, stream_type="t")
        await wait_until(lambda: len(seen) == 3, timeout=5)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await reader.close()
        await writer.close()


async def test_another_instances_commit_wakes_a_subscriber_at_once(dsn: str) -> None:
    """Every commit is announced to every instance (NOTIFY with the new head), so a follower
    on another store does not wait for its idle poll; an announcement of a position this
    process already knows wakes nobody a second time."""
    writer = await EventStore.open(dsn)
    reader = await EventStore.open(dsn, migrate=False)
    reader.notifier.idle_poll_s = 30.0  # only a notification can wake it in time
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(collect(reader, seen))
    try:
        await wait_until(lambda: reader.notifier.listening)
        for n in range(1, 6):
            result = await writer.append(uuid.uuid4(), [ev(n)], 0, stream_type="t")
            await wait_until(lambda n=n: len(seen) == n, timeout=2.0)
            assert seen[-1].position == result.last_position
            assert reader.notifier.announced == result.last_position
        # the writer's own notification arrives after its append poked: no second wake-up
        await wait_until(lambda: writer.notifier.announced == 5)
        sequence = writer.notifier.sequence
        await asyncio.sleep(0.2)
        assert writer.notifier.sequence == sequence
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        for s in (writer, reader):
            await s.close()


async def test_fresh_head_covers_every_commit_before_the_call_sharing_queries(
    dsn: str,
) -> None:
    writer = await EventStore.open(dsn)
    reader = await EventStore.open(dsn, migrate=False)  # as another instance
    queries = 0
    gate: asyncio.Event | None = None
    fetched = asyncio.Event()
    query = reader._head._query

    async def counted() -> int:
        nonlocal queries
        queries += 1
        head = await query()
        if gate is not None:
            fetched.set()
            await gate.wait()  # read already; answers late
        return head

    reader._head._query = counted  # type: ignore[method-assign]
    try:
        assert await reader.fresh_head() == 0
        for n in range(1, 4):
            result = await writer.append(uuid.uuid4(), [ev(n)], 0, stream_type="t")
            assert await reader.fresh_head() == result.last_position
        queries = 0
        heads = await asyncio.gather(*(reader.fresh_head() for _ in range(50)))
        assert heads == [3] * 50
        assert queries <= 2  # the first caller's, then one for all who came meanwhile
        # a query that read the head before a commit was answered serves nobody after it
        gate = asyncio.Event()
        early = asyncio.create_task(reader.fresh_head())
        await asyncio.wait_for(fetched.wait(), 5)
        result = await writer.append(uuid.uuid4(), [ev(9)], 0, stream_type="t")
        late = asyncio.create_task(reader.fresh_head())
        await asyncio.sleep(0.05)
        gate.set()
        assert await early == 3
        assert await late == result.last_position == 4
    finally:
        for s in (writer, reader):
            await s.close()
