"""Status page subscribers, for the ADMINs' API: one row per (page, address).

Ids are the positions of the subscriptions' opening events. The address is personal data:
only the ADMIN-only routes read this table (``ilertd.http.status_subscribers``).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from eventstore import RecordedEvent

from .base import Projection

INT64_MAX = 2**63 - 1

DDL = """
CREATE TABLE IF NOT EXISTS status_subscribers (
    id           bigint      PRIMARY KEY,
    stream_id    uuid        NOT NULL UNIQUE,
    page_id      bigint      NOT NULL,
    email        text        NOT NULL,
    status       text,
    private      boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS status_subscribers_page ON status_subscribers (page_id, id);
"""

PREFIX = "status-page-subscription-"
_CHANGES = {
    "requested": "status = 'PENDING', private = false",
    "confirmed": "status = 'CONFIRMED', confirmed_at = $2",
    "added": "status = 'CONFIRMED', private = true, confirmed_at = $2",
    "unsubscribed": "status = 'UNSUBSCRIBED'",
}


class StatusSubscribersProjection(Projection):
    name = "status_subscribers"
    tables = ("status_subscribers",)
    event_types = frozenset(
        PREFIX + kind for kind in ("opened", "requested", "confirmed", "added", "unsubscribed")
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        kind = event.type.removeprefix(PREFIX)
        if kind == "opened":
            await conn.execute(
                "INSERT INTO status_subscribers (id, stream_id, page_id, email, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
                event.position,
                event.stream_id,
                event.data["page_id"],
                event.data["email"],
                event.recorded_at,
            )
            return
        await conn.execute(
            f"UPDATE status_subscribers SET {_CHANGES[kind]}, updated_at = $2 WHERE stream_id = $1",
            event.stream_id,
            event.recorded_at,
        )


# -- queries -----------------------------------------------------------------------------


async def subscribers_of(
    conn: asyncpg.Connection | asyncpg.Pool, page_id: int, start: int, limit: int
) -> list[dict[str, Any]]:
    """The page's subscribers that have not ended, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM status_subscribers WHERE page_id = $1 AND status IN "
        "('PENDING', 'CONFIRMED') ORDER BY id OFFSET $2 LIMIT $3",
        page_id,
        start,
        limit,
    )
    return [dict(row) for row in rows]


async def subscriber(
    conn: asyncpg.Connection | asyncpg.Pool, page_id: int, subscriber_id: int
) -> dict[str, Any] | None:
    if not 0 < subscriber_id <= INT64_MAX:
        return None
    row = await conn.fetchrow(
        "SELECT * FROM status_subscribers WHERE page_id = $1 AND id = $2",
        page_id,
        subscriber_id,
    )
    return dict(row) if row is not None else None


async def subscriber_by_stream(
    conn: asyncpg.Connection | asyncpg.Pool, stream_id: Any
) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM status_subscribers WHERE stream_id = $1", stream_id)
    return dict(row) if row is not None else None
