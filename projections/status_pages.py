"""Status pages, for their API and for the served page.

One row per page: its settings as the aggregate recorded them (jsonb), its groups, and the
slug and domain it is served at as columns (the served page looks them up on every
request). Ids are the positions of the creating events; deleted rows stay, flagged, so ids
never recur.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection
from .team_scope import array_of_json, scope_sql

INT64_MAX = 2**63 - 1

DDL = """
CREATE TABLE IF NOT EXISTS status_pages (
    id         bigint      PRIMARY KEY,
    stream_id  uuid        NOT NULL UNIQUE,
    settings   jsonb       NOT NULL,
    groups     jsonb       NOT NULL DEFAULT '[]',
    slug       text        NOT NULL,
    domain     text,
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS status_pages_slug ON status_pages (slug) WHERE NOT deleted;
CREATE INDEX IF NOT EXISTS status_pages_domain ON status_pages (domain) WHERE NOT deleted;
"""

_TYPES = (
    "status-page-created",
    "status-page-updated",
    "status-page-deleted",
    "status-page-group-added",
    "status-page-group-renamed",
    "status-page-group-removed",
)


def _slug(settings: dict[str, Any]) -> str:
    return str(settings["subdomain"]).split(".", 1)[0]


class StatusPagesProjection(Projection):
    name = "status_pages"
    version = 1
    tables = ("status_pages",)
    event_types = frozenset(_TYPES)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data, kind = event.data, event.type.removeprefix("status-page-")
        if kind in ("created", "updated"):
            settings = data["settings"]
            await conn.execute(
                "INSERT INTO status_pages (id, stream_id, settings, slug, domain, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (stream_id) DO "
                "UPDATE SET settings = $3, slug = $4, domain = $5, updated_at = $6",
                event.position,
                event.stream_id,
                orjson.dumps(settings).decode(),
                _slug(settings),
                settings.get("domain"),
                event.recorded_at,
            )
        elif kind == "deleted":
            await self._touch(conn, event, "deleted = true")
        elif kind == "group-added":
            group = orjson.dumps([{"id": data["group_id"], "name": data["name"]}]).decode()
            await self._touch(conn, event, "groups = groups || $3::jsonb", group)
        elif kind == "group-renamed":
            await self._touch(
                conn,
                event,
                "groups = (SELECT jsonb_agg(CASE WHEN (g->>'id')::bigint = $3 "
                "THEN jsonb_set(g, '{name}', to_jsonb($4::text)) ELSE g END ORDER BY n) "
                "FROM jsonb_array_elements(groups) WITH ORDINALITY AS t(g, n))",
                data["group_id"],
                data["name"],
            )
        else:  # group-removed: and out of the structure, as recorded
            await self._touch(
                conn,
                event,
                "groups = COALESCE((SELECT jsonb_agg(g ORDER BY n) FROM "
                "jsonb_array_elements(groups) WITH ORDINALITY AS t(g, n) "
                "WHERE (g->>'id')::bigint <> $3), '[]'), "
                "settings = jsonb_set(settings, '{structure}', $4::jsonb)",
                data["group_id"],
                orjson.dumps(data["structure"]).decode(),
            )

    @staticmethod
    async def _touch(
        conn: asyncpg.Connection, event: RecordedEvent, change: str, *args: Any
    ) -> None:
        await conn.execute(
            f"UPDATE status_pages SET {change}, updated_at = $2 WHERE stream_id = $1",
            event.stream_id,
            event.recorded_at,
            *args,
        )


# -- queries -----------------------------------------------------------------------------

#: A row's teams (in its settings) as ``bigint[]``, for ``team_scope.scope_sql``.
TEAMS_SQL = array_of_json("COALESCE(r.settings->'teams', '[]'::jsonb)")


def decoded(row: asyncpg.Record | None) -> dict[str, Any] | None:
    """A row with its jsonb documents decoded (asyncpg hands jsonb over as text)."""
    if row is None:
        return None
    values = dict(row)
    values["settings"] = orjson.loads(values["settings"])
    values["groups"] = orjson.loads(values["groups"])
    return values


def row_teams(row: dict[str, Any]) -> list[int]:
    return [int(team) for team in row["settings"].get("teams", ())]


async def page_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, page_id: int
) -> dict[str, Any] | None:
    if not 0 < page_id <= INT64_MAX:
        return None
    return decoded(
        await conn.fetchrow("SELECT * FROM status_pages WHERE id = $1 AND NOT deleted", page_id)
    )


async def page_by_slug(conn: asyncpg.Connection | asyncpg.Pool, slug: str) -> dict[str, Any] | None:
    """The live page served at ``/status/<slug>`` (the oldest, should two ever share it)."""
    return decoded(
        await conn.fetchrow(
            "SELECT * FROM status_pages WHERE slug = $1 AND NOT deleted ORDER BY id LIMIT 1", slug
        )
    )


async def page_by_domain(
    conn: asyncpg.Connection | asyncpg.Pool, domain: str
) -> dict[str, Any] | None:
    return decoded(
        await conn.fetchrow(
            "SELECT * FROM status_pages WHERE domain = $1 AND NOT deleted ORDER BY id LIMIT 1",
            domain.lower(),
        )
    )


async def taken(
    conn: asyncpg.Connection | asyncpg.Pool, slug: str, domain: str | None, except_id: int | None
) -> tuple[str, int] | None:
    """("subdomain" or "domain", the id of the live page that holds it), if another does."""
    row = await conn.fetchrow(
        "SELECT id, slug = $1 AS by_slug FROM status_pages WHERE NOT deleted "
        "AND (slug = $1 OR domain = $2) AND id IS DISTINCT FROM $3 ORDER BY id LIMIT 1",
        slug,
        domain,
        except_id,
    )
    if row is None:
        return None
    return ("subdomain" if row["by_slug"] else "domain"), row["id"]


async def list_pages(
    conn: asyncpg.Connection | asyncpg.Pool,
    start: int,
    limit: int,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[dict[str, Any]]:
    """One page of live status pages, oldest first, as ``team_scope.scope_sql`` scopes."""
    rows = await conn.fetch(
        f"SELECT * FROM status_pages r WHERE NOT deleted AND {scope_sql(TEAMS_SQL, '$3', '$4')} "
        "ORDER BY id OFFSET $1 LIMIT $2",
        start,
        limit,
        viewer,
        only,
    )
    return [decoded(row) for row in rows]  # type: ignore[misc]


async def page_by_name(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, viewer: int | None
) -> dict[str, Any] | None:
    return decoded(
        await conn.fetchrow(
            "SELECT * FROM status_pages r WHERE NOT deleted AND settings->>'name' = $1 "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
            name,
            viewer,
        )
    )


async def service_names(conn: asyncpg.Connection | asyncpg.Pool, ids: list[int]) -> dict[int, str]:
    """The names of the live services among ``ids`` (the services read model's)."""
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, settings->>'name' AS name FROM services "
        "WHERE id = ANY($1::bigint[]) AND NOT deleted",
        ids,
    )
    return {row["id"]: row["name"] for row in rows}
