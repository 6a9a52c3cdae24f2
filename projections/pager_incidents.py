"""The pager's incidents: who is paged into which incident, and who is told of its changes.

Part of the pager projection (same tables of page requests and notifications, same
notifier), kept apart because the alert half is big enough. From the incident's events:

- ``incident-responder-added`` -> a page request of kind ``INCIDENT`` for that user (their
  ``alerts`` rules decide channels and delays; the urgency follows the severity), unless
  they were copied from the alert the incident was declared from (``via`` alert): that
  alert paged them already.
- ``responder-joined``, ``responder-removed`` cancel that user's scheduled pages for the
  incident; ``resolved`` cancels everyone's.
- status changes, resolve and reopen (``INCIDENT_STATUS_CHANGED``), severity changes
  (``INCIDENT_SEVERITY_CHANGED``) and status updates (``INCIDENT_STATUS_UPDATE_POSTED``)
  become status update requests for each responder and subscriber with an ``updates`` rule
  of that type, except the one who made the change. A status update posted tells them
  whether or not ``sendNotification`` is set: that flag is about the public.

What a change said is kept per event (``pager_incident_changes``), so the message sent
later, or after a restart, says what that change was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.alert_notifications import INCIDENT_PAGE

DDL = """
CREATE TABLE IF NOT EXISTS pager_incidents (
    stream_id   uuid    PRIMARY KEY,
    incident_id bigint  NOT NULL UNIQUE,
    reference   text    NOT NULL,
    title       text    NOT NULL,
    summary     text    NOT NULL DEFAULT '',
    severity    integer NOT NULL,
    status      text    NOT NULL
);
CREATE TABLE IF NOT EXISTS pager_incident_people (
    stream_id  uuid    NOT NULL,
    user_id    bigint  NOT NULL,
    responder  text,
    subscriber boolean NOT NULL DEFAULT false,
    PRIMARY KEY (stream_id, user_id)
);
CREATE TABLE IF NOT EXISTS pager_incident_changes (
    position    bigint PRIMARY KEY,
    incident_id bigint NOT NULL,
    update      text   NOT NULL,
    details     text   NOT NULL DEFAULT ''
);
"""
TABLES = ("pager_incident_changes", "pager_incident_people", "pager_incidents")

#: The change events subscribers are told of, by the ``updates`` rule type they match.
CHANGE_KINDS = {
    "incident-status-changed": "INCIDENT_STATUS_CHANGED",
    "incident-resolved": "INCIDENT_STATUS_CHANGED",
    "incident-reopened": "INCIDENT_STATUS_CHANGED",
    "incident-severity-changed": "INCIDENT_SEVERITY_CHANGED",
    "incident-status-update-posted": "INCIDENT_STATUS_UPDATE_POSTED",
}
INCIDENT_KINDS = frozenset({INCIDENT_PAGE, *CHANGE_KINDS.values()})
EVENT_TYPES = frozenset(
    {
        "incident-declared",
        "incident-title-changed",
        "incident-summary-changed",
        "incident-responder-added",
        "incident-responder-joined",
        "incident-responder-removed",
        "incident-subscriber-added",
        "incident-subscriber-removed",
        *CHANGE_KINDS,
    }
)

#: A notification of an incident kind scheduled: live while the page is still owed.
SCHEDULED_SQL = """
INSERT INTO notifications (id, alert_id, alert_stream, user_id, page, kind,
    method, target, rule_id, status, due_at, next_attempt_at, created_at,
    updated_at)
SELECT $1, i.incident_id, i.stream_id, $3, $4, $10, $5, $6, $7,
    CASE WHEN live THEN 'SCHEDULED' ELSE 'CANCELLED' END,
    $8, CASE WHEN live THEN $8::timestamptz END, $9, $9
FROM pager_incidents i, LATERAL (SELECT $10 <> 'INCIDENT' OR (i.status <> 'RESOLVED'
    AND EXISTS (SELECT 1 FROM pager_incident_people p WHERE p.stream_id = i.stream_id
                AND p.user_id = $3 AND p.responder = 'ADDED'))) AS l(live)
WHERE i.incident_id = $2
ON CONFLICT (id) DO NOTHING
"""

#: Which of the given incident pages are no longer owed ($1 ids, $2 streams, $3 users).
NOT_OWED_SQL = """
SELECT d.id FROM unnest($1::text[], $2::uuid[], $3::bigint[]) AS d(id, stream, user_id)
WHERE NOT EXISTS (SELECT 1 FROM pager_incidents i JOIN pager_incident_people p
    ON p.stream_id = i.stream_id WHERE i.stream_id = d.stream AND p.user_id = d.user_id
    AND p.responder = 'ADDED' AND i.status <> 'RESOLVED')
