"""Connectors and alert actions, for their API and for the dispatcher that sends with them.

Settings are kept as one jsonb document per row (the aggregate's own settings, as recorded):
these are small tables read by id, so columns per field would only add mapping code. Ids
are the positions of the creating events; deleted rows stay, flagged, so ids never recur.
Connector credentials are stored here too (the dispatcher needs them); only the HTTP layer's
presenters decide what is shown. Their ``params`` and the signing secret are kept as the
events hold them, sealed (ilertd.sealing): ``decoded`` opens them, the one way rows leave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection
from .team_scope import array_of_json, scope_sql

if TYPE_CHECKING:
    from ilertd.sealing import Sealer

INT64_MAX = 2**63 - 1

DDL = """
CREATE TABLE IF NOT EXISTS connectors (
    id         bigint      PRIMARY KEY,
    stream_id  uuid        NOT NULL UNIQUE,
    settings   jsonb       NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_actions (
    id             bigint      PRIMARY KEY,
    stream_id      uuid        NOT NULL UNIQUE,
    settings       jsonb       NOT NULL,
    signing_secret text        NOT NULL,
    deleted        boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
"""

#: event type -> (table, what it does)
_EVENTS = {
    "connector-created": ("connectors", "created"),
    "connector-updated": ("connectors", "updated"),
    "connector-deleted": ("connectors", "deleted"),
    "alert-action-created": ("alert_actions", "created"),
    "alert-action-updated": ("alert_actions", "updated"),
    "alert-action-deleted": ("alert_actions", "deleted"),
}
_NOT_SETTINGS = {"timestamp", "originator_topic", "signing_secret"}


def _settings(data: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in data.items() if k not in _NOT_SETTINGS}).decode()


class OutboundConfigProjection(Projection):
    name = "outbound_config"
    version = 1
    tables = ("connectors", "alert_actions")
    event_types = frozenset(_EVENTS)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        table, change = _EVENTS[event.type]
        data = event.data
        if change == "created" and table == "connectors":
            await conn.execute(
                "INSERT INTO connectors VALUES ($1, $2, $3, false, $4, $4)",
                event.position,
                event.stream_id,
                _settings(data),
                event.recorded_at,
            )
        elif change == "created":
            await conn.execute(
                "INSERT INTO alert_actions VALUES ($1, $2, $3, $4, false, $5, $5)",
                event.position,
                event.stream_id,
                _settings(data),
                data["signing_secret"],
                event.recorded_at,
            )
        elif change == "updated":
            await conn.execute(
                f"UPDATE {table} SET settings = $2, updated_at = $3 WHERE stream_id = $1",
                event.stream_id,
                _settings(data),
                event.recorded_at,
            )
        else:
            await conn.execute(
                f"UPDATE {table} SET deleted = true, updated_at = $2 WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )


def decoded(row: asyncpg.Record | None, sealer: Sealer) -> dict[str, Any] | None:
    """A row with its settings document decoded (asyncpg hands jsonb over as text) and its
    secrets unsealed."""
    if row is None:
        return None
    values = dict(row)
    settings = values["settings"] = orjson.loads(values["settings"])
    kind = "alert action" if "signing_secret" in values else "connector"
    settings["params"] = sealer.unseal(settings["params"], f"{kind} {values['id']} params")
    if "signing_secret" in values:
        where = f"alert action {values['id']} signing secret"
        values["signing_secret"] = sealer.unseal(values["signing_secret"], where)
    return values


async def connector_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, connector_id: int, sealer: Sealer
) -> dict[str, Any] | None:
    if not 0 < connector_id <= INT64_MAX:
        return None
    return decoded(
        await conn.fetchrow("SELECT * FROM connectors WHERE id = $1 AND NOT deleted", connector_id),
        sealer,
    )


async def action_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, action_id: int, sealer: Sealer
) -> dict[str, Any] | None:
    if not 0 < action_id <= INT64_MAX:
        return None
    return decoded(
        await conn.fetchrow("SELECT * FROM alert_actions WHERE id = $1 AND NOT deleted", action_id),
        sealer,
    )


#: A row's teams (in its settings; none in events recorded before teams) as ``bigint[]``.
TEAMS_SQL = array_of_json("COALESCE(r.settings->'teams', '[]'::jsonb)")


def row_teams(row: dict[str, Any]) -> list[int]:
    """The team ids of a ``decoded`` row."""
    return [int(team) for team in row["settings"].get("teams", ())]


async def list_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    table: str,
    start: int,
    limit: int,
    sealer: Sealer,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[dict[str, Any]]:
    """One page of live rows of ``connectors`` or ``alert_actions``, oldest first: those
    ``viewer`` may see (None: all) of the teams ``only`` (None: any), as
    ``team_scope.scope_sql``."""
    assert table in ("connectors", "alert_actions")
    rows = await conn.fetch(
        f"SELECT * FROM {table} r WHERE NOT deleted AND {scope_sql(TEAMS_SQL, '$3', '$4')} "
        "ORDER BY id OFFSET $1 LIMIT $2",
        start,
        limit,
        viewer,
        only,
    )
    return [decoded(row, sealer) for row in rows]  # type: ignore[misc]


async def actions_for_source(
    conn: asyncpg.Connection | asyncpg.Pool, source_id: int, trigger_mode: str, sealer: Sealer
) -> list[dict[str, Any]]:
    """Live actions of a mode that apply to a source (an empty source list means all)."""
    rows = await conn.fetch(
        "SELECT * FROM alert_actions WHERE NOT deleted AND settings->>'trigger_mode' = $2 "
        "AND (jsonb_array_length(settings->'alert_source_ids') = 0 "
        "     OR settings->'alert_source_ids' @> to_jsonb($1::bigint)) ORDER BY id",
        source_id,
        trigger_mode,
    )
    return [decoded(row, sealer) for row in rows]  # type: ignore[misc]
