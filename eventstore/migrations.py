"""Versioned, idempotent schema migrations, applied under an advisory lock.

Several ilertd instances may start at once on one database; the advisory lock makes one of
them apply each pending migration while the others wait and then find nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

MIGRATION_LOCK_KEY = 0x11E27D_0001


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str


EVENTSTORE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "eventstore",
        1,
        "events table",
        """
        CREATE TABLE IF NOT EXISTS events (
            position     bigint      PRIMARY KEY,
            stream_id    uuid        NOT NULL,
            stream_type  text        NOT NULL,
            version      integer     NOT NULL CHECK (version > 0),
            type         text        NOT NULL,
            data         jsonb       NOT NULL,
            metadata     jsonb       NOT NULL DEFAULT '{}'::jsonb,
            recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT events_stream_version UNIQUE (stream_id, version)
        );
        CREATE TABLE IF NOT EXISTS idempotency_keys (
            key            text        PRIMARY KEY,
            stream_id      uuid        NOT NULL,
            first_position bigint      NOT NULL,
            last_position  bigint      NOT NULL,
            version        integer     NOT NULL,
            recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        """,
    ),
    Migration(
        "eventstore",
        2,
        "index events by type for projections that read one kind",
        "CREATE INDEX IF NOT EXISTS events_type_position ON events (type, position);",
    ),
)


async def ensure_migrations_table(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            component  text        NOT NULL,
            version    integer     NOT NULL,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (component, version)
        )
        """
    )


async def apply_migrations(
    conn: asyncpg.Connection, migrations: tuple[Migration, ...] = EVENTSTORE_MIGRATIONS
) -> list[Migration]:
    """Apply every migration not yet recorded; return those applied now."""
    applied_now: list[Migration] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await ensure_migrations_table(conn)
        rows = await conn.fetch("SELECT component, version FROM schema_migrations")
        done = {(r["component"], r["version"]) for r in rows}
        for migration in sorted(migrations, key=lambda m: (m.component, m.version)):
            if (migration.component, migration.version) in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                migration.component,
                migration.version,
                migration.name,
            )
            applied_now.append(migration)
    return applied_now