"""

_PAGE_REQUEST_SQL = (
    "INSERT INTO page_requests VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT DO NOTHING"
)


def change_text(event_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """(update, details) a change is told with."""
    if event_type == "incident-status-changed":
        return f"status changed to {data['status']}", ""
    if event_type == "incident-resolved":
        return "resolved", ""
    if event_type == "incident-reopened":
        return f"reopened ({data['status']})", ""
    if event_type == "incident-severity-changed":
        return f"severity changed from SEV{data['previous']} to SEV{data['severity']}", ""
    return f"status update posted ({data['status']})", data.get("message") or ""


async def incident_event(conn: asyncpg.Connection, event: RecordedEvent) -> bool:
    """Apply one incident event; True when page requests were made or pages cancelled."""
    data = event.data
    stream = event.stream_id
    at = datetime.fromisoformat(data["timestamp"])
    kind = event.type
    if kind == "incident-declared":
        await conn.execute(
            "INSERT INTO pager_incidents VALUES ($1, $2, $3, $4, $5, $6, 'DECLARED') "
            "ON CONFLICT DO NOTHING",
            stream,
            event.position,
            f"INC-{data['number']}",
            data["title"],
            data.get("summary") or "",
            data["severity"],
        )
        return False
    incident = await conn.fetchrow("SELECT * FROM pager_incidents WHERE stream_id = $1", stream)
    if incident is None:
        return False
    user_id = data.get("user_id")
    if kind in ("incident-title-changed", "incident-summary-changed"):
        column = "title" if kind == "incident-title-changed" else "summary"
        await conn.execute(
            f"UPDATE pager_incidents SET {column} = $2 WHERE stream_id = $1", stream, data[column]
        )
        return False
    if kind == "incident-responder-added":
        await _person(conn, stream, user_id, "responder = 'ADDED'", "'ADDED'", "false")
        if data.get("via") == "alert":
            return False
        await conn.execute(
            _PAGE_REQUEST_SQL,
            f"{event.position}-{user_id}",
            incident["incident_id"],
            stream,
            user_id,
            at,
            INCIDENT_PAGE,
        )
        return True
    if kind == "incident-responder-joined":
        await _person(conn, stream, user_id, "responder = 'JOINED'", "'JOINED'", "false")
        await cancel(conn, stream, at, user_id)
        return True
    if kind == "incident-responder-removed":
        await _person(conn, stream, user_id, "responder = NULL", "NULL", "false")
        await cancel(conn, stream, at, user_id)
        return True
    if kind in ("incident-subscriber-added", "incident-subscriber-removed"):
        on = "true" if kind == "incident-subscriber-added" else "false"
        await _person(conn, stream, user_id, f"subscriber = {on}", "NULL", on)
        return False
    return await _changed(conn, event, incident, data, at)


async def _person(
    conn: asyncpg.Connection, stream: UUID, user_id: int, change: str, responder: str, sub: str
) -> None:
    await conn.execute(
        f"INSERT INTO pager_incident_people VALUES ($1, $2, {responder}, {sub}) "
        f"ON CONFLICT (stream_id, user_id) DO UPDATE SET {change}",
        stream,
        user_id,
    )


async def _changed(
    conn: asyncpg.Connection,
    event: RecordedEvent,
    incident: asyncpg.Record,
    data: dict[str, Any],
    at: datetime,
) -> bool:
    """A change subscribers are told of; the incident's own state follows it."""
    stream = event.stream_id
    if event.type == "incident-severity-changed":
        await conn.execute(
            "UPDATE pager_incidents SET severity = $2 WHERE stream_id = $1",
            stream,
            data["severity"],
        )
    elif event.type != "incident-status-update-posted":
        status = "RESOLVED" if event.type == "incident-resolved" else data["status"]
        await conn.execute(
            "UPDATE pager_incidents SET status = $2 WHERE stream_id = $1", stream, status
        )
    if event.type == "incident-resolved":
        await cancel(conn, stream, at)
    update, details = change_text(event.type, data)
    await conn.execute(
        "INSERT INTO pager_incident_changes VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event.position,
        incident["incident_id"],
        update,
        details,
    )
    actor = data.get("actor") or {}
    author = actor.get("id") if actor.get("type") == "user" else None
    status = await conn.execute(
        """
        INSERT INTO page_requests
        SELECT $1 || '-' || u.user_id, $2, $3, u.user_id, $4, false, $5
        FROM (SELECT DISTINCT r.user_id FROM pager_update_rules r
              JOIN pager_incident_people p ON p.user_id = r.user_id AND p.stream_id = $3
              WHERE r.update_type = $5 AND (p.responder IS NOT NULL OR p.subscriber)
                AND r.user_id IS DISTINCT FROM $6) u
        ON CONFLICT DO NOTHING
        """,
        str(event.position),
        incident["incident_id"],
        stream,
        at,
        CHANGE_KINDS[event.type],
        author,
    )
    return event.type == "incident-resolved" or not status.endswith(" 0")


async def cancel(
    conn: asyncpg.Connection, stream: UUID, at: datetime, user_id: int | None = None
) -> None:
    """The incident's pages still scheduled (for one user, or all) will not go out."""
    await conn.execute(
        "UPDATE notifications SET status = 'CANCELLED', next_attempt_at = NULL, "
        "updated_at = $2 WHERE status = 'SCHEDULED' AND alert_stream = $1 "
        "AND kind = $4 AND ($3::bigint IS NULL OR user_id = $3)",
        stream,
        at,
        user_id,
        INCIDENT_PAGE,
    )
    await conn.execute(
        "UPDATE page_requests SET planned = true WHERE NOT planned AND alert_stream = $1 "
        "AND kind = $3 AND ($2::bigint IS NULL OR user_id = $2)",
        stream,
        user_id,
        INCIDENT_PAGE,
    )
