"""What the served page reads: its services (``services``), their public status and
history (``projections.service_status`` with its public sources), the status updates of
incidents that named one of its services (``status_updates``), and maintenance windows of
its services that have not ended (``maintenance_windows``). Nothing is read from
``incidents`` itself: severity, internal summary and responders never reach this module."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from projections.service_status import current_statuses, status_intervals

from .view import HISTORY_DAYS

#: The status updates of every incident one of whose status updates named one of the
#: services ($1): those of the last $3 days, and all of an incident still open at $2.
_UPDATES = """
WITH touching AS (
    SELECT DISTINCT u.incident_id
    FROM status_updates u, jsonb_array_elements(u.services) s
    WHERE (s->>'service_id')::bigint = ANY($1::bigint[])
), latest AS (
    SELECT DISTINCT ON (u.incident_id) u.incident_id, u.status
    FROM status_updates u JOIN touching t USING (incident_id)
    ORDER BY u.incident_id, u.created_at DESC, u.id DESC
)
SELECT u.id, u.incident_id, u.status, u.summary, u.message, u.services, u.created_at
FROM status_updates u JOIN latest l USING (incident_id)
WHERE u.created_at <= $2 AND (l.status <> 'RESOLVED' OR u.created_at >= $2 - $3::interval)
ORDER BY u.created_at DESC, u.id DESC
LIMIT 500
"""

_MAINTENANCE = """
SELECT id, settings, starts_at, ends_at
FROM maintenance_windows m
WHERE NOT deleted AND ends_at > $2 AND EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(COALESCE(m.settings->'services', '[]')) s
    WHERE s::bigint = ANY($1::bigint[])
)
ORDER BY starts_at, id
LIMIT 20
"""


async def services(conn: asyncpg.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The live services among ``ids``: ``{id: {name, show_uptime_history}}``."""
    rows = await conn.fetch(
        "SELECT id, settings FROM services WHERE id = ANY($1::bigint[]) AND NOT deleted", ids
    )
    found = {}
    for row in rows:
        settings = orjson.loads(row["settings"])
        found[row["id"]] = {
            "name": settings["name"],
            "show_uptime_history": settings.get("show_uptime_history", True),
        }
    return found


async def statuses(conn: asyncpg.Connection, ids: list[int], now: datetime) -> dict[int, str]:
    return await current_statuses(conn, ids, now, public=True)


async def intervals(
    conn: asyncpg.Connection, ids: list[int], now: datetime
) -> dict[int, list[tuple[str, datetime, datetime | None]]]:
    """Each service's public status intervals over the history window."""
    since = now - timedelta(days=HISTORY_DAYS + 1)
    found: dict[int, list[tuple[str, datetime, datetime | None]]] = {ident: [] for ident in ids}
    for service_id, status, begin, until in await status_intervals(
        conn, ids, since, now, public=True
    ):
        found.setdefault(service_id, []).append((status, begin, until))
    return found


async def status_updates(
    conn: asyncpg.Connection, ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    rows = await conn.fetch(_UPDATES, ids, now, timedelta(days=HISTORY_DAYS))
    updates = []
    for row in rows:
        update = dict(row)
        named = orjson.loads(update["services"]) if isinstance(update["services"], str) else []
        update["services"] = [
            {"service_id": int(s["service_id"]), "impact": s["impact"]}
            for s in named
            if int(s["service_id"]) in ids
        ]
        updates.append(update)
    return updates


async def maintenance(
    conn: asyncpg.Connection, ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    """Windows of the page's services that have not ended: upcoming and in progress."""
    windows = []
    for row in await conn.fetch(_MAINTENANCE, ids, now):
        settings = orjson.loads(row["settings"])
        windows.append(
            {
                "id": row["id"],
                "summary": settings.get("summary") or "Maintenance",
                "description": settings.get("description") or "",
                "start": row["starts_at"],
                "end": row["ends_at"],
                "active": row["starts_at"] <= now,
                "services": [int(s) for s in settings.get("services", ()) if int(s) in ids],
            }
        )
    return windows
