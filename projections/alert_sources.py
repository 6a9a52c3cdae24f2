"""Alert sources, for /api/alert-sources and for finding a source by its integration key.

A source's integer API id is the global position of its ``alert-source-created`` event
(as for users). Deleted sources keep their row, flagged, so ids are never reused and the
history of alerts still names them; every query here skips them.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from eventstore.notifier import READ_MODEL_PREFIX
from eventstore.writer import NOTIFY_CHANNEL
from ilertd.domain.durations import format_duration
from ilertd.domain.wire_time import wire_time

from .base import Projection
from .team_scope import scope_sql, teams_json

CHANGED_PAYLOAD = READ_MODEL_PREFIX + "alert_sources"

INT64_MAX = 2**63 - 1
#: Generated keys are 40 characters; longer lookups are answered without a query.
MAX_KEY_LENGTH = 256

#: Columns an ``alert-source-created`` or ``-updated`` event sets, all under their own names.
SETTINGS = (
    "name",
    "integration_type",
    "escalation_policy_id",
    "alert_creation",
    "alert_grouping_window_s",
    "alert_priority_rule",
    "auto_resolution_timeout_s",
    "active",
)
#: The support hours' id: absent from events recorded before support hours.
SUPPORT_HOURS = "support_hours_id"
#: The teams' ids: absent from events recorded before resources had teams.
TEAMS = "teams"


class AlertSourcesProjection(Projection):
    name = "alert_sources"
    version = 4  # 2: teams; 3: support hours or templates; 4: both
    tables = ("alert_sources",)
    event_types = frozenset(
        {
            "alert-source-created",
            "alert-source-updated",
            "alert-source-key-regenerated",
            "alert-source-deleted",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS alert_sources (
                id                        bigint      PRIMARY KEY,
                stream_id                 uuid        NOT NULL UNIQUE,
                name                      text        NOT NULL,
                integration_type          text        NOT NULL,
                integration_key           text        NOT NULL,
                escalation_policy_id      bigint,
                alert_creation            text        NOT NULL,
                alert_grouping_window_s   integer,
                alert_priority_rule       text        NOT NULL,
                auto_resolution_timeout_s integer,
                active                    boolean     NOT NULL,
                teams                     bigint[]    NOT NULL DEFAULT '{}',
                support_hours_id          bigint,
                deleted                   boolean     NOT NULL DEFAULT false,
                created_at                timestamptz NOT NULL,
                updated_at                timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS alert_sources_integration_key
                ON alert_sources (integration_key);
            ALTER TABLE alert_sources
                ADD COLUMN IF NOT EXISTS templates jsonb NOT NULL DEFAULT '{}';
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        # every instance's cache of sources drops its rows when this commits (the Events
        # API reads sources through that cache and does not wait for the read models)
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, CHANGED_PAYLOAD)
        data = event.data
        if event.type == "alert-source-created":
            await conn.execute(
                """
                INSERT INTO alert_sources (id, stream_id, integration_key, name, integration_type,
                    escalation_policy_id, alert_creation, alert_grouping_window_s,
                    alert_priority_rule, auto_resolution_timeout_s, active, created_at, updated_at,
                    teams, support_hours_id, templates)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14,
                    $15::jsonb)
                """,
                event.position,
                event.stream_id,
                data["integration_key"],
                *(data.get(column) for column in SETTINGS),
                event.recorded_at,
                data.get(TEAMS) or [],
                data.get(SUPPORT_HOURS),
                _templates_text(data),
            )
        elif event.type == "alert-source-updated":
            await conn.execute(
                """
                UPDATE alert_sources SET name = $2, integration_type = $3,
                    escalation_policy_id = $4, alert_creation = $5, alert_grouping_window_s = $6,
                    alert_priority_rule = $7, auto_resolution_timeout_s = $8, active = $9,
                    updated_at = $10, teams = $11, support_hours_id = $12,
                    templates = $13::jsonb
                WHERE stream_id = $1
                """,
                event.stream_id,
                *(data.get(column) for column in SETTINGS),
                event.recorded_at,
                data.get(TEAMS) or [],
                data.get(SUPPORT_HOURS),
                _templates_text(data),
            )
        elif event.type == "alert-source-key-regenerated":
            await conn.execute(
                """
                UPDATE alert_sources SET integration_key = $2, updated_at = $3
                WHERE stream_id = $1
                """,
                event.stream_id,
                data["integration_key"],
                event.recorded_at,
            )
        elif event.type == "alert-source-deleted":
            await conn.execute(
                "UPDATE alert_sources SET deleted = true, updated_at = $2 WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )


def _templates_text(data: dict[str, Any]) -> str:
    """The event's template fields as jsonb text: none in events recorded before them."""
    return orjson.dumps(data.get("templates") or {}).decode()


