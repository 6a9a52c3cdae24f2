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


#: One call = one implicit transaction: lock, check every append's version and idempotency
#: key, insert the accepted ones with positions assigned under the lock, record their keys,
#: then notify the new head to every listening instance. The notification is a statement of
#: its own: a plain SELECT in a WITH runs only if the outer query reads its rows (the first
#: version had it in a CTE joined for a count nobody read, the planner dropped it, and other
#: instances learnt of commits only by polling). The caller guarantees a stream and a key
#: appear at most once per batch, so the checks are set-based (no per-append SQL). Outcome
#: per append, in order: 'ok' (positions, new version), 'duplicate' (the first result, whose
#: stream may differ), 'conflict' (the actual version).
APPEND_BATCH_FUNCTION = """
CREATE OR REPLACE FUNCTION eventstore_append_batch(
    p_streams uuid[], p_stream_types text[], p_expected integer[], p_keys text[],
    p_counts integer[], p_types text[], p_data text[], p_metadata text[]
) RETURNS TABLE (outcome text, stream_id uuid, first_position bigint, last_position bigint,
                version integer)
LANGUAGE plpgsql AS $fn$
DECLARE
    head bigint;
BEGIN
    LOCK TABLE events IN EXCLUSIVE MODE;
    SELECT coalesce(max(e.position), 0) INTO head FROM events e;
    RETURN QUERY
    WITH req AS (
        SELECT r.*, (sum(r.cnt) OVER (ORDER BY r.i) - r.cnt)::integer AS off
        FROM unnest(p_streams, p_stream_types, p_expected, p_keys, p_counts)
             WITH ORDINALITY AS r(sid, stype, expected, key, cnt, i)
    ), state AS (
        SELECT req.*,
               coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = req.sid), 0)
                   AS cur,
               k.first_position AS k_first, k.last_position AS k_last, k.version AS k_version,
               k.stream_id AS k_stream
        FROM req LEFT JOIN idempotency_keys k ON k.key = req.key
    ), decided AS (
        SELECT state.*,
               CASE WHEN k_first IS NOT NULL THEN 'duplicate'
                    WHEN expected IS NOT NULL AND expected <> cur THEN 'conflict'
                    ELSE 'ok' END AS result
        FROM state
    ), placed AS (
        SELECT decided.*,
               head + sum(CASE WHEN result = 'ok' THEN cnt ELSE 0 END) OVER (ORDER BY i)
                   AS last_ok
        FROM decided
    ), d AS (
        SELECT i, sid, stype, key, cnt, off, result,
               CASE result WHEN 'duplicate' THEN k_stream ELSE sid END AS stream,
               CASE result WHEN 'ok' THEN last_ok - cnt + 1 WHEN 'duplicate' THEN k_first
                   END AS first_pos,
               CASE result WHEN 'ok' THEN last_ok WHEN 'duplicate' THEN k_last END AS last_pos,
               CASE result WHEN 'ok' THEN cur + cnt WHEN 'duplicate' THEN k_version
                   ELSE cur END AS ver
        FROM placed
    ), inserted AS (
        INSERT INTO events (position, stream_id, stream_type, version, type, data, metadata)
        SELECT d.first_pos + g - 1, d.sid, d.stype, d.ver - d.cnt + g,
               p_types[d.off + g], p_data[d.off + g]::jsonb, p_metadata[d.off + g]::jsonb
        FROM d, generate_series(1, d.cnt) AS g
        WHERE d.result = 'ok'
        RETURNING 1
    ), keys AS (
        INSERT INTO idempotency_keys (key, stream_id, first_position, last_position, version)
        SELECT d.key, d.sid, d.first_pos, d.last_pos, d.ver
        FROM d WHERE d.result = 'ok' AND d.key IS NOT NULL
        RETURNING 1
    )
    SELECT d.result, d.stream, d.first_pos, d.last_pos, d.ver
    FROM d
    CROSS JOIN (SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM keys))
        AS forced(n)
    ORDER BY d.i;
    PERFORM pg_notify('ilertd_events', max(e.position)::text) FROM events e
    HAVING max(e.position) > head;
END
$fn$;
"""

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
    Migration(
        "eventstore",
        3,
        "append a whole group-commit batch in one round trip",
        APPEND_BATCH_FUNCTION,
    ),
    # 3 installs the current function too (CREATE OR REPLACE): databases that ran the first
    # version get the one that really notifies
    Migration(
        "eventstore",
        4,
        "append batch: notify other instances of every commit",
        APPEND_BATCH_FUNCTION,
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
