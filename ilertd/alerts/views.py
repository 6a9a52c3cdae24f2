"""The ilert Alert object, from the alerts read model or from a snapshot of the events.

Shared by the API (``GET /api/alerts/...``) and the outbound dispatcher (webhook bodies are
the alert as of the event that triggered them).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from ..domain.wire_time import wire_time_or_none
from .history import AlertSnapshot

#: Every time in an answer, in the one wire form (``domain/wire_time.py``).
iso = wire_time_or_none


def user_ref(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["user_id"],
        "username": row["username"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"],
    }


async def responders_of(pool: asyncpg.Pool, alert_ids: list[int]) -> dict[int, list[dict]]:
    rows = await pool.fetch(
        """
        SELECT r.alert_id, r.user_id, r.status, r.accepted_at,
               u.username, u.first_name, u.last_name, u.email
        FROM alert_responders r LEFT JOIN users u ON u.id = r.user_id
        WHERE r.alert_id = ANY($1::bigint[]) ORDER BY r.added_at, r.user_id
        """,
        alert_ids,
    )
    out: dict[int, list[dict]] = {}
    for row in rows:
        out.setdefault(row["alert_id"], []).append(
            {
                "user": user_ref(row),
                "status": row["status"],
                "acceptedAt": iso(row["accepted_at"]),
            }
        )
    return out


JSON_COLUMNS = ("images", "links", "labels", "channels", "custom_details")


def decoded_row(row: asyncpg.Record) -> dict[str, Any]:
    """A projection row with its jsonb columns (text on the wire) decoded."""
    values = dict(row)
    for column in JSON_COLUMNS:
        values[column] = orjson.loads(values[column] or "null")
    return values


def alert_json(row: dict[str, Any], responders: list[dict], include: set[str]) -> dict[str, Any]:
    """The ilert Alert object from a projection row (decoded) or a snapshot."""
    body: dict[str, Any] = {
        "id": row["id"],
        "summary": row["summary"],
        "details": row["details"],
        "reportTime": iso(row["report_time"]),
        "resolvedOn": iso(row["resolved_on"]),
        "status": row["status"],
        "priority": row["priority"],
        "severity": row["severity"],
        "alertKey": row["alert_key"],
        "alertSource": {"id": row["source_id"], "name": row["source_name"]},
        "escalationPolicy": (
            {"id": row["escalation_policy_id"]} if row["escalation_policy_id"] else None
        ),
        "assignedTo": responders[0]["user"] if responders else None,
        "responders": responders,
        "nextEscalation": iso(row.get("next_escalation_at")),
        "nextEscalationRuleIndex": (
            row.get("next_escalation_level") if row.get("next_escalation_at") else None
        ),
        "escalationLevel": row["escalation_level"],
        "images": row["images"],
        "links": row["links"],
        "labels": row["labels"],
        "channels": row["channels"],
        "eventsReceived": row["events_received"],
        "linkedIncidentId": row.get("linked_incident_id"),
    }
    if "customDetails" in include:
        body["customDetails"] = row["custom_details"]
    return body


async def snapshot_view(
    pool: asyncpg.Pool,
    snap: AlertSnapshot,
    include: set[str] | frozenset[str] = frozenset(),
    *,
    source_name: str | None = None,
) -> dict[str, Any]:
    """The Alert object as the snapshot's events left it (users and source names as now;
    ``source_name`` when the caller knows it already)."""
    alert = snap.alert
    users = {}
    if alert.responders:
        users = {
            r["id"]: r
            for r in await pool.fetch(
                "SELECT id AS user_id, id, username, first_name, last_name, email FROM users "
                "WHERE id = ANY($1::bigint[])",
                list(alert.responders),
            )
        }
    responders = [
        {
            "user": user_ref(users[uid]) if uid in users else {"id": uid},
            "status": state,
            "acceptedAt": None,
        }
        for uid, state in alert.responders.items()
    ]
    row = {
        "id": snap.alert_id,
        "summary": alert.summary,
        "details": alert.details,
        "report_time": snap.report_time,
        "resolved_on": snap.resolved_on,
        "status": alert.status.value,
        "priority": alert.priority.value,
        "severity": alert.severity,
        "alert_key": alert.alert_key,
        "source_id": alert.source_id,
        "source_name": source_name
        if source_name is not None
        else await pool.fetchval("SELECT name FROM alert_sources WHERE id = $1", alert.source_id),
        "escalation_policy_id": alert.escalation_policy_id,
        "escalation_level": alert.escalation_level,
        "images": alert.images,
        "links": alert.links,
        "labels": alert.labels,
        "channels": list(alert.channels.values()),
        "events_received": alert.events_received,
        "custom_details": alert.custom_details,
        "next_escalation_at": alert.next_escalation_at,
        "next_escalation_level": alert.next_level,
    }
    return alert_json(row, responders, include)
