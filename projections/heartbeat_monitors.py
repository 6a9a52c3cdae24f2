"""Heartbeat monitors, for /api/heartbeat-monitors and for finding one by its ping key.

A monitor's API id is the position of its ``heartbeat-monitor-created`` event. The row
holds what the events say: the last *recorded* ping and whether an overdue period is
open. Pings between those events are written to ``heartbeat_pings`` (one row per
monitor, the newest ping time) by the ping route, not by this projection: that table is
the pings' own record, not a read model of events, so a rebuild keeps it (it is not in
``tables``). The API's ``state`` comes from both (``domain.heartbeat_monitor.state_at``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from eventstore import RecordedEvent

from .base import Projection
from .team_scope import scope_sql

NAME = "heartbeat_monitors"
INT64_MAX = 2**63 - 1
MAX_KEY_LENGTH = 256
#: A monitor and its newest ping, as every query here answers it.
_SELECT = """
    SELECT m.*, p.last_ping_at AS pinged_at FROM heartbeat_monitors m
    LEFT JOIN heartbeat_pings p ON p.stream_id = m.stream_id
"""


class HeartbeatMonitorsProjection(Projection):
    name = NAME
    tables = ("heartbeat_monitors",)
    event_types = frozenset(
        {
            "heartbeat-monitor-created",
            "heartbeat-monitor-updated",
            "heartbeat-monitor-pinged",
            "heartbeat-monitor-went-overdue",
            "heartbeat-monitor-deleted",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS heartbeat_monitors (
                id               bigint      PRIMARY KEY,
                stream_id        uuid        NOT NULL UNIQUE,
                name             text        NOT NULL,
                interval_s       integer     NOT NULL,
                alert_summary    text        NOT NULL,
                alert_source_id  bigint,
                teams            bigint[]    NOT NULL DEFAULT '{}',
                integration_key  text,
                legacy_source_id bigint,
                last_ping_at     timestamptz,
                overdue          boolean     NOT NULL DEFAULT false,
                deleted          boolean     NOT NULL DEFAULT false,
                created_at       timestamptz NOT NULL,
                updated_at       timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_monitors_key
                ON heartbeat_monitors (integration_key);
            CREATE INDEX IF NOT EXISTS heartbeat_monitors_legacy
                ON heartbeat_monitors (legacy_source_id);
            CREATE TABLE IF NOT EXISTS heartbeat_pings (
                stream_id    uuid        PRIMARY KEY,
                last_ping_at timestamptz NOT NULL
            );
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data, at = event.data, event.recorded_at
        if event.type == "heartbeat-monitor-created":
            await conn.execute(
                """
                INSERT INTO heartbeat_monitors (id, stream_id, name, interval_s, alert_summary,
                    alert_source_id, teams, integration_key, legacy_source_id, created_at,
                    updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                """,
                event.position,
                event.stream_id,
                data["name"],
                data["interval_s"],
                data["alert_summary"],
                data["alert_source_id"],
                data["teams"],
                data["integration_key"],
                data["legacy_source_id"],
                at,
            )
        elif event.type == "heartbeat-monitor-updated":
            key = data.get("integration_key")
            await conn.execute(
                """
                UPDATE heartbeat_monitors SET name = $2, interval_s = $3, alert_summary = $4,
                    alert_source_id = $5, teams = $6, updated_at = $7,
                    integration_key = coalesce($8, integration_key),
                    last_ping_at = CASE WHEN $8::text IS NULL THEN last_ping_at END,
                    overdue = CASE WHEN $8::text IS NULL THEN overdue ELSE false END
                WHERE stream_id = $1
                """,
                event.stream_id,
                data["name"],
                data["interval_s"],
                data["alert_summary"],
                data["alert_source_id"],
                data["teams"],
                at,
                key,
            )
            if key is not None:  # the old key's pings no longer count
                await conn.execute(
                    "DELETE FROM heartbeat_pings WHERE stream_id = $1", event.stream_id
                )
        elif event.type == "heartbeat-monitor-pinged":
            await conn.execute(
                "UPDATE heartbeat_monitors SET last_ping_at = $2, overdue = false "
                "WHERE stream_id = $1",
                event.stream_id,
                datetime.fromisoformat(data["at"]),
            )
        elif event.type == "heartbeat-monitor-went-overdue":
            await conn.execute(
                "UPDATE heartbeat_monitors SET overdue = true WHERE stream_id = $1",
                event.stream_id,
            )
        elif event.type == "heartbeat-monitor-deleted":
            await conn.execute(
                "UPDATE heartbeat_monitors SET deleted = true, updated_at = $2 "
                "WHERE stream_id = $1",
                event.stream_id,
                at,
            )


Db = asyncpg.Connection | asyncpg.Pool


async def monitor_by_key(conn: Db, key: str) -> asyncpg.Record | None:
    """The live monitor this ping key belongs to; None for what cannot be a key."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return None
    return await conn.fetchrow(_SELECT + " WHERE m.integration_key = $1 AND NOT m.deleted", key)


async def monitor_of_legacy_source(conn: Db, source_id: int) -> asyncpg.Record | None:
    """What a HEARTBEAT source's own key pings: the oldest monitor that opens its alerts
    on that source (the source made for a monitor pings the monitor), else the source's
    implicit monitor, if it has one yet."""
    return await conn.fetchrow(
        _SELECT + " WHERE (m.legacy_source_id = $1 OR m.alert_source_id = $1) AND NOT m.deleted"
        " ORDER BY m.legacy_source_id IS NOT NULL, m.id LIMIT 1",
        source_id,
    )


async def monitor_by_id(conn: Db, monitor_id: int) -> asyncpg.Record | None:
    """A live monitor (not a legacy source's implicit one) by API id."""
    if not 0 < monitor_id <= INT64_MAX:
        return None
    return await conn.fetchrow(
        _SELECT + " WHERE m.id = $1 AND NOT m.deleted AND m.legacy_source_id IS NULL",
        monitor_id,
    )


async def monitor_by_name(conn: Db, name: str, viewer: int | None) -> asyncpg.Record | None:
    """The oldest live monitor of that name ``viewer`` may see (None: any)."""
    return await conn.fetchrow(
        _SELECT + " WHERE m.name = $1 AND NOT m.deleted AND m.legacy_source_id IS NULL "
        f"AND {scope_sql('m.teams', '$2', '$3')} ORDER BY m.id LIMIT 1",
        name,
        viewer,
        None,
    )


async def list_monitors(
    conn: Db, start: int, limit: int, *, viewer: int | None, only: list[int] | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        _SELECT + " WHERE NOT m.deleted AND m.legacy_source_id IS NULL "
        f"AND {scope_sql('m.teams', '$3', '$4')} ORDER BY m.id OFFSET $1 LIMIT $2",
        start,
        limit,
        viewer,
        only,
    )


async def teams_of(conn: Db, monitor_id: int) -> list[int] | None:
    row = await monitor_by_id(conn, monitor_id)
    return None if row is None else list(row["teams"])


async def record_ping(conn: Db, stream_id: Any, at: datetime) -> None:
    """A ping's time: the newest wins (pings may be handled out of order)."""
    await conn.execute(
        "INSERT INTO heartbeat_pings VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE "
        "SET last_ping_at = greatest(heartbeat_pings.last_ping_at, $2)",
        stream_id,
        at,
    )


async def latest_ping(conn: Db, stream_id: Any) -> datetime | None:
    return await conn.fetchval(
        "SELECT last_ping_at FROM heartbeat_pings WHERE stream_id = $1", stream_id
    )
