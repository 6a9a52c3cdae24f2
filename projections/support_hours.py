"""Support hours, for /api/support-hours and for the priority rule new alerts ask.

One row per support hours with their settings as one jsonb document (the aggregate's own:
``name, timezone, support_days, exceptions, teams``), as ``services`` keeps its rows. Ids
are the positions of the creating events; deleted rows stay, flagged, so ids never recur.
Every change notifies ``read-model:support_hours`` (other instances drop their cached
calendars) and, once a batch committed, tells the listener (this instance's cache).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from eventstore.notifier import READ_MODEL_PREFIX
from eventstore.writer import NOTIFY_CHANNEL

from .base import Projection
from .team_scope import array_of_json, scope_sql

NAME = "support_hours"
CHANGED_PAYLOAD = READ_MODEL_PREFIX + NAME
INT64_MAX = 2**63 - 1

DDL = """
CREATE TABLE IF NOT EXISTS support_hours (
    id         bigint      PRIMARY KEY,
    stream_id  uuid        NOT NULL UNIQUE,
    settings   jsonb       NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS support_hours_name ON support_hours ((settings->>'name'))
    WHERE NOT deleted;
"""

_NOT_SETTINGS = {"timestamp", "originator_topic"}

#: Told after a batch of changes committed (the priority rule's cache drops its entries).
Listener = Callable[[], Awaitable[None]]


def _settings(data: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in data.items() if k not in _NOT_SETTINGS}).decode()


class SupportHoursProjection(Projection):
    name = NAME
    version = 1
    tables = ("support_hours",)
    event_types = frozenset(
        {"support-hours-created", "support-hours-updated", "support-hours-deleted"}
    )

    def __init__(self, listener: Listener | None = None) -> None:
        self.listener = listener

    async def batch_committed(self) -> None:
        # before the runner's position moves on: a write's answer finds the cache emptied
        if self.listener is not None:
            await self.listener()

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, CHANGED_PAYLOAD)
        if event.type == "support-hours-created":
            await conn.execute(
                "INSERT INTO support_hours VALUES ($1, $2, $3, false, $4, $4)",
                event.position,
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        elif event.type == "support-hours-updated":
            await conn.execute(
                "UPDATE support_hours SET settings = $2, updated_at = $3 WHERE stream_id = $1",
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        else:
            await conn.execute(
                "UPDATE support_hours SET deleted = true, updated_at = $2 WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )


# --- queries ------------------------------------------------------------------------------

Db = asyncpg.Connection | asyncpg.Pool

#: A row's teams as ``bigint[]`` (alias ``r``).
TEAMS_SQL = array_of_json("r.settings->'teams'")


def decoded(row: asyncpg.Record | None) -> dict[str, Any] | None:
    """A row with its settings document decoded (asyncpg hands jsonb over as text)."""
    if row is None:
        return None
    values = dict(row)
    values["settings"] = orjson.loads(values["settings"])
    return values


def row_teams(row: dict[str, Any]) -> list[int]:
    """The team ids of a ``decoded`` row."""
    return [int(team) for team in row["settings"].get("teams", ())]


async def support_hours_by_id(conn: Db, ident: int) -> dict[str, Any] | None:
    """The live support hours of that id, or None."""
    if not 0 < ident <= INT64_MAX:
        return None
    return decoded(
        await conn.fetchrow("SELECT * FROM support_hours WHERE id = $1 AND NOT deleted", ident)
    )


async def support_hours_by_name(conn: Db, name: str, viewer: int | None) -> dict[str, Any] | None:
    """The oldest live support hours of that name ``viewer`` may see (None: all)."""
    return decoded(
        await conn.fetchrow(
            "SELECT * FROM support_hours r WHERE NOT deleted AND settings->>'name' = $1 "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
            name,
            viewer,
        )
    )


async def list_support_hours(
    conn: Db,
    start: int,
    limit: int,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[dict[str, Any]]:
    """One page of live support hours, oldest first: those ``viewer`` may see (None: all)
    of the teams ``only`` (None: any), as ``team_scope.scope_sql``."""
    rows = await conn.fetch(
        f"SELECT * FROM support_hours r WHERE NOT deleted AND {scope_sql(TEAMS_SQL, '$3', '$4')} "
        "ORDER BY id OFFSET $1 LIMIT $2",
        start,
        limit,
        viewer,
        only,
    )
    return [decoded(row) for row in rows]  # type: ignore[misc]


async def teams_of(conn: Db, ident: int) -> list[int] | None:
    """The teams of live support hours; None when there are none of that id."""
    if not 0 < ident <= INT64_MAX:
        return None
    teams = await conn.fetchval(
        f"SELECT {TEAMS_SQL} FROM support_hours r WHERE id = $1 AND NOT deleted", ident
    )
    return None if teams is None else list(teams)
