"""The tracking table: one row per projection with the last position it applied."""

from __future__ import annotations

import asyncpg

TRACKING_DDL = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    name       text        PRIMARY KEY,
    version    integer     NOT NULL,
    position   bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


async def ensure_tracking_table(conn: asyncpg.Connection) -> None:
    await conn.execute(TRACKING_DDL)


async def tracked(conn: asyncpg.Connection, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT version, position FROM projection_tracking WHERE name = $1", name
    )


async def reset(conn: asyncpg.Connection, name: str, version: int) -> None:
    await conn.execute(
        """
        INSERT INTO projection_tracking (name, version, position) VALUES ($1, $2, 0)
        ON CONFLICT (name) DO UPDATE SET version = $2, position = 0, updated_at = now()
        """,
        name,
        version,
    )


async def lock_position(conn: asyncpg.Connection, name: str) -> int:
    """Lock the row for this transaction: two runners never apply the same batch.

    The transaction also commits without waiting for its WAL to reach the disk
    (``synchronous_commit = off`` for it alone): a crash may lose the last few batches, but
    their table writes and their tracking position are lost together, and the runner then
    applies them again from the events, which are durable. One fsync fewer per batch and
    projection, on the path of every alert, delivery and page."""
    return await conn.fetchval(
        "SELECT position FROM projection_tracking, "
        "set_config('synchronous_commit', 'off', true) WHERE name = $1 FOR UPDATE OF "
        "projection_tracking",
        name,
    )


async def advance(conn: asyncpg.Connection, name: str, position: int) -> None:
    await conn.execute(
        "UPDATE projection_tracking SET position = $2, updated_at = now() WHERE name = $1",
        name,
        position,
    )


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def begin_batch_sql(name: str, expected: int) -> str:
    """One round trip that opens a batch's transaction and locks the projection's row,
    if it still holds ``expected``: ``execute`` answers ``UPDATE 1``, else ``UPDATE 0``
    (another runner moved it; roll back and re-read). Simple-query text, so the
    values are literals: ``expected`` is an int and ``name`` is quoted.

    The transaction commits without waiting for its WAL to reach the disk (``SET LOCAL
    synchronous_commit = off``): a crash may lose the last few batches, but their table
    writes and their tracking position are lost together, and the runner then applies
    them again from the events, which are durable. One fsync fewer per batch and
    projection, on the path of every alert, delivery and page."""
    return (
        "BEGIN; SET LOCAL synchronous_commit = off; "
        "UPDATE projection_tracking SET updated_at = now() "
        f"WHERE name = {_literal(name)} AND position = {int(expected)}"
    )


def commit_batch_sql(name: str, position: int) -> str:
    """One round trip that records the new position and commits (the row is locked)."""
    return (
        f"UPDATE projection_tracking SET position = {int(position)}, updated_at = now() "
        f"WHERE name = {_literal(name)}; COMMIT"
    )


async def position_of(conn: asyncpg.Connection, name: str) -> int:
    return await conn.fetchval("SELECT position FROM projection_tracking WHERE name = $1", name)
