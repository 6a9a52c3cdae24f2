"""The Incident object on the wire, from the incidents read model or from a snapshot.

Both give the same plain dict (``incident_json``'s input), so a live answer and a ``?at=``
answer are rendered by one function. Names of users, services and alerts are as now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from ..domain.incident import severity_name
from ..domain.wire_time import wire_time_or_none as iso

State = dict[str, Any]


async def states_of(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> list[State]:
    """Read-model rows of ``incidents`` with their services, responders and alerts."""
    ids = [r["id"] for r in rows]
    states = {
        r["id"]: {**dict(r), "services": [], "responders": [], "alerts": [], "channels": []}
        for r in rows
    }
    if not ids:
        return []
    for row in await pool.fetch(
        "SELECT incident_id, service_id, impact FROM incident_services "
        "WHERE incident_id = ANY($1::bigint[]) ORDER BY added_at",
        ids,
    ):
        states[row["incident_id"]]["services"].append((row["service_id"], row["impact"]))
    for row in await pool.fetch(
        "SELECT incident_id, user_id, status FROM incident_responders "
        "WHERE incident_id = ANY($1::bigint[]) ORDER BY added_at",
        ids,
    ):
        states[row["incident_id"]]["responders"].append((row["user_id"], row["status"]))
    for row in await pool.fetch(
        "SELECT incident_id, alert_id FROM incident_alerts "
        "WHERE incident_id = ANY($1::bigint[]) ORDER BY alert_id",
        ids,
    ):
        states[row["incident_id"]]["alerts"].append(row["alert_id"])
    for row in await pool.fetch(
        "SELECT incident_id, user_id FROM incident_subscribers "
        "WHERE incident_id = ANY($1::bigint[]) ORDER BY added_at",
        ids,
    ):
        states[row["incident_id"]].setdefault("subscribers", []).append(row["user_id"])
    for row in await pool.fetch(
        "SELECT incident_id, channel_id AS id, name, url, type AS channel_type, connector_id "
        "FROM incident_channels WHERE incident_id = ANY($1::bigint[]) ORDER BY channel_id",
        ids,
    ):
        states[row["incident_id"]]["channels"].append(dict(row))
    return [states[i] for i in ids]


async def service_names(pool: asyncpg.Pool, ids: list[int]) -> dict[int, str]:
    """Names of the services (the services read model, owned by the services feature)."""
    if not ids:
        return {}
    rows = await pool.fetch(
        "SELECT id, settings->>'name' AS name FROM services WHERE id = ANY($1::bigint[])", ids
    )
    return {r["id"]: r["name"] for r in rows}


async def render(pool: asyncpg.Pool, states: list[State], now: datetime) -> list[dict[str, Any]]:
    """The wire objects of ``states``, with one query per kind of name."""
    user_ids = sorted(
        {u for s in states for u, _ in s["responders"]}
        | {u for s in states for u in s.get("subscribers", ())}
    )
    service_ids = sorted({sid for s in states for sid, _ in s["services"]})
    alert_ids = sorted({a for s in states for a in s["alerts"]})
    users = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, username, first_name, last_name, email FROM users "
            "WHERE id = ANY($1::bigint[])",
            user_ids,
        )
    }
    alerts = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, summary, status FROM alerts WHERE id = ANY($1::bigint[])", alert_ids
        )
    }
    names = await service_names(pool, service_ids)
    return [incident_json(s, users, names, alerts, now) for s in states]


def _user(user_id: int, users: dict[int, Any]) -> dict[str, Any]:
    row = users.get(user_id)
    if row is None:
        return {"id": user_id}
    return {
        "id": user_id,
        "username": row["username"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"],
    }


def incident_json(
    state: State,
    users: dict[int, Any],
    services: dict[int, str],
    alerts: dict[int, Any],
    now: datetime,
) -> dict[str, Any]:
    created, resolved = state["created_at"], state["resolved_on"]
    commander = state.get("commander_id")
    responders = [
        {"user": _user(uid, users), "status": status, "commander": uid == commander}
        for uid, status in state["responders"]
    ]
    linked = [
        {
            "id": aid,
            "summary": alerts[aid]["summary"] if aid in alerts else None,
            "status": alerts[aid]["status"] if aid in alerts else None,
        }
        for aid in state["alerts"]
    ]
    return {
        "id": state["id"],
        "reference": f"INC-{state['number']}",
        "title": state["title"],
        "summary": state["summary"],
        "severity": severity_name(state["severity"]),
        "status": state["status"],
        "createdAt": iso(created),
        "updatedAt": iso(state["updated_at"]),
        "resolvedOn": iso(resolved),
        "duration": max(0, int(((resolved or now) - created).total_seconds())),
        "affectedServices": [
            {"service": {"id": sid, "name": services.get(sid)}, "impact": impact}
            for sid, impact in state["services"]
        ],
        "responders": responders,
        "responderCount": len(responders),
        "commander": _user(commander, users) if commander is not None else None,
        "subscribers": [_user(uid, users) for uid in state.get("subscribers", ())],
        "linkedAlerts": linked,
        "linkedAlertCount": len(linked),
        "message": state["message"],
        "sendNotification": state["send_notification"],
        "channels": [channel_json(c) for c in state.get("channels", ())],
    }


def channel_json(channel: dict[str, Any]) -> dict[str, Any]:
    """An attached channel; ``connectorId`` a string, as connector ids are answered."""
    return {
        "id": channel["id"],
        "name": channel["name"],
        "url": channel["url"],
        "type": channel["channel_type"],
        "connectorId": str(channel["connector_id"]),
    }


def status_update_json(row: asyncpg.Record, names: dict[int, str]) -> dict[str, Any]:
    services = orjson.loads(row["services"])
    return {
        "id": row["id"],
        "incidentId": row["incident_id"],
        "status": row["status"],
        "summary": row["summary"],
        "message": row["message"],
        "sendNotification": row["send_notification"],
        "affectedServices": [
            {
                "service": {"id": s["service_id"], "name": names.get(s["service_id"])},
                "impact": s["impact"],
            }
            for s in services
        ],
        "createdAt": iso(row["created_at"]),
    }


def timeline_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "incidentId": row["incident_id"],
        "timestamp": iso(row["timestamp"]),
        "type": row["type"],
        "text": row["text"],
        "actor": orjson.loads(row["actor"]),
    }


async def open_incidents_by_service(
    pool: asyncpg.Pool, service_ids: list[int], now: datetime
) -> dict[int, list[dict[str, Any]]]:
    """Per service id, the open incidents that affect it, as wire objects (a service's
    ``include=incidents``): three queries for a whole page of services."""
    if not service_ids:
        return {}
    pairs = await pool.fetch(
        "SELECT s.service_id, i.id FROM incident_services s "
        "JOIN incidents i ON i.id = s.incident_id "
        "WHERE s.service_id = ANY($1::bigint[]) AND i.status <> 'RESOLVED' "
        "ORDER BY i.created_at DESC, i.id DESC",
        service_ids,
    )
    incident_ids = sorted({p["id"] for p in pairs})
    rows = await pool.fetch("SELECT * FROM incidents WHERE id = ANY($1::bigint[])", incident_ids)
    by_id = {body["id"]: body for body in await render(pool, await states_of(pool, rows), now)}
    found: dict[int, list[dict[str, Any]]] = {}
    for pair in pairs:
        found.setdefault(pair["service_id"], []).append(by_id[pair["id"]])
    return found


async def open_incident_affecting(pool: asyncpg.Pool, service_id: int) -> str | None:
    """The reference of an open incident that affects the service (the oldest), if any:
    such a service may not be deleted, or the incident would name nothing."""
    return await pool.fetchval(
        "SELECT i.reference FROM incident_services s JOIN incidents i ON i.id = s.incident_id "
        "WHERE s.service_id = $1 AND i.status <> 'RESOLVED' ORDER BY i.number LIMIT 1",
        service_id,
    )


async def channels_using(pool: asyncpg.Pool, connector_id: int) -> list[asyncpg.Record]:
    """The attached channels a connector posts to, with their incident's reference."""
    return await pool.fetch(
        "SELECT c.*, i.reference FROM incident_channels c "
        "JOIN incidents i ON i.id = c.incident_id "
        "WHERE c.connector_id = $1 ORDER BY c.incident_id, c.channel_id",
        connector_id,
    )
