"""Replay throughput: reading the whole event log through ``EventStore.read_all``.

What is measured
    Rebuilding a projection reads every event in position order and decodes its payload.
    This script makes sure the ``events`` table holds at least ``--events`` events (default
    200000), then times ``store.read_all(from_position=1, batch_size=1000)`` over all of
    them, touching ``event.data`` on each (the lazy orjson decode) -> ``events_per_s``.

Why a raw ceiling
    Read speed depends on the machine, so the same run also times the plainest equivalent
    in asyncpg: the same columns, ``ORDER BY position``, keyset-paginated in batches of 1000
    (``WHERE position >= $1 ... LIMIT 1000``), ``orjson.loads`` of ``data`` on each row ->
    ``raw_rows_per_s``. ``ratio`` = events_per_s / raw_rows_per_s is what the store's
    layering costs (pool acquire per batch, a RecordedEvent record class per row, an async
    generator hop per event).

    Both sides receive jsonb as text (asyncpg's built-in codec; the store registers none)
    and both pay exactly one ``orjson.loads`` of ``data`` per event, so the comparison
    isolates the store's own overhead rather than a difference in wire format.

Fairness
    Before timing, the table is VACUUM ANALYZEd (sets hint bits and the visibility map, which
    the first reader after a bulk load would otherwise pay for) and read once untimed, so
    both sides read from a warm cache. Then ``--rounds`` rounds run both readers, in
    alternating order; the best round of each is reported, with every round listed.

The events are appended through the store itself, many events per append and many appends
at once, so the group-commit writer loads them in large batches. The database
(``--database``, default ``ilertd_bench_replay``) is dropped and recreated at start unless
``--reuse-db`` is given, in which case only the shortfall is appended.

Usage: ``python bench/replay.py [--events 200000] [--rounds 3] [--dsn URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from _common import (
    add_database_args,
    print_result,
    progress,
    recreate_database,
    resolve_dsn,
    run_facts,
)

from eventstore import EventStore, NewEvent

BATCH_SIZE = 1000
EVENT_TYPES = ("AlertCreated", "AlertAcknowledged", "AlertEscalated", "AlertResolved")
RAW_QUERY = (
    "SELECT position, stream_id, stream_type, version, type, data, metadata, recorded_at "
    "FROM events WHERE position >= $1 ORDER BY position LIMIT $2"
)


def make_event(stream_id: uuid.UUID, index: int) -> NewEvent:
    """A payload of realistic size (~300 bytes) and nesting, different for every event."""
    data = {
        "alert_id": str(stream_id),
        "seq": index,
        "summary": f"Disk usage above 90% on host db-{index % 97:02d}",
        "details": "Filesystem /var/lib/postgresql is filling up; check WAL retention.",
        "priority": "HIGH" if index % 3 else "LOW",
        "labels": {"env": "prod", "team": f"team-{index % 7}", "source": "prometheus"},
        "escalation_level": index % 4,
    }
    return NewEvent(
        type=EVENT_TYPES[index % len(EVENT_TYPES)],
        data=orjson.dumps(data),
        metadata={"actor": "bench", "correlation_id": str(stream_id)},
    )


async def fill(store: EventStore, target: int, stream_size: int, concurrency: int) -> int:
    """Append until the log holds ``target`` events; return how many were appended."""
    missing = target - await store.head_position()
    if missing <= 0:
        return 0
    sizes = [stream_size] * (missing // stream_size)
    if missing % stream_size:
        sizes.append(missing % stream_size)
    work = iter(sizes)  # shared by the workers: next() never awaits

    async def worker() -> None:
        for size in work:
            stream_id = uuid.uuid4()
            events = [make_event(stream_id, i) for i in range(size)]
            await store.append(stream_id, events, expected_version=0, stream_type="alert")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return missing


async def prepare_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM (ANALYZE) events")
    finally:
        await conn.close()


async def read_store(store: EventStore) -> int:
    count = 0
    async for event in store.read_all(from_position=1, batch_size=BATCH_SIZE):
        event.data  # noqa: B018 - the lazy decode is what is being measured
        count += 1
    return count


async def read_raw(conn: asyncpg.Connection) -> int:
    """Keyset pagination on a plain connection, jsonb as text (see above)."""
    count = 0
    position = 1
    while True:
        rows = await conn.fetch(RAW_QUERY, position, BATCH_SIZE)
        for row in rows:
            orjson.loads(row["data"])
        count += len(rows)
        if len(rows) < BATCH_SIZE:
            return count
        position = rows[-1]["position"] + 1


async def timed(read: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    count = await read()
    return count, time.perf_counter() - started


async def main(args: argparse.Namespace) -> dict[str, Any]:
    admin_dsn = resolve_dsn(args.dsn)
    dsn = await recreate_database(admin_dsn, args.database, keep=args.reuse_db)
    progress(f"database {args.database} {'reused' if args.reuse_db else 'recreated'}")

    store = await EventStore.open(dsn)
    raw_conn = await asyncpg.connect(dsn)
    try:
        progress(f"filling to {args.events} events")
        started = time.perf_counter()
        appended = await fill(store, args.events, args.stream_size, args.fill_concurrency)
        fill_s = time.perf_counter() - started
        progress(f"appended {appended} events in {fill_s:.1f}s")
        await prepare_table(dsn)
        total = await store.head_position()

        await read_raw(raw_conn)  # warm the cache and the prepared statement, untimed
        readers: dict[str, Callable[[], Awaitable[int]]] = {
            "store": lambda: read_store(store),
            "raw": lambda: read_raw(raw_conn),
        }
        rates: dict[str, list[float]] = {"store": [], "raw": []}
        for round_no, order in zip(
            range(args.rounds), itertools.cycle([("store", "raw"), ("raw", "store")])
        ):
            for name in order:
                count, elapsed = await timed(readers[name])
                if count != total:
                    raise RuntimeError(f"{name} read {count} events, the log holds {total}")
                rates[name].append(count / elapsed)
                progress(f"round {round_no + 1}: {name} {count / elapsed:,.0f} events/s")
    finally:
        await raw_conn.close()
        await store.close()

    events_per_s = max(rates["store"])
    raw_rows_per_s = max(rates["raw"])
    return {
        "benchmark": "replay",
        "events": total,
        "batch_size": BATCH_SIZE,
        "rounds": args.rounds,
        "events_per_s": round(events_per_s, 1),
        "raw_rows_per_s": round(raw_rows_per_s, 1),
        "ratio": round(events_per_s / raw_rows_per_s, 3),
        "events_per_s_rounds": [round(r, 1) for r in rates["store"]],
        "raw_rows_per_s_rounds": [round(r, 1) for r in rates["raw"]],
        "fill_appended": appended,
        "fill_events_per_s": round(appended / fill_s, 1) if appended else None,
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200000, help="events to replay (at least)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each reader")
    parser.add_argument("--stream-size", type=int, default=50, help="events per filling append")
    parser.add_argument("--fill-concurrency", type=int, default=32, help="concurrent fillers")
    add_database_args(parser, "ilertd_bench_replay")
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep the database, append only the shortfall"
    )
    args = parser.parse_args()
    if args.events < 1 or args.rounds < 1 or args.stream_size < 1 or args.fill_concurrency < 1:
        parser.error("--events, --rounds, --stream-size and --fill-concurrency must be positive")
    return args


if __name__ == "__main__":
    print_result(main(parse_args()))
