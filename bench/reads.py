"""What reads cost: GET latency and daemon CPU per read, idle and under Events API ingest.

What is measured
    The script starts ``python -m ilertd serve`` on a scratch database, creates an alert
    source and ``--alerts`` alerts, then:

    - idle: ``--reads`` sequential GETs of ``/api/alerts/{id}`` and as many of
      ``/api/users/current`` (one client, keep-alive): latency each, and the daemon's CPU
      per read from ``/proc``. Every read first takes the store's head and checks the read
      models hold it (the read barrier); this is its price when nothing needs waiting for.
    - under ingest: ``--clients`` closed-loop clients post ``--events`` ALERT events over
      ``--keys`` keys (mostly dedup hits, as ``ingest.py``) while one reader GETs the same two
      routes back to back: read latency under load (each read waits until the read models
      hold everything committed before it started), ingest rate and latency, and any 503.

    Reported per phase and route: ``p50/p95/p99/max`` in ms; the daemon's own histogram of
    barrier waits (``read_wait_*``, from ``/metrics``) for the whole run.

Kept short on purpose (a few thousand requests): run it from a checkout to compare two
versions of the daemon on the same machine in the same hour.

Usage: ``python bench/reads.py [--reads 2000] [--clients 16] [--events 10000] [--keys 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from typing import Any

import aiohttp
import orjson
from _common import add_database_args, ms_summary, per_s, print_result, progress
from _daemon import (
    AUTH,
    JSON_HEADERS,
    alert_events,
    backend_pids,
    client_session,
    fresh_database,
    log_on_failure,
    process_cpu_s,
    start_daemon,
)

ROUTES = ("alert", "current_user")


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.get(url, headers=AUTH) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def reader(
    session: aiohttp.ClientSession, base: str, alert_ids: list[int], until: asyncio.Event | int
) -> dict[str, Any]:
    """GETs alternating over ROUTES, ``until`` that many pairs or until the event is set."""
    samples: dict[str, list[float]] = {route: [] for route in ROUTES}
    statuses: dict[str, int] = {}
    n = 0
    while (n < until) if isinstance(until, int) else not until.is_set():
        paths = (f"/api/alerts/{random.choice(alert_ids)}", "/api/users/current")
        for route, path in zip(ROUTES, paths, strict=True):
            status, seconds = await get(session, base + path)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            samples[route].append(seconds)
        n += 1
    result: dict[str, Any] = {"statuses": statuses}
    for route in ROUTES:
        result.update(ms_summary(samples[route], route))
    result["reads"] = 2 * n
    return result


async def ingest(
    session: aiohttp.ClientSession, base: str, bodies: list[bytes], clients: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    work = iter(bodies)

    async def client() -> None:
        nonlocal errors
        for body in work:
            started = time.perf_counter()
            async with session.post(
                base + "/api/events", data=body, headers=JSON_HEADERS
            ) as response:
                await response.read()
                if response.status != 202:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    seconds = time.perf_counter() - started
    return {
        "events_per_s": per_s(len(bodies), seconds),
        "errors": errors,
        **ms_summary(latencies, "ingest"),
    }


def read_wait_metrics(text: str) -> dict[str, Any]:
    """Count, sum and share of requests that waited, from the daemon's histogram."""
    values = {}
    for name in ("count", "sum"):
        found = re.search(rf"^ilertd_http_read_wait_seconds_{name} (\S+)$", text, re.M)
        values[name] = float(found[1]) if found else None
    zero = re.search(r'^ilertd_http_read_wait_seconds_bucket\{le="0\.0"\} (\S+)$', text, re.M)
    count = values["count"] or 0
    return {
        "read_wait_requests": int(count),
        "read_wait_none_share": round(float(zero[1]) / count, 3) if zero and count else None,
        "read_wait_mean_ms": round(values["sum"] / count * 1000, 3) if count else None,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    dsn = await fresh_database(args.dsn, args.database)
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_daemon(dsn, data_dir)
        with log_on_failure(server, "ilertd"):
            async with client_session(args.clients + 2) as session:
                await server.wait_ready(session)
                base = server.url
                async with session.post(
                    base + "/api/alert-sources",
                    json={"name": "bench", "integrationType": "API"},
                    headers=AUTH,
                ) as response:
                    source = await response.json()
                key = source["integrationKey"]
                alert_ids = []
                for body in alert_events(key, "seed", args.alerts):
                    async with session.post(
                        base + "/api/events", data=body, headers=JSON_HEADERS
                    ) as response:
                        alert_ids.append((await response.json())["alertId"])
                await reader(session, base, alert_ids, 200)  # warm-up
                progress("idle reads")
                cpu_before = process_cpu_s(server.proc.pid)
                idle = await reader(session, base, alert_ids, args.reads)
                cpu_after = process_cpu_s(server.proc.pid)
                if cpu_before is not None and cpu_after is not None:
                    idle["daemon_cpu_ms_per_read"] = round(
                        (cpu_after - cpu_before) * 1000 / idle["reads"], 4
                    )
                progress("reads under ingest")
                bodies = [
                    orjson.dumps(
                        {
                            "integrationKey": key,
                            "eventType": "ALERT",
                            "summary": "load",
                            "alertKey": f"k-{random.randrange(args.keys)}",
                        }
                    )
                    for _ in range(args.events)
                ]
                backends = await backend_pids(dsn, args.database)
                cpu = [process_cpu_s(pid) for pid in (server.proc.pid, *backends)]
                done = asyncio.Event()
                reading = asyncio.create_task(
                    reader(session, base, alert_ids, done if args.read_under_ingest else 0)
                )
                loaded = await ingest(session, base, bodies, args.clients)
                done.set()
                under_load = await reading
                after = [process_cpu_s(pid) for pid in (server.proc.pid, *backends)]
                if None not in cpu[:1] + after[:1]:
                    loaded["daemon_cpu_ms_per_event"] = round(
                        (after[0] - cpu[0]) * 1000 / args.events, 4
                    )
                pg = [b - a for a, b in zip(cpu[1:], after[1:], strict=True) if None not in (a, b)]
                loaded["db_backends_cpu_ms_per_event"] = round(sum(pg) * 1000 / args.events, 4)
                async with session.get(base + "/metrics") as response:
                    waits = read_wait_metrics(await response.text())
            await server.stop()
    return {"idle": idle, "under_ingest": {**under_load, **loaded}, **waits}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_args(parser, "ilertd_bench_reads")
    parser.add_argument("--alerts", type=int, default=100, help="alerts read back")
    parser.add_argument("--reads", type=int, default=2000, help="idle read pairs")
    parser.add_argument("--clients", type=int, default=16, help="ingest clients")
    parser.add_argument("--events", type=int, default=10000, help="events ingested")
    parser.add_argument("--keys", type=int, default=1000, help="alert keys of the load")
    parser.add_argument(
        "--no-read-under-ingest",
        dest="read_under_ingest",
        action="store_false",
        help="ingest alone (what the reads cost the ingest)",
    )
    print_result(main(parser.parse_args()))
