"""Helpers shared by the benchmark scripts: DSN resolution, a scratch database, machine facts,
latency summaries, the command line's database options and the printed result.

Each benchmark runs in a database of its own, dropped and recreated at start, so a run never
reads or writes anyone else's data and always starts from the same (empty) state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DSN_ENV = "ILERTD_BENCH_DSN"


def add_database_args(parser: argparse.ArgumentParser, database: str) -> None:
    """``--dsn`` and ``--database`` (default ``database``), as every benchmark takes them."""
    parser.add_argument(
        "--dsn",
        default=None,
        help=f"server to use (its database only administers); default ${DSN_ENV} or {DEFAULT_DSN}",
    )
    parser.add_argument("--database", default=database, help="scratch database, recreated")


def resolve_dsn(flag: str | None) -> str:
    """``--dsn`` if given, else ``$ILERTD_BENCH_DSN``, else the local default."""
    return flag or os.environ.get(DSN_ENV) or DEFAULT_DSN


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database (URL-style DSNs only)."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--dsn must be a postgresql:// URL, got {dsn!r}")
    return urlunsplit(parts._replace(path="/" + database))


async def recreate_database(admin_dsn: str, database: str, *, keep: bool = False) -> str:
    """Drop and create ``database`` through ``admin_dsn``; return a DSN pointing at it.

    With ``keep``, an existing database is left as it is (and created only when missing).
    """
    if not database.replace("_", "").isalnum():
        raise SystemExit(f"refusing a database name that needs quoting: {database!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not (keep and exists):
            await conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {database}")
    finally:
        await conn.close()
    return with_database(admin_dsn, database)


async def server_facts(dsn: str) -> dict[str, Any]:
    """Settings that decide what a commit costs, recorded next to every result."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "server_version": await conn.fetchval("SHOW server_version"),
            "fsync": await conn.fetchval("SHOW fsync"),
            "synchronous_commit": await conn.fetchval("SHOW synchronous_commit"),
            "wal_sync_method": await conn.fetchval("SHOW wal_sync_method"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
        }
    finally:
        await conn.close()


async def run_facts(dsn: str, database: str) -> dict[str, Any]:
    """What every result ends with: machine and server facts, and the scratch database."""
    return {**machine_facts(), **(await server_facts(dsn)), "database": database}


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def percentile_ms(samples_s: list[float], pct: float) -> float:
    """Interpolated (inclusive) percentile of latencies given in seconds, in milliseconds."""
    if not samples_s:
        return float("nan")
    if len(samples_s) == 1:
        return samples_s[0] * 1000
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    return cuts[round(pct) - 1] * 1000


def ms_summary(
    samples_s: list[float],
    prefix: str,
    percentiles: Sequence[int] = (50, 95, 99),
    *,
    with_min: bool = False,
) -> dict[str, float | None]:
    """``<prefix>_p<N>_ms`` for each percentile, ``<prefix>_max_ms`` (and ``_min_ms``) of
    latencies given in seconds, in milliseconds rounded to the microsecond; None if empty."""

    def ms(pct: float) -> float | None:
        value = percentile_ms(samples_s, pct)
        return None if math.isnan(value) else round(value, 3)

    summary = {f"{prefix}_p{pct}_ms": ms(pct) for pct in percentiles}
    summary[f"{prefix}_max_ms"] = round(max(samples_s) * 1000, 3) if samples_s else None
    if with_min:
        summary[f"{prefix}_min_ms"] = round(min(samples_s) * 1000, 3) if samples_s else None
    return summary


def per_s(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_result(main: Coroutine[Any, Any, dict[str, Any]]) -> None:
    """Run a benchmark's ``main`` and print its result, the one JSON object on stdout."""
    print(json.dumps(asyncio.run(main), indent=2))
