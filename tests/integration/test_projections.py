"""Projections: exactly-once across crashes and rivals, rebuild equals live."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson
import pytest

from eventstore import EventStore, NewEvent, RecordedEvent
from eventstore.repository import Repository
from ilertd.domain.user import User
from projections import ProjectionRunner, UsersProjection
from projections.base import Projection


class Boom(Exception):
    pass


class CountingProjection(Projection):
    """Adds each event's n to a per-stream total: any double application shows."""

    name = "counting"
    tables = ("counting_totals",)
    event_types = frozenset({"thing-counted"})

    def __init__(self, explode_at: int | None = None) -> None:
        self.explode_at = explode_at

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS counting_totals (stream_id uuid PRIMARY KEY, "
            "total bigint NOT NULL, applied bigint NOT NULL)"
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.position == self.explode_at:
            raise Boom(f"crash at {event.position}")
        await conn.execute(
            "INSERT INTO counting_totals VALUES ($1, $2, 1) ON CONFLICT (stream_id) DO UPDATE "
            "SET total = counting_totals.total + $2, applied = counting_totals.applied + 1",
            event.stream_id,
            event.data["n"],
        )


async def fill(store: EventStore, streams: int = 10, per_stream: int = 30) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(streams)]
    for version in range(per_stream):
        await asyncio.gather(
            *(
                store.append(
                    sid,
                    [NewEvent("thing-counted", orjson.dumps({"n": version}))],
                    version,
                    stream_type="thing",
                )
                for sid in ids
            )
        )
    return ids


async def totals(store: EventStore) -> dict[uuid.UUID, tuple[int, int]]:
    rows = await store.pool.fetch("SELECT * FROM counting_totals")
    return {r["stream_id"]: (r["total"], r["applied"]) for r in rows}


async def test_crash_between_batches_applies_each_event_once(store: EventStore) -> None:
    ids = await fill(store)
    crashing = ProjectionRunner(store, [CountingProjection(explode_at=137)], batch_size=50)
    await crashing.prepare()
    with pytest.raises(Boom):
        await crashing.catch_up()
    # batches 1-50 and 51-100 committed; 101-150 rolled back with the crash
    tracked = await store.pool.fetchval(
        "SELECT position FROM projection_tracking WHERE name = 'counting'"
    )
    assert tracked == 100
    restarted = ProjectionRunner(store, [CountingProjection()], batch_size=50)
    await restarted.prepare()
    await restarted.catch_up()
    expected = (sum(range(30)), 30)
    assert await totals(store) == dict.fromkeys(ids, expected)


async def test_two_runners_on_one_projection_never_double_apply(store: EventStore) -> None:
    ids = await fill(store, streams=8, per_stream=25)
    rivals = [ProjectionRunner(store, [CountingProjection()], batch_size=7) for _ in range(3)]
    for runner in rivals:
        await runner.prepare()
    await asyncio.gather(*(runner.catch_up() for runner in rivals))
    assert await totals(store) == {sid: (sum(range(25)), 25) for sid in ids}


async def test_live_follow_then_rebuild_equals_live(
    store: EventStore, repository: Repository
) -> None:
    runner = ProjectionRunner(store, [CountingProjection(), UsersProjection()], batch_size=16)
    await runner.prepare()
    await runner.catch_up()
    runner.start()
    try:
        await fill(store, streams=5, per_stream=12)
        for i in range(7):
            user = User(username=f"u{i}", email=f"u{i}@example.test", role="RESPONDER")
            user.issue_api_key(uuid.uuid4(), f"hash-{i}", "cli")
            await repository.save(user)
        await runner.wait_for(await store.head_position())
        live_totals = await totals(store)
        live_users = [tuple(r) for r in await store.pool.fetch("SELECT * FROM users ORDER BY id")]
        live_keys = [tuple(r) for r in await store.pool.fetch("SELECT * FROM api_keys ORDER BY 1")]
        assert len(live_users) == 7 and len(live_keys) == 7
    finally:
        await runner.stop()

    for name in ("counting", "users"):
        seen: list[tuple[int, int]] = []
        await runner.rebuild(name, lambda pos, head, seen=seen: seen.append((pos, head)))
        assert seen and seen[-1][0] == seen[-1][1]
    assert await totals(store) == live_totals
    assert [tuple(r) for r in await store.pool.fetch("SELECT * FROM users ORDER BY id")] == (
        live_users
    )
    assert [tuple(r) for r in await store.pool.fetch("SELECT * FROM api_keys ORDER BY 1")] == (
        live_keys
    )


async def test_version_bump_rebuilds_on_prepare(store: EventStore) -> None:
    await fill(store, streams=2, per_stream=3)
    first = ProjectionRunner(store, [CountingProjection()])
    await first.prepare()
    await first.catch_up()
    await store.pool.execute("UPDATE counting_totals SET total = -1")  # a stale read model

    class CountingV2(CountingProjection):
        version = 2

    second = ProjectionRunner(store, [CountingV2()])
    await second.prepare()
    assert second.positions["counting"] == 0
    await second.catch_up()
    assert set((await totals(store)).values()) == {(3, 3)}
