"""Installation secrets: random keys made once per database and shared by every instance.

Used to sign things handed out as URLs (calendar feed tokens), so that instances agree
without configuration and a fresh install needs none.
"""

from __future__ import annotations

import secrets

import asyncpg

from eventstore.migrations import Migration, apply_migrations

ILERTD_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "ilertd",
        1,
        "installation secrets",
        """
        CREATE TABLE IF NOT EXISTS installation_secrets (
            name       text        PRIMARY KEY,
            value      bytea       NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
)


async def installation_secret(pool: asyncpg.Pool, name: str) -> bytes:
    """The secret called ``name``, created (32 random bytes) by whoever asks first."""
    async with pool.acquire() as conn:
        await apply_migrations(conn, ILERTD_MIGRATIONS)
        await conn.execute(
            "INSERT INTO installation_secrets (name, value) VALUES ($1, $2) "
            "ON CONFLICT (name) DO NOTHING",
            name,
            secrets.token_bytes(32),
        )
        return await conn.fetchval("SELECT value FROM installation_secrets WHERE name = $1", name)
