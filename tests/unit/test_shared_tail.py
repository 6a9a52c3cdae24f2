"""SharedTail: subscribers woken by one commit share one read, and never get less than a
read of their own would give them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from eventstore.tail import SharedTail


@dataclass(frozen=True)
class Event:
    position: int


class Log:
    """An in-memory log standing in for the events table; counts the reads."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.reads: list[tuple[int, int]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def fetch(self, position: int, limit: int) -> list[Event]:
        self.reads.append((position, limit))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [Event(p) for p in range(position, min(self.head, position + limit - 1) + 1)]


def positions(events: list) -> list[int]:
    return [e.position for e in events]


async def test_subscribers_woken_by_one_commit_share_one_read() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    log.gate = asyncio.Event()
    first = asyncio.create_task(tail.batch(5, seen=3, sequence=3, limit=100))
    await asyncio.sleep(0)
    second = asyncio.create_task(tail.batch(7, seen=3, sequence=3, limit=100))
    await asyncio.sleep(0)
    log.gate.set()
    assert positions(await first) == [5, 6, 7, 8, 9, 10]
    assert positions(await second) == [7, 8, 9, 10]
    assert log.reads == [(5, 100)]
    # at the end of a read that was not full: nothing more, without reading
    assert await tail.batch(11, seen=3, sequence=3, limit=100) == []
    assert len(log.reads) == 1


async def test_a_read_from_before_the_commit_or_behind_the_position_is_not_shared() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    await tail.batch(5, seen=3, sequence=3, limit=100)
    log.head = 12
    assert positions(await tail.batch(11, seen=4, sequence=4, limit=100)) == [11, 12]
    assert positions(await tail.batch(2, seen=4, sequence=4, limit=100))[:2] == [2, 3]
    assert len(log.reads) == 3


async def test_without_an_announced_commit_every_subscriber_reads_for_itself() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    await tail.batch(5, seen=None, sequence=3, limit=100)
    log.head = 11  # another instance committed without a notification
    assert positions(await tail.batch(11, seen=None, sequence=3, limit=100)) == [11]
    assert len(log.reads) == 2


async def test_past_the_end_of_a_full_read_the_next_batch_is_read() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    assert positions(await tail.batch(1, seen=1, sequence=1, limit=4)) == [1, 2, 3, 4]
    assert positions(await tail.batch(3, seen=1, sequence=1, limit=4)) == [3, 4]
    assert positions(await tail.batch(5, seen=1, sequence=1, limit=4)) == [5, 6, 7, 8]
    assert log.reads == [(1, 4), (5, 4)]


async def test_a_failed_read_fails_its_sharers_and_the_next_one_reads_again() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    log.gate, log.fail = asyncio.Event(), OSError("connection lost")
    first = asyncio.create_task(tail.batch(5, seen=2, sequence=2, limit=100))
    await asyncio.sleep(0)
    second = asyncio.create_task(tail.batch(5, seen=2, sequence=2, limit=100))
    await asyncio.sleep(0)
    log.gate.set()
    for task in (first, second):
        with pytest.raises(OSError):
            await task
    log.fail = None
    assert positions(await tail.batch(5, seen=2, sequence=2, limit=100))[0] == 5
    assert len(log.reads) == 2


async def test_a_cancelled_reader_leaves_its_sharers_to_read_for_themselves() -> None:
    log = Log(head=10)
    tail = SharedTail(log.fetch)  # type: ignore[arg-type]
    log.gate = asyncio.Event()
    first = asyncio.create_task(tail.batch(5, seen=2, sequence=2, limit=100))
    await asyncio.sleep(0)
    second = asyncio.create_task(tail.batch(6, seen=2, sequence=2, limit=100))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    log.gate.set()
    assert positions(await second) == [6, 7, 8, 9, 10]
    assert first.cancelled()
    assert log.reads == [(5, 100), (6, 100)]
