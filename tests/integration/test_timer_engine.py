"""The timer engine against real time: one APScheduler job for the earliest of many timers,
timers moved, removed and overdue, each fired once, in due order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventstore import EventStore
from ilertd.clock import SystemClock
from ilertd.domain.timers import TimerKind
from ilertd.engine.timers import TimerEngine
from projections.timers import TimerChange, TimersProjection


def timer(name: str, stream: UUID, in_s: float | None) -> TimerChange:
    due = None if in_s is None else datetime.now(UTC) + timedelta(seconds=in_s)
    return TimerChange(name, TimerKind.ESCALATE, stream, due)


async def test_timers_fire_once_in_due_order_as_moved_and_removed(store: EventStore) -> None:
    async with store.pool.acquire() as conn:
        await TimersProjection().setup(conn)
    fired: list[tuple[str, datetime]] = []
    names: dict[UUID, str] = {}

    async def record(stream: UUID) -> bool:
        fired.append((names[stream], datetime.now(UTC)))
        return True

    engine = TimerEngine(store.pool, {TimerKind.ESCALATE: record}, SystemClock())
    await engine.start()
    try:
        streams = {name: uuid4() for name in ("early", "late", "gone", "moved", "overdue")}
        names.update({s: n for n, s in streams.items()})
        due = {"early": 0.3, "late": 0.6, "gone": 0.3, "moved": 1.0}
        started = datetime.now(UTC)
        await engine.apply([timer(n, streams[n], s) for n, s in due.items()])
        await engine.apply(
            [
                timer("gone", streams["gone"], None),
                timer("moved", streams["moved"], 0.1),  # now the earliest
                timer("overdue", streams["overdue"], -5),  # fires at once
            ]
        )
        for _ in range(100):
            if len(fired) >= 4:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # nothing else fires: not "gone", nothing twice
    finally:
        await engine.stop()
    assert [name for name, _ in fired] == ["overdue", "moved", "early", "late"]
    at = {name: (when - started).total_seconds() for name, when in fired}
    # never early (how late is the benchmarks' business)
    assert at["moved"] >= 0.1 and at["early"] >= 0.3 and at["late"] >= 0.6
    assert engine.fired == 4


async def test_a_storm_of_timers_a_millisecond_apart_all_fire(store: EventStore) -> None:
    """The job is set again from inside its own run for a time already due: that run must
    not be skipped as a second instance (every timer after it would wait forever)."""
    async with store.pool.acquire() as conn:
        await TimersProjection().setup(conn)
    fired: list[UUID] = []

    async def record(stream: UUID) -> bool:
        fired.append(stream)
        await asyncio.sleep(0.01)  # a handler that takes a while
        return True

    engine = TimerEngine(store.pool, {TimerKind.ESCALATE: record}, SystemClock())
    await engine.start()
    streams = [uuid4() for _ in range(2000)]
    try:
        for start in range(0, len(streams), 100):  # as the projection reports them
            await engine.apply(
                [timer(f"t{n}", streams[n], 0.2 + n / 2000) for n in range(start, start + 100)]
            )
        for _ in range(200):
            if len(fired) >= len(streams):
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.stop()
    assert sorted(fired) == sorted(streams)
