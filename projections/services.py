"""Services, for their API, the incidents that affect them and the status pages that show
them.

One row per service with its settings as one jsonb document (the aggregate's own settings:
``name, alias, description, teams, one_open_incident_only, show_uptime_history``), as
``outbound_config`` keeps connectors. Ids are the positions of the creating events; deleted
rows stay, flagged, so ids never recur. The status is not here: it is derived
(``service_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection
from .team_scope import array_of_json, scope_sql

INT64_MAX = 2**63 - 1

DDL = """
CREATE TABLE IF NOT EXISTS services (
    id         bigint      PRIMARY KEY,
    stream_id  uuid        NOT NULL UNIQUE,
    settings   jsonb       NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS services_name ON services ((settings->>'name')) WHERE NOT deleted;
"""

_NOT_SETTINGS = {"timestamp", "originator_topic"}


def _settings(data: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in data.items() if k not in _NOT_SETTINGS}).decode()


class ServicesProjection(Projection):
    name = "services"
    version = 1
    tables = ("services",)
    event_types = frozenset({"service-created", "service-updated", "service-deleted"})

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.type == "service-created":
            await conn.execute(
                "INSERT INTO services VALUES ($1, $2, $3, false, $4, $4)",
                event.position,
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        elif event.type == "service-updated":
            await conn.execute(
                "UPDATE services SET settings = $2, updated_at = $3 WHERE stream_id = $1",
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        else:
            await conn.execute(
                "UPDATE services SET deleted = true, updated_at = $2 WHERE stream_id = $1",
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


async def service_by_id(conn: Db, service_id: int) -> dict[str, Any] | None:
    """The live service of that id, or None."""
    if not 0 < service_id <= INT64_MAX:
        return None
    return decoded(
        await conn.fetchrow("SELECT * FROM services WHERE id = $1 AND NOT deleted", service_id)
    )


async def service_by_name(conn: Db, name: str, viewer: int | None) -> dict[str, Any] | None:
    """The oldest live service of that name ``viewer`` may see (None: an ADMIN, all)."""
    return decoded(
        await conn.fetchrow(
            "SELECT * FROM services r WHERE NOT deleted AND settings->>'name' = $1 "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
            name,
            viewer,
        )
    )


async def live_ids(conn: Db, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that name live services (for the references other resources hold)."""
    rows = await conn.fetch(
        "SELECT id FROM services WHERE id = ANY($1::bigint[]) AND NOT deleted",
        [i for i in set(ids) if 0 < i <= INT64_MAX],
    )
    return {row["id"] for row in rows}


async def list_services(
    conn: Db,
    start: int,
    limit: int,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[dict[str, Any]]:
    """One page of live services, oldest first: those ``viewer`` may see (None: all) of
    the teams ``only`` (None: any), as ``team_scope.scope_sql``."""
    rows = await conn.fetch(
        f"SELECT * FROM services r WHERE NOT deleted AND {scope_sql(TEAMS_SQL, '$3', '$4')} "
        "ORDER BY id OFFSET $1 LIMIT $2",
        start,
        limit,
        viewer,
        only,
    )
    return [decoded(row) for row in rows]  # type: ignore[misc]


async def visible_names(
    conn: Db, viewer: int | None, ids: Sequence[int] | None = None
) -> dict[int, str]:
    """The names of the live services ``viewer`` may see (None: an ADMIN, all), of ``ids``
    if given, by id in id order."""
    wanted = None if ids is None else [i for i in set(ids) if 0 < i <= INT64_MAX]
    rows = await conn.fetch(
        "SELECT id, settings->>'name' AS name FROM services r WHERE NOT deleted "
        "AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) "
        f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id",
        wanted,
        viewer,
    )
    return {row["id"]: row["name"] for row in rows}


async def teams_of(conn: Db, service_id: int) -> list[int] | None:
    """The teams of a live service; None when there is none of that id."""
    if not 0 < service_id <= INT64_MAX:
        return None
    teams = await conn.fetchval(
        f"SELECT {TEAMS_SQL} FROM services r WHERE id = $1 AND NOT deleted", service_id
    )
    return None if teams is None else list(teams)
