"""Exactly one leader per database; a standby takes over when the leader goes away."""

from __future__ import annotations

import asyncio

import asyncpg

from ilertd.engine.leader import Leadership


class Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def gain(self) -> None:
        self.log.append(f"{self.name}+")

    async def loss(self) -> None:
        self.log.append(f"{self.name}-")


async def until(predicate, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_one_leader_and_takeover(dsn: str) -> None:
    log: list[str] = []
    a, b = Recorder("a", log), Recorder("b", log)
    first = Leadership(dsn, a.gain, a.loss, retry_s=0.2)
    second = Leadership(dsn, b.gain, b.loss, retry_s=0.2)
    first.start()
    await until(lambda: first.is_leader)
    second.start()
    await asyncio.sleep(1.0)  # several retries: still one leader
    assert (first.is_leader, second.is_leader) == (True, False)
    assert log == ["a+"]

    await first.stop()  # a clean stop releases the lock
    await until(lambda: second.is_leader, timeout=5)
    assert log == ["a+", "a-", "b+"]

    # the leader's connection dies (as when its host is killed): it steps down, and
    # the lock is free for whoever asks next
    admin = await asyncpg.connect(dsn)
    try:
        pid = second._conn.get_server_pid()
        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await until(lambda: "b-" in log, timeout=5)
    await until(lambda: second.is_leader, timeout=5)  # alone, it leads again
    assert log == ["a+", "a-", "b+", "b-", "b+"]
    await second.stop()
