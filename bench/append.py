"""Append throughput of the event store under many concurrent single-event appenders.

What is measured
    ``--concurrency`` tasks (default 64) share ``--events`` appends (default 20000). Every
    append is one event on a brand-new stream (uuid4, ``expected_version=0``), i.e. the
    shape of "an alert was created" arriving from many HTTP requests at once. Reported:
    ``events_per_s`` (wall clock over the timed appends) and the append latency as the
    caller sees it (``p50_ms``, ``p99_ms``: enqueue to committed-and-acknowledged).

Why a raw ceiling
    The absolute number depends mostly on what a durable commit costs on this machine
    (fsync, disk, CPU count), so on its own it says little. In the same run, on the same
    database, the script also measures the plainest way to write durably from asyncpg:
    the same number of tasks, each on its own connection, doing single-row autocommit
    INSERTs into a scratch table of a similar shape (bigserial, uuid, text, jsonb).
    PostgreSQL itself group-commits the WAL flushes of concurrent backends, so this is a
    fair "no event store at all" baseline. ``ratio`` = events_per_s / raw_insert_rows_per_s;
    above 1 means group commit wins more than the global ordering lock costs.

    The scratch table has only its primary key, while ``events`` also maintains the
    (stream_id, version) unique index and the (type, position) index, so the ceiling is
    deliberately generous.

Both phases start with an untimed warm-up (``--warmup`` appends/rows) so connection set-up,
prepared statements and first-touch page allocation do not count. The database
(``--database``, default ``ilertd_bench_append``) is dropped and recreated at start.

Usage: ``python bench/append.py [--concurrency 64] [--events 20000] [--dsn URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from _common import (
    add_database_args,
    percentile_ms,
    print_result,
    progress,
    recreate_database,
    resolve_dsn,
    run_facts,
)

from eventstore import EventStore, NewEvent

EVENT = NewEvent(type="bench-created", data=b'{"k":1}', metadata={"actor": "bench"})
RAW_TABLE = "bench_raw_insert"


@dataclass
class Timing:
    """Latencies (seconds) of one phase and its wall-clock duration."""

    latencies: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def per_s(self) -> float:
        return len(self.latencies) / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}p50_ms": round(percentile_ms(self.latencies, 50), 3),
            f"{prefix}p99_ms": round(percentile_ms(self.latencies, 99), 3),
        }


async def run_concurrently(
    concurrency: int, count: int, one: Callable[[int], Awaitable[None]]
) -> Timing:
    """Run ``one(worker)`` ``count`` times spread over ``concurrency`` tasks, timing each."""
    timing = Timing()
    work: Iterator[None] = itertools.repeat(None, count)  # shared: next() never awaits

    async def worker(index: int) -> None:
        for _ in work:
            started = time.perf_counter()
            await one(index)
            timing.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    timing.elapsed_s = time.perf_counter() - started
    return timing


@dataclass
class BatchStats:
    """What the group-commit writer did: how many appends shared each commit."""

    appends_per_commit: list[int] = field(default_factory=list)

    def observe(self, appends: int, events: int, latencies: list[float]) -> None:
        self.appends_per_commit.append(appends)

    def summary(self) -> dict[str, float]:
        sizes = self.appends_per_commit
        return {
            "commits": len(sizes),
            "mean_appends_per_commit": round(sum(sizes) / len(sizes), 1) if sizes else 0.0,
            "max_appends_per_commit": max(sizes, default=0),
        }


async def bench_store(dsn: str, concurrency: int, events: int, warmup: int) -> dict[str, Any]:
    batches = BatchStats()
    store = await EventStore.open(dsn, observer=batches.observe)
    try:

        async def append_one(_worker: int) -> None:
            await store.append(uuid.uuid4(), [EVENT], expected_version=0, stream_type="bench")

        await run_concurrently(concurrency, warmup, append_one)
        batches.appends_per_commit.clear()
        timing = await run_concurrently(concurrency, events, append_one)
    finally:
        await store.close()
    return {
        "events_per_s": round(timing.per_s, 1),
        **timing.summary(),
        "elapsed_s": round(timing.elapsed_s, 3),
        **batches.summary(),
    }


async def bench_raw_insert(dsn: str, concurrency: int, rows: int, warmup: int) -> dict[str, Any]:
    """Plain asyncpg, no store: one connection per task, one autocommitted row per INSERT.

    No codec is registered, so jsonb parameters go as text (asyncpg's default).
    """
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute(
            f"""
            DROP TABLE IF EXISTS {RAW_TABLE};
            CREATE TABLE {RAW_TABLE} (
                id          bigserial   PRIMARY KEY,
                stream_id   uuid        NOT NULL,
                stream_type text        NOT NULL,
                type        text        NOT NULL,
                data        jsonb       NOT NULL,
                metadata    jsonb       NOT NULL DEFAULT '{{}}'::jsonb,
                recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """
        )
    finally:
        await setup.close()

    conns = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(concurrency)))
    try:
        statements = await asyncio.gather(
            *(
                conn.prepare(
                    f"INSERT INTO {RAW_TABLE} (stream_id, stream_type, type, data, metadata) "
                    "VALUES ($1, $2, $3, $4, $5)"
                )
                for conn in conns
            )
        )
        data = EVENT.data.decode()
        metadata = json.dumps(EVENT.metadata)

        async def insert_one(worker: int) -> None:
            await statements[worker].fetch(uuid.uuid4(), "bench", EVENT.type, data, metadata)

        await run_concurrently(concurrency, warmup, insert_one)
        timing = await run_concurrently(concurrency, rows, insert_one)
    finally:
        await asyncio.gather(*(conn.close() for conn in conns))
    return {
        "raw_insert_rows_per_s": round(timing.per_s, 1),
        **timing.summary("raw_insert_"),
        "raw_insert_elapsed_s": round(timing.elapsed_s, 3),
    }


async def check_connection_budget(dsn: str, concurrency: int) -> None:
    """The raw phase opens one connection per task: fail now rather than after the store phase."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int AS usable,"
            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
            " AS used"
        )
    finally:
        await conn.close()
    free = row["usable"] - row["used"]
    if concurrency > free:
        raise SystemExit(
            f"--concurrency {concurrency} needs that many connections for the raw ceiling, "
            f"but the server has only {free} free (max_connections minus reserved and in use)"
        )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    admin_dsn = resolve_dsn(args.dsn)
    dsn = await recreate_database(admin_dsn, args.database)
    progress(f"database {args.database} recreated")
    await check_connection_budget(dsn, args.concurrency)

    progress(f"store: {args.events} appends, concurrency {args.concurrency}")
    store = await bench_store(dsn, args.concurrency, args.events, args.warmup)
    progress(f"store: {store['events_per_s']} events/s")

    progress(f"raw ceiling: {args.events} single-row INSERT commits")
    raw = await bench_raw_insert(dsn, args.concurrency, args.events, args.warmup)
    progress(f"raw ceiling: {raw['raw_insert_rows_per_s']} rows/s")

    ratio = store["events_per_s"] / raw["raw_insert_rows_per_s"]
    return {
        "benchmark": "append",
        "concurrency": args.concurrency,
        "events": args.events,
        "warmup": args.warmup,
        **store,
        **raw,
        "ratio": round(ratio, 3),
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent appenders")
    parser.add_argument("--events", type=int, default=20000, help="timed appends in total")
    parser.add_argument("--warmup", type=int, default=1000, help="untimed appends first")
    add_database_args(parser, "ilertd_bench_append")
    args = parser.parse_args()
    if args.concurrency < 1 or args.events < 1 or args.warmup < 0:
        parser.error("--concurrency and --events must be positive, --warmup not negative")
    return args


if __name__ == "__main__":
    print_result(main(parse_args()))