def source_templates(row: asyncpg.Record) -> dict[str, Any]:
    """The source's template fields by ilert's names (``domain.source_templates``)."""
    return orjson.loads(row["templates"] or "{}")


async def source_by_key(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> asyncpg.Record | None:
    """The live source whose integration key this is (how inbound events find theirs).
    None, not an error, for what cannot be a key: too long, or a NUL PostgreSQL refuses."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return None
    return await conn.fetchrow(
        "SELECT * FROM alert_sources WHERE integration_key = $1 AND NOT deleted", key
    )


async def source_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, source_id: int
) -> asyncpg.Record | None:
    """The live source with this API id; None for ids beyond bigint rather than an error."""
    if not 0 < source_id <= INT64_MAX:
        return None
    return await conn.fetchrow(
        "SELECT * FROM alert_sources WHERE id = $1 AND NOT deleted", source_id
    )


async def list_sources(
    conn: asyncpg.Connection | asyncpg.Pool,
    start: int,
    limit: int,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[asyncpg.Record]:
    """One page of live sources, oldest first (stable across pages): those ``viewer`` may
    see (None: all) of the teams ``only`` (None: any), as ``team_scope.scope_sql``."""
    return await conn.fetch(
        f"""
        SELECT * FROM alert_sources s
        WHERE NOT deleted AND {scope_sql("s.teams", "$3", "$4")}
        ORDER BY id OFFSET $1 LIMIT $2
        """,
        start,
        limit,
        viewer,
        only,
    )


def integration_path(integration_type: str, key: str) -> str:
    """Where a source's events go, relative to the daemon's base URL.

    API sources post to the Events API (key in the body); heartbeats ping with the key in
    the path; every other type is a tool webhook, ``/api/v1/events/{tool}/{key}`` as ilert.
    """
    if integration_type == "API":
        return "/api/events"
    if integration_type.startswith("HEARTBEAT"):
        return f"/api/heartbeats/{key}"
    return f"/api/v1/events/{integration_type.lower()}/{key}"


_iso = wire_time


def _duration(seconds: int | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def source_json(row: asyncpg.Record, teams: dict[int, str] | None = None) -> dict[str, Any]:
    """The API representation. ``integrationUrl`` is a path here: only an HTTP handler knows
    the base URL the caller used, and prefixes it. ``teams``: the names of the row's teams
    (``team_scope.team_names``)."""
    policy = row["escalation_policy_id"]
    hours = row["support_hours_id"]
    return {
        "id": row["id"],
        "name": row["name"],
        "integrationType": row["integration_type"],
        "integrationKey": row["integration_key"],
        "integrationUrl": integration_path(row["integration_type"], row["integration_key"]),
        "escalationPolicy": None if policy is None else {"id": policy},
        "alertCreation": row["alert_creation"],
        "alertGroupingWindow": _duration(row["alert_grouping_window_s"]),
        "alertPriorityRule": row["alert_priority_rule"],
        "autoResolutionTimeout": _duration(row["auto_resolution_timeout_s"]),
        "active": row["active"],
        "status": "ALL_RESOLVED" if row["active"] else "DISABLED",
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "teams": teams_json(row["teams"], teams or {}),
        "supportHours": None if hours is None else {"id": hours},
    }


async def sources_using_support_hours(
    conn: asyncpg.Connection | asyncpg.Pool, support_hours_id: int
) -> list[int]:
    """The live sources that name these support hours, by id (what blocks their DELETE)."""
    rows = await conn.fetch(
        "SELECT id FROM alert_sources WHERE support_hours_id = $1 AND NOT deleted ORDER BY id",
        support_hours_id,
    )
    return [row["id"] for row in rows]
