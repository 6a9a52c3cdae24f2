"""Helpers shared by the benchmark scripts: DSN resolution, a scratch database, machine facts.

Each benchmark runs in a database of its own, dropped and recreated at start, so a run never
reads or writes anyone else's data and always starts from the same (empty) state.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DSN_ENV = "ILERTD_BENCH_DSN"


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


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
