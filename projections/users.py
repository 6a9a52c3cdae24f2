"""Users and API keys, for authentication and /api/users.

A user's integer API id is the global position of its ``user-registered`` event: unique,
known the moment the append returns, and identical after a rebuild.
"""

from __future__ import annotations

import asyncpg

from eventstore import RecordedEvent

from .base import Projection


class UsersProjection(Projection):
    name = "users"
    version = 1
    tables = ("api_keys", "users")
    event_types = frozenset({"user-registered", "user-api-key-issued", "user-api-key-revoked"})

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS users (
                id          bigint      PRIMARY KEY,
                stream_id   uuid        NOT NULL UNIQUE,
                username    text        NOT NULL,
                email       text        NOT NULL,
                first_name  text        NOT NULL,
                last_name   text        NOT NULL,
                role        text        NOT NULL,
                timezone    text        NOT NULL,
                language    text        NOT NULL,
                created_at  timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS api_keys (
                key_hash    text        PRIMARY KEY,
                key_id      uuid        NOT NULL UNIQUE,
                user_id     bigint      NOT NULL REFERENCES users (id),
                label       text        NOT NULL,
                created_at  timestamptz NOT NULL
            );
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "user-registered":
            await conn.execute(
                """
                INSERT INTO users (id, stream_id, username, email, first_name, last_name,
                                   role, timezone, language, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                """,
                event.position,
                event.stream_id,
                data["username"],
                data["email"],
                data.get("first_name", ""),
                data.get("last_name", ""),
                data["role"],
                data.get("timezone", "UTC"),
                data.get("language", "en"),
                event.recorded_at,
            )
        elif event.type == "user-api-key-issued":
            await conn.execute(
                """
                INSERT INTO api_keys (key_hash, key_id, user_id, label, created_at)
                SELECT $1, $2, id, $3, $4 FROM users WHERE stream_id = $5
                """,
                data["key_hash"],
                data["key_id"],
                data["label"],
                event.recorded_at,
                event.stream_id,
            )
        elif event.type == "user-api-key-revoked":
            await conn.execute("DELETE FROM api_keys WHERE key_id = $1", data["key_id"])


async def user_by_key_hash(conn: asyncpg.Connection | asyncpg.Pool, key_hash: str):
    return await conn.fetchrow(
        """
        SELECT u.* FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1
        """,
        key_hash,
    )


async def user_by_id(conn: asyncpg.Connection | asyncpg.Pool, user_id: int):
    return await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def count_users(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return await conn.fetchval("SELECT count(*) FROM users")
