"""A read model of one row per resource with the aggregate's settings as one jsonb document.

Services and support hours are kept alike: ids are the positions of the creating events;
deleted rows stay, flagged, so ids never recur; ``settings->'teams'`` holds the team ids
that ``team_scope`` scopes reads by. ``SettingsTable`` is that table's DDL, its handler
for the ``<kind>-created``, ``-updated`` and ``-deleted`` events, and its queries, so each
resource's projection module only names its table and kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .team_scope import array_of_json, scope_sql

INT64_MAX = 2**63 - 1

Db = asyncpg.Connection | asyncpg.Pool

#: A row's teams as ``bigint[]`` (alias ``r``).
TEAMS_SQL = array_of_json("r.settings->'teams'")

#: Event data that is the event's, not the resource's settings.
_NOT_SETTINGS = {"timestamp", "originator_topic"}


def _settings(data: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in data.items() if k not in _NOT_SETTINGS}).decode()


def _ids(ids: Sequence[int]) -> list[int]:
    return [i for i in set(ids) if 0 < i <= INT64_MAX]


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


class SettingsTable:
    """The table ``table`` of the resources whose events are ``<kind>-created`` etc."""

    def __init__(self, table: str, kind: str) -> None:
        self.table = table
        self.created, self.updated = f"{kind}-created", f"{kind}-updated"
        self.event_types = frozenset({self.created, self.updated, f"{kind}-deleted"})
        self.ddl = f"""
            CREATE TABLE IF NOT EXISTS {table} (
                id         bigint      PRIMARY KEY,
                stream_id  uuid        NOT NULL UNIQUE,
                settings   jsonb       NOT NULL,
                deleted    boolean     NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS {table}_name ON {table} ((settings->>'name'))
                WHERE NOT deleted;
        """

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """The row as ``event`` (one of ``event_types``) leaves it."""
        if event.type == self.created:
            await conn.execute(
                f"INSERT INTO {self.table} VALUES ($1, $2, $3, false, $4, $4)",
                event.position,
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        elif event.type == self.updated:
            await conn.execute(
                f"UPDATE {self.table} SET settings = $2, updated_at = $3 WHERE stream_id = $1",
                event.stream_id,
                _settings(event.data),
                event.recorded_at,
            )
        else:
            await conn.execute(
                f"UPDATE {self.table} SET deleted = true, updated_at = $2 WHERE stream_id = $1",
                event.stream_id,
                event.recorded_at,
            )

    async def by_id(self, conn: Db, ident: int) -> dict[str, Any] | None:
        """The live row of that id, or None."""
        if not 0 < ident <= INT64_MAX:
            return None
        return decoded(
            await conn.fetchrow(f"SELECT * FROM {self.table} WHERE id = $1 AND NOT deleted", ident)
        )

    async def by_name(self, conn: Db, name: str, viewer: int | None) -> dict[str, Any] | None:
        """The oldest live row of that name ``viewer`` may see (None: an ADMIN, all)."""
        return decoded(
            await conn.fetchrow(
                f"SELECT * FROM {self.table} r WHERE NOT deleted AND settings->>'name' = $1 "
                f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
                name,
                viewer,
            )
        )

    async def page(
        self,
        conn: Db,
        start: int,
        limit: int,
        *,
        viewer: int | None = None,
        only: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        """One page of live rows, oldest first: those ``viewer`` may see (None: all) of
        the teams ``only`` (None: any), as ``team_scope.scope_sql``."""
        rows = await conn.fetch(
            f"SELECT * FROM {self.table} r WHERE NOT deleted "
            f"AND {scope_sql(TEAMS_SQL, '$3', '$4')} ORDER BY id OFFSET $1 LIMIT $2",
            start,
            limit,
            viewer,
            only,
        )
        return [decoded(row) for row in rows]  # type: ignore[misc]

    async def live_ids(self, conn: Db, ids: Sequence[int]) -> set[int]:
        """Those of ``ids`` that name live rows (for the references other resources hold)."""
        rows = await conn.fetch(
            f"SELECT id FROM {self.table} WHERE id = ANY($1::bigint[]) AND NOT deleted",
            _ids(ids),
        )
        return {row["id"] for row in rows}

    async def visible_names(
        self, conn: Db, viewer: int | None, ids: Sequence[int] | None = None
    ) -> dict[int, str]:
        """The names of the live rows ``viewer`` may see (None: an ADMIN, all), of ``ids``
        if given, by id in id order."""
        rows = await conn.fetch(
            f"SELECT id, settings->>'name' AS name FROM {self.table} r WHERE NOT deleted "
            "AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id",
            None if ids is None else _ids(ids),
            viewer,
        )
        return {row["id"]: row["name"] for row in rows}

    async def teams_of(self, conn: Db, ident: int) -> list[int] | None:
        """The teams of a live row; None when there is none of that id."""
        if not 0 < ident <= INT64_MAX:
            return None
        teams = await conn.fetchval(
            f"SELECT {TEAMS_SQL} FROM {self.table} r WHERE id = $1 AND NOT deleted", ident
        )
        return None if teams is None else list(teams)
