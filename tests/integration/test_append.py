"""Appends: optimistic concurrency, idempotency, group commit, durable ordering."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from eventstore import ConcurrencyError, EventStore, NewEvent, StreamAppend


def ev(kind: str = "thing-happened", **data: object) -> NewEvent:
    import orjson

    return NewEvent(kind, orjson.dumps(data), {"actor": "test"})


async def test_append_then_read_stream(store: EventStore) -> None:
    sid = uuid.uuid4()
    first = await store.append(sid, [ev("thing-created", n=1)], 0, stream_type="thing")
    second = await store.append(sid, [ev(n=2), ev(n=3)], 1, stream_type="thing")
    assert (first.version, second.version) == (1, 3)
    assert second.first_position == first.last_position + 1
    events = await store.read_stream(sid)
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.data["n"] for e in events] == [1, 2, 3]
    assert events[0].metadata == {"actor": "test"}
    assert events[0].stream_type == "thing"
    assert [e.version for e in await store.read_stream(sid, from_version=2)] == [2, 3]
    assert [e.version for e in await store.read_stream(sid, to_version=1)] == [1]


async def test_conflict_names_stream_expected_and_actual(store: EventStore) -> None:
    sid = uuid.uuid4()
    await store.append(sid, [ev()], 0, stream_type="thing")
    with pytest.raises(ConcurrencyError) as caught:
        await store.append(sid, [ev()], 0, stream_type="thing")
    assert caught.value.stream_id == sid
    assert (caught.value.expected_version, caught.value.actual_version) == (0, 1)
    assert str(sid) in str(caught.value)
    assert "expected version 0" in str(caught.value)
    assert await store.stream_version(sid) == 1


async def test_none_expected_version_appends_at_the_end(store: EventStore) -> None:
    sid = uuid.uuid4()
    await store.append(sid, [ev()], None, stream_type="thing")
    result = await store.append(sid, [ev()], None, stream_type="thing")
    assert result.version == 2


async def test_idempotency_key_returns_the_first_result_and_writes_nothing(
    store: EventStore,
) -> None:
    sid = uuid.uuid4()
    first = await store.append(sid, [ev()], 0, stream_type="thing", idempotency_key="req-1")
    again = await store.append(sid, [ev()], 0, stream_type="thing", idempotency_key="req-1")
    assert again.duplicate and not first.duplicate
    assert (again.first_position, again.version) == (first.first_position, first.version)
    assert await store.head_position() == first.last_position
    # the same key in one group-commit batch: still one write
    other = uuid.uuid4()
    results = await asyncio.gather(
        *(
            store.append(other, [ev()], 0, stream_type="thing", idempotency_key="req-2")
            for _ in range(10)
        )
    )
    assert len({r.first_position for r in results}) == 1
    assert await store.stream_version(other) == 1


async def test_group_commit_one_conflict_fails_only_its_append(dsn: str) -> None:
    batches: list[int] = []
    store = await EventStore.open(
        dsn, observer=lambda appends, events, lat: batches.append(appends)
    )
    try:
        contested = uuid.uuid4()
        await store.append(contested, [ev()], 0, stream_type="thing")
        streams = [uuid.uuid4() for _ in range(200)]
        calls = [store.append(s, [ev()], 0, stream_type="thing") for s in streams]
        calls.insert(100, store.append(contested, [ev()], 0, stream_type="thing"))
        results = await asyncio.gather(*calls, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1 and isinstance(failures[0], ConcurrencyError)
        for s in streams:
            assert await store.stream_version(s) == 1
        # group commit really grouped: far fewer transactions than appends
        assert max(batches) > 1
        assert len(batches) < 100
    finally:
        await store.close()


async def test_positions_are_gapless_after_conflicts(store: EventStore) -> None:
    sid = uuid.uuid4()
    await store.append(sid, [ev()], 0, stream_type="thing")
    for _ in range(5):
        with pytest.raises(ConcurrencyError):
            await store.append(sid, [ev()], 0, stream_type="thing")
    await store.append(uuid.uuid4(), [ev()], 0, stream_type="thing")
    positions = [e.position async for e in store.read_all()]
    assert positions == [1, 2]


async def test_close_finishes_queued_appends(dsn: str) -> None:
    store = await EventStore.open(dsn)
    calls = [
        asyncio.ensure_future(store.append(uuid.uuid4(), [ev()], 0, stream_type="thing"))
        for _ in range(300)
    ]
    await asyncio.sleep(0)
    await store.close()
    results = await asyncio.gather(*calls)
    positions = sorted(r.first_position for r in results)
    assert positions == list(range(1, 301))


async def test_an_unstorable_event_fails_alone(store: EventStore) -> None:
    """U+0000 or a lone surrogate fails its own append, not the batch it would share."""
    from eventstore import UnstorableEventError

    good = [store.append(uuid.uuid4(), [ev(n=i)], 0, stream_type="thing") for i in range(20)]
    bad = [
        store.append(uuid.uuid4(), [NewEvent("x", b'{"a": "\\u0000"}')], 0, stream_type="t"),
        store.append(
            uuid.uuid4(), [NewEvent("x", b"{}", {"request_id": "\udcff"})], 0, stream_type="t"
        ),
        store.append(uuid.uuid4(), [ev()], 0, stream_type="t", idempotency_key="\udcfe"),
    ]
    results = await asyncio.gather(*good, *bad, return_exceptions=True)
    assert all(not isinstance(r, BaseException) for r in results[:20])
    assert all(isinstance(r, UnstorableEventError) for r in results[20:])
    assert await store.head_position() == 20


async def test_append_together_is_all_or_nothing(store: EventStore) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.append(b, [ev()], 0, stream_type="thing")
    head = await store.head_position()
    with pytest.raises(ConcurrencyError) as error:
        await store.append_together(
            [StreamAppend(a, "thing", [ev()], 0), StreamAppend(b, "thing", [ev()], 0)]
        )
    assert error.value.stream_id == b and error.value.actual_version == 1
    assert await store.head_position() == head and await store.read_stream(a) == []
    first, second = await store.append_together(
        [StreamAppend(a, "thing", [ev(), ev()], 0), StreamAppend(b, "thing", [ev()], 1)]
    )
    assert (first.version, second.version) == (2, 2)
    assert second.first_position == first.last_position + 1
    with pytest.raises(ValueError):
        await store.append_together([StreamAppend(a, "thing", [ev()], 2)] * 2)
