"""The read-model cache drops its rows when its projection applies a batch, and when any
instance announces a change of that read model."""

from __future__ import annotations

import asyncio

from eventstore.notifier import READ_MODEL_PREFIX, Notifier
from projections.cache import ReadModelCache


class Runner:
    """Just the part of ProjectionRunner the cache reads: per projection, its generation."""

    def __init__(self) -> None:
        self.generations = {"alert_sources": 0}


async def test_rows_stay_until_the_projection_applies_or_a_change_is_announced() -> None:
    runner = Runner()
    cache: ReadModelCache[str] = ReadModelCache(runner, "alert_sources")  # type: ignore[arg-type]
    loads = []

    async def load() -> str:
        loads.append(1)
        return f"row{len(loads)}"

    assert await cache.get("k", load) == "row1"
    assert await cache.get("k", load) == "row1"
    runner.generations["alert_sources"] += 1  # this instance applied a batch
    assert await cache.get("k", load) == "row2"

    async def never_connects() -> None:
        raise OSError

    notifier = Notifier(never_connects)  # type: ignore[arg-type]
    notifier.read_model_listeners.append(lambda name: cache.invalidate())
    notifier._on_notify(None, None, None, READ_MODEL_PREFIX + "alert_sources")
    assert await cache.get("k", load) == "row3"  # another instance's change, announced


async def test_a_row_loaded_across_an_announcement_is_not_kept() -> None:
    runner = Runner()
    cache: ReadModelCache[str] = ReadModelCache(runner, "alert_sources")  # type: ignore[arg-type]
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_load() -> str:
        started.set()
        await release.wait()
        return "old"

    task = asyncio.create_task(cache.get("k", slow_load))
    await started.wait()
    cache.invalidate()  # the change lands while the old row is being read
    release.set()
    assert await task == "old"

    async def fresh() -> str:
        return "new"

    assert await cache.get("k", fresh) == "new"
