"""Schedules, for /api/schedules, /api/on-calls and whoever pages the person on call.

A schedule's integer API id is the global position of its ``schedule-created`` event (as
for users and alert sources). Its layers, static shifts and overrides are kept as the
canonical JSON the events carry (see ``ilertd.domain.schedule``); ``oncall_schedule`` turns a
row into the pure ``ilertd.oncall.Schedule`` that computes shifts. Deleted schedules keep
their row, flagged, so ids are never reused; every query here skips them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from ilertd import oncall
from ilertd.domain.schedule import DEFAULT_SHIFT_DURATION, build_oncall

from .base import Projection
from .team_scope import array_of_json, scope_sql

Db = asyncpg.Connection | asyncpg.Pool
INT64_MAX = 2**63 - 1


def _spec_args(data: dict[str, Any]) -> tuple[Any, ...]:
    """The replaceable columns, in table order, from a created or updated event."""
    return (
        data["name"],
        data["timezone"],
        data["schedule_type"],
        _json(data["layers"]),
        _json(data["shifts"]),
        _json(data["teams"]),
        # events recorded before these settings existed carry neither
        data.get("show_gaps", False),
        data.get("default_shift_duration", DEFAULT_SHIFT_DURATION),
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class SchedulesProjection(Projection):
    name = "schedules"
    #: 2: show_gaps, default_shift_duration
    version = 2
    tables = ("schedules",)
    event_types = frozenset(
        {
            "schedule-created",
            "schedule-updated",
            "schedule-override-added",
            "schedule-overrides-replaced",
            "schedule-deleted",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schedules (
                id          bigint      PRIMARY KEY,
                stream_id   uuid        NOT NULL UNIQUE,
                name        text        NOT NULL,
                timezone    text        NOT NULL,
                type        text        NOT NULL,
                layers      jsonb       NOT NULL,
                shifts      jsonb       NOT NULL,
                overrides   jsonb       NOT NULL DEFAULT '[]',
                teams       jsonb       NOT NULL,
                show_gaps   boolean     NOT NULL,
                default_shift_duration text NOT NULL,
                deleted     boolean     NOT NULL DEFAULT false,
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL
            )
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "schedule-created":
            await conn.execute(
                """
                INSERT INTO schedules (id, stream_id, name, timezone, type, layers, shifts,
                                       teams, show_gaps, default_shift_duration,
                                       created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10, $11, $11)
                """,
                event.position,
                event.stream_id,
                *_spec_args(data),
                event.recorded_at,
            )
        elif event.type == "schedule-updated":
            await conn.execute(
                """
                UPDATE schedules SET name = $2, timezone = $3, type = $4, layers = $5::jsonb,
                    shifts = $6::jsonb, teams = $7::jsonb, show_gaps = $8,
                    default_shift_duration = $9, updated_at = $10
                WHERE stream_id = $1
                """,
                event.stream_id,
                *_spec_args(data),
                event.recorded_at,
            )
        elif event.type == "schedule-override-added":
            await conn.execute(
                """
                UPDATE schedules SET overrides = overrides || jsonb_build_array($2::jsonb),
                    updated_at = $3
                WHERE stream_id = $1
                """,
                event.stream_id,
                _json(data["override"]),
                event.recorded_at,
            )
        elif event.type == "schedule-overrides-replaced":
            await conn.execute(
                "UPDATE schedules SET overrides = $2::jsonb, updated_at = $3 WHERE stream_id = $1",
                event.stream_id,
                _json(data["overrides"]),
                event.recorded_at,
            )
        elif event.type == "schedule-deleted":
            await conn.execute(
                "UPDATE schedules SET deleted = true, updated_at = $2 WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )


async def schedule_by_id(conn: Db, schedule_id: int) -> asyncpg.Record | None:
    """The live schedule with this API id; None for ids beyond bigint rather than an error."""
    if not 0 < schedule_id <= INT64_MAX:
        return None
    return await conn.fetchrow("SELECT * FROM schedules WHERE id = $1 AND NOT deleted", schedule_id)


async def schedules_by_ids(conn: Db, ids: Iterable[int]) -> list[asyncpg.Record]:
    """The live schedules among ``ids``, by id (unknown ones are left out)."""
    wanted = sorted({i for i in ids if 0 < i <= INT64_MAX})
    return await conn.fetch(
        "SELECT * FROM schedules WHERE id = ANY($1::bigint[]) AND NOT deleted ORDER BY id", wanted
    )


#: A schedules row's teams (a jsonb list of ids) as ``bigint[]``, for ``scope_sql``.
_TEAMS = array_of_json("s.teams")


async def schedule_by_name(
    conn: Db, name: str, *, viewer: int | None = None
) -> asyncpg.Record | None:
    """The oldest live schedule with exactly this name (names need not be unique) that
    ``viewer`` may see (None: any)."""
    return await conn.fetchrow(
        f"""
        SELECT * FROM schedules s WHERE name = $1 AND NOT deleted
            AND {scope_sql(_TEAMS, "$2", "NULL")}
        ORDER BY id LIMIT 1
        """,
        name,
        viewer,
    )


async def list_schedules(
    conn: Db,
    start: int,
    limit: int | None,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[asyncpg.Record]:
    """One page of live schedules, oldest first (stable across pages); None: all of them.
    Only those ``viewer`` may see (None: all) of the teams ``only`` (None: any), as
    ``team_scope.scope_sql``."""
    return await conn.fetch(
        f"""
        SELECT * FROM schedules s WHERE NOT deleted AND {scope_sql(_TEAMS, "$3", "$4")}
        ORDER BY id OFFSET $1 LIMIT $2
        """,
        start,
        limit,
        viewer,
        only,
    )


def schedule_spec(row: asyncpg.Record) -> dict[str, Any]:
    """The row's settings in the domain's canonical form (``checked_spec``)."""
    return {
        "name": row["name"],
        "timezone": row["timezone"],
        "schedule_type": row["type"],
        "layers": orjson.loads(row["layers"]),
        "shifts": orjson.loads(row["shifts"]),
        "teams": orjson.loads(row["teams"]),
        "show_gaps": row["show_gaps"],
        "default_shift_duration": row["default_shift_duration"],
    }


def schedule_overrides(row: asyncpg.Record) -> list[dict[str, Any]]:
    """The override Shifts, ``{"user": id, "start": iso, "end": iso}``, in priority order."""
    return orjson.loads(row["overrides"])


def oncall_schedule(row: asyncpg.Record) -> oncall.Schedule:
    """The pure on-call model of a schedules row, overrides included; feed it to
    ``ilertd.oncall.shifts`` or ``on_call_at``."""
    return build_oncall(schedule_spec(row), schedule_overrides(row))
