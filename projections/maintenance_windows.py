"""Maintenance windows, for /api/maintenance-windows, the ingest path's check and the
services' derived status; and the events windows suppressed.

``maintenance_windows`` holds one jsonb settings row per window (as ``outbound_config``):
``start`` and ``end`` are columns too (``starts_at``, ``ends_at``) so the checks "active
now" and "overlaps a range" are plain comparisons. Ids are the positions of the creating
events; deleted rows stay, flagged. Every change notifies ``read-model:maintenance_windows``
in its transaction, so every instance's cache of active windows drops its rows at once.

The suppressed events have a read model of their own (``maintenance_suppressions``): they
arrive in storms while a window is active, and a change of the windows' read model empties
the ingest path's cache; counting them there would empty it on every suppressed event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from eventstore.notifier import READ_MODEL_PREFIX
from eventstore.writer import NOTIFY_CHANNEL

from .base import Projection

INT64_MAX = 2**63 - 1
NAME = "maintenance_windows"
CHANGED_PAYLOAD = READ_MODEL_PREFIX + NAME

DDL = """
CREATE TABLE IF NOT EXISTS maintenance_windows (
    id         bigint      PRIMARY KEY,
    stream_id  uuid        NOT NULL UNIQUE,
    settings   jsonb       NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS maintenance_windows_ends_at ON maintenance_windows (ends_at)
    WHERE NOT deleted;
"""

SUPPRESSIONS_DDL = """
CREATE TABLE IF NOT EXISTS maintenance_suppressions (
    id          bigint      PRIMARY KEY,
    window_id   bigint      NOT NULL,
    source_id   bigint      NOT NULL,
    alert_key   text,
    summary     text        NOT NULL,
    via         text        NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS maintenance_suppressions_window
    ON maintenance_suppressions (window_id, id);
"""

_NOT_SETTINGS = {"timestamp", "originator_topic", "start", "end"}


def _settings(data: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in data.items() if k not in _NOT_SETTINGS}).decode()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


#: Told after a batch of window changes committed (the ingest path's cache drops its rows).
Listener = Callable[[], Awaitable[None]]


class MaintenanceWindowsProjection(Projection):
    name = NAME
    version = 1
    tables = ("maintenance_windows",)
    event_types = frozenset(
        {"maintenance-window-created", "maintenance-window-updated", "maintenance-window-deleted"}
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
        data = event.data
        if event.type == "maintenance-window-created":
            await conn.execute(
                "INSERT INTO maintenance_windows VALUES ($1, $2, $3, $4, $5, false, $6, $6)",
                event.position,
                event.stream_id,
                _settings(data),
                _instant(data["start"]),
                _instant(data["end"]),
                event.recorded_at,
            )
        elif event.type == "maintenance-window-updated":
            # created_by is the creation's alone: kept from the row
            await conn.execute(
                "UPDATE maintenance_windows SET settings = $2::jsonb || jsonb_build_object("
                "'created_by', settings->'created_by'), starts_at = $3, ends_at = $4, "
                "updated_at = $5 WHERE stream_id = $1",
                event.stream_id,
                _settings(data),
                _instant(data["start"]),
                _instant(data["end"]),
                event.recorded_at,
            )
        else:
            await conn.execute(
                "UPDATE maintenance_windows SET deleted = true, updated_at = $2 "
                "WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )


class MaintenanceSuppressionsProjection(Projection):
    name = "maintenance_suppressions"
    version = 1
    tables = ("maintenance_suppressions",)
    event_types = frozenset({"maintenance-suppression-recorded"})

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(SUPPRESSIONS_DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.handle_batch(conn, [event])

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """A storm of suppressed events is one statement per batch."""
        await conn.executemany(
            "INSERT INTO maintenance_suppressions VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (id) DO NOTHING",
            [
                (
                    e.position,
                    e.data["window_id"],
                    e.data["source_id"],
                    e.data.get("alert_key"),
                    e.data["summary"],
                    e.data["via"],
                    e.recorded_at,
                )
                for e in events
            ],
        )


# -- queries ---------------------------------------------------------------------------


def decoded(row: asyncpg.Record | None) -> dict[str, Any] | None:
    """A row with its settings document decoded (asyncpg hands jsonb over as text)."""
    if row is None:
        return None
    values = dict(row)
    values["settings"] = orjson.loads(values["settings"])
    return values


_SELECT = (
    "SELECT w.*, (SELECT count(*) FROM maintenance_suppressions s WHERE s.window_id = w.id) "
    "AS suppressed FROM maintenance_windows w"
)


async def window_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, window_id: int
) -> dict[str, Any] | None:
    if not 0 < window_id <= INT64_MAX:
        return None
    return decoded(await conn.fetchrow(f"{_SELECT} WHERE w.id = $1 AND NOT w.deleted", window_id))


async def list_windows(
    conn: asyncpg.Connection | asyncpg.Pool,
    start: int,
    limit: int,
    *,
    now: datetime,
    state: str | None = None,
    services: list[int] | None = None,
    sources: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """One page of live windows by start, then id: OPEN ones end after ``now``, CLOSED ones
    ended; ``services`` / ``sources``: listing one of them; ``since``/``until``: windows that
    overlap ``[since, until)``."""
    rows = await conn.fetch(
        f"""{_SELECT}
        WHERE NOT w.deleted
          AND ($3::text IS NULL OR ($3 = 'OPEN') = (w.ends_at > $4))
          AND ($5::bigint[] IS NULL OR EXISTS (
                SELECT 1 FROM jsonb_array_elements_text(w.settings->'services') x
                WHERE x::bigint = ANY($5)))
          AND ($6::bigint[] IS NULL OR EXISTS (
                SELECT 1 FROM jsonb_array_elements_text(w.settings->'alert_sources') x
                WHERE x::bigint = ANY($6)))
          AND ($7::timestamptz IS NULL OR w.ends_at > $7)
          AND ($8::timestamptz IS NULL OR w.starts_at < $8)
        ORDER BY w.starts_at, w.id OFFSET $1 LIMIT $2""",
        start,
        limit,
        state,
        now,
        services,
        sources,
        since,
        until,
    )
    return [decoded(row) for row in rows]  # type: ignore[misc]


async def suppressions_of(
    conn: asyncpg.Connection | asyncpg.Pool, window_id: int, start: int, limit: int
) -> list[asyncpg.Record]:
    """One page of the events the window suppressed, newest first."""
    return await conn.fetch(
        "SELECT * FROM maintenance_suppressions WHERE window_id = $1 "
        "ORDER BY id DESC OFFSET $2 LIMIT $3",
        window_id,
        start,
        limit,
    )


async def windows_of_source(
    conn: asyncpg.Connection | asyncpg.Pool, source_id: int, now: datetime
) -> list[asyncpg.Record]:
    """The live windows listing the source that have not ended by ``now`` (the ingest
    path's cache keeps these and checks ``start <= now`` itself as time passes)."""
    return await conn.fetch(
        "SELECT id, settings->>'summary' AS summary, starts_at, ends_at "
        "FROM maintenance_windows WHERE NOT deleted AND ends_at > $2 "
        "AND settings->'alert_sources' @> to_jsonb($1::bigint)",
        source_id,
        now,
    )


async def sources_in_maintenance(
    conn: asyncpg.Connection | asyncpg.Pool, source_ids: list[int], now: datetime
) -> set[int]:
    """Which of the sources an active window lists (their ``status`` IN_MAINTENANCE)."""
    if not source_ids:
        return set()
    rows = await conn.fetch(
        "SELECT DISTINCT x::bigint AS id FROM maintenance_windows w, "
        "jsonb_array_elements_text(w.settings->'alert_sources') x WHERE NOT w.deleted "
        "AND w.starts_at <= $2 AND w.ends_at > $2 AND x::bigint = ANY($1::bigint[])",
        source_ids,
        now,
    )
    return {row["id"] for row in rows}


async def windows_of_services(
    conn: asyncpg.Connection | asyncpg.Pool, service_ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    """The live windows not ended by ``now`` that list one of the services, by start: what
    a status page shows as ongoing and upcoming maintenance."""
    if not service_ids:
        return []
    rows = await conn.fetch(
        "SELECT w.*, 0 AS suppressed FROM maintenance_windows w WHERE NOT w.deleted "
        "AND w.ends_at > $2 AND EXISTS (SELECT 1 FROM "
        "jsonb_array_elements_text(w.settings->'services') x WHERE x::bigint = ANY($1::bigint[])) "
        "ORDER BY w.starts_at, w.id",
        service_ids,
        now,
    )
    return [decoded(row) for row in rows]  # type: ignore[misc]


#: ``service_status``'s sources: services in an active window (``$2``: now) are
#: UNDER_MAINTENANCE; ``$1`` the services asked about.
CURRENT_SQL = """
SELECT x::bigint AS service_id, 'UNDER_MAINTENANCE' AS status
FROM maintenance_windows w, jsonb_array_elements_text(w.settings->'services') x
WHERE NOT w.deleted AND w.starts_at <= $2 AND w.ends_at > $2 AND x::bigint = ANY($1::bigint[])
"""
#: The same as intervals overlapping ``[$2, $3)``: (service_id, status, since, until),
#: unclipped (``domain.service.timeline`` clips).
INTERVALS_SQL = """
SELECT x::bigint AS service_id, 'UNDER_MAINTENANCE' AS status,
       w.starts_at AS since, w.ends_at AS until
FROM maintenance_windows w, jsonb_array_elements_text(w.settings->'services') x
WHERE NOT w.deleted AND w.starts_at < $3 AND w.ends_at > $2 AND x::bigint = ANY($1::bigint[])
"""
