"""Migrations are versioned and idempotent, also when instances start together."""

from __future__ import annotations

import asyncio

import asyncpg

from eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations


async def test_migrations_apply_once_even_concurrently(dsn: str) -> None:
    conns = [await asyncpg.connect(dsn) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(apply_migrations(c) for c in conns))
        assert sorted(len(a) for a in applied) == [0, 0, 0, len(EVENTSTORE_MIGRATIONS)]
        assert await apply_migrations(conns[0]) == []
        rows = await conns[0].fetch("SELECT component, version FROM schema_migrations")
        assert {(r["component"], r["version"]) for r in rows} == {
            (m.component, m.version) for m in EVENTSTORE_MIGRATIONS
        }
    finally:
        for c in conns:
            await c.close()
