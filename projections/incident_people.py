"""An incident's subscribers, and the pages and subscriptions on its timeline.

A projection of its own beside ``incidents`` (which owns the incident rows and the
timeline of the incident's own events): the page outcomes are events of the notification
streams (``alert-notifications-*``, whose ``alert_id`` is the incident's id for an
incident's pages), so this projection keeps which ids are incidents, and writes
``incident_page_log``, which the timeline route reads merged with ``incident_timeline``
(both keyed by event position, so merged they keep the events' order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection

DDL = """
CREATE TABLE IF NOT EXISTS incident_ids (
    stream_id   uuid   PRIMARY KEY,
    incident_id bigint NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS incident_subscribers (
    incident_id bigint NOT NULL,
    user_id     bigint NOT NULL,
    added_at    bigint NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE TABLE IF NOT EXISTS incident_page_log (
    id          bigint      PRIMARY KEY,
    incident_id bigint      NOT NULL,
    timestamp   timestamptz NOT NULL,
    type        text        NOT NULL,
    text        text        NOT NULL,
    actor       jsonb       NOT NULL,
    vars        jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_page_log_incident ON incident_page_log (incident_id, id);
"""

PAGE_EVENTS = frozenset(
    {
        "alert-notifications-skipped",
        "alert-notifications-sent",
        "alert-notifications-failed",
    }
)
SUBSCRIBER_EVENTS = frozenset({"incident-subscriber-added", "incident-subscriber-removed"})

#: The timeline merged: the incident's own entries and these (same columns).
TIMELINE_SQL = """
SELECT * FROM (
    SELECT * FROM incident_timeline WHERE incident_id = $1
    UNION ALL
    SELECT * FROM incident_page_log WHERE incident_id = $1
) t WHERE ($2::timestamptz IS NULL OR timestamp <= $2) ORDER BY id
"""

_LOG_SQL = (
    "INSERT INTO incident_page_log VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
)


def describe_page(event_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """(entry type, text) of a page's outcome; the address is left out (the
    notifications say it to who may read them)."""
    user, method = f"user {data.get('user_id')}", data.get("method")
    if event_type == "alert-notifications-skipped":
        return "PAGE_SKIPPED", f"Not notifying {user}: {data.get('reason')}"
    if event_type == "alert-notifications-sent":
        return "PAGE_SENT", f"Notified {user} by {method}"
    retry = data.get("retry_at")
    tail = f"; retrying at {retry}" if retry else "; giving up on this channel"
    return "PAGE_FAILED", f"Notifying {user} by {method} failed: {data.get('error')}{tail}"


class IncidentPeopleProjection(Projection):
    name = "incident_people"
    tables = ("incident_page_log", "incident_subscribers", "incident_ids")
    event_types = frozenset({"incident-declared", *SUBSCRIBER_EVENTS, *PAGE_EVENTS})

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """A storm's page outcomes are nearly all about alerts: a run of them costs one
        query for which are incidents', and one pipelined insert."""
        await self.apply_runs(
            conn, events, lambda e: self._page_run if e.type in PAGE_EVENTS else None
        )

    async def _page_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        ids = {
            r["incident_id"]
            for r in await conn.fetch(
                "SELECT incident_id FROM incident_ids WHERE incident_id = ANY($1::bigint[])",
                list({e.data["alert_id"] for e in run}),
            )
        }
        entries = []
        for event in run:
            if event.data["alert_id"] in ids:
                entry_type, text = describe_page(event.type, event.data)
                entries.append(_entry(event, event.data["alert_id"], entry_type, text, {}))
        if entries:
            await conn.executemany(_LOG_SQL, entries)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "incident-declared":
            await conn.execute(
                "INSERT INTO incident_ids VALUES ($1, $2) ON CONFLICT DO NOTHING",
                event.stream_id,
                event.position,
            )
            return
        if event.type in PAGE_EVENTS:
            await self._page_run(conn, [event])
            return
        incident_id = await conn.fetchval(
            "SELECT incident_id FROM incident_ids WHERE stream_id = $1", event.stream_id
        )
        if incident_id is None:
            return
        user_id = data["user_id"]
        actor = data.get("actor") or {}
        if event.type == "incident-subscriber-added":
            await conn.execute(
                "INSERT INTO incident_subscribers VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                incident_id,
                user_id,
                event.position,
            )
            entry = ("SUBSCRIBER_ADDED", f"User {user_id} subscribed")
        else:
            await conn.execute(
                "DELETE FROM incident_subscribers WHERE incident_id = $1 AND user_id = $2",
                incident_id,
                user_id,
            )
            entry = ("SUBSCRIBER_REMOVED", f"User {user_id} unsubscribed")
        await conn.execute(_LOG_SQL, *_entry(event, incident_id, *entry, actor))


def _entry(
    event: RecordedEvent, incident_id: int, entry_type: str, text: str, actor: dict[str, Any]
) -> tuple[Any, ...]:
    """A timeline row; its vars leave out the target (an address or number)."""
    keep = ("user_id", "method", "attempt", "error", "retry_at", "reason")
    return (
        event.position,
        incident_id,
        datetime.fromisoformat(event.data["timestamp"]),
        entry_type,
        text,
        orjson.dumps(actor or {"type": "system", "reason": "notification"}).decode(),
        orjson.dumps({k: event.data[k] for k in keep if k in event.data}).decode(),
    )
