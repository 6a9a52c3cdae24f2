"""Alerts read model: the list (indexed for every filter), responders, counts per source and
status, the open-alert-by-key index used for dedup hints, and the timeline (log entries).

One projection owns these tables because one event changes several of them and they must
agree at every position. An alert's integer API id is the position of its ``alert-created``
event; log entry ids are the positions of the events they describe.
"""

from __future__ import annotations

import collections
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from ilertd.domain.log_entries import LogEntryType

from .base import Projection, RunHandler

DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    id                   bigint      PRIMARY KEY,
    stream_id            uuid        NOT NULL UNIQUE,
    source_id            bigint      NOT NULL,
    status               text        NOT NULL,
    summary              text        NOT NULL,
    details              text        NOT NULL,
    priority             text        NOT NULL,
    severity             integer,
    alert_key            text        NOT NULL,
    alert_key_norm       text        NOT NULL,
    generation           integer     NOT NULL,
    escalation_policy_id bigint,
    routing_key          text,
    escalation_level     integer     NOT NULL DEFAULT 0,
    next_escalation_at   timestamptz,
    next_escalation_level integer    NOT NULL DEFAULT 0,
    escalation_ended     boolean     NOT NULL DEFAULT false,
    assigned_user_id     bigint,
    images               jsonb       NOT NULL,
    links                jsonb       NOT NULL,
    labels               jsonb       NOT NULL,
    custom_details       jsonb,
    channels             jsonb       NOT NULL DEFAULT '[]',
    events_received      integer     NOT NULL DEFAULT 1,
    report_time          timestamptz NOT NULL,
    accepted_at          timestamptz,
    resolved_on          timestamptz,
    updated_at           timestamptz NOT NULL,
    version              integer     NOT NULL,
    linked_incident_id   bigint
);
CREATE INDEX IF NOT EXISTS alerts_status_id ON alerts (status, id DESC);
CREATE INDEX IF NOT EXISTS alerts_source_id ON alerts (source_id, id DESC);
CREATE INDEX IF NOT EXISTS alerts_policy_id ON alerts (escalation_policy_id, id DESC);
CREATE INDEX IF NOT EXISTS alerts_report_time ON alerts (report_time);
CREATE INDEX IF NOT EXISTS alerts_by_key
    ON alerts (source_id, alert_key_norm, generation DESC);
CREATE TABLE IF NOT EXISTS alert_responders (
    alert_id    bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    user_id     bigint      NOT NULL,
    status      text        NOT NULL,
    accepted_at timestamptz,
    added_at    bigint      NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);
CREATE INDEX IF NOT EXISTS alert_responders_user ON alert_responders (user_id, alert_id DESC);
CREATE TABLE IF NOT EXISTS alert_counts (
    source_id bigint NOT NULL,
    status    text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (source_id, status)
);
CREATE TABLE IF NOT EXISTS alert_log_entries (
    id             bigint      PRIMARY KEY,
    alert_id       bigint      NOT NULL,
    timestamp      timestamptz NOT NULL,
    log_entry_type text        NOT NULL,
    text           text        NOT NULL,
    actor          jsonb       NOT NULL,
    vars           jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_log_entries_alert ON alert_log_entries (alert_id, id);
"""


RECEIVED_SQL = """
UPDATE alerts SET events_received = events_received + 1,
    details = CASE WHEN $2 <> '' THEN $2 ELSE details END,
    images = CASE WHEN $3::jsonb <> '[]' THEN $3::jsonb ELSE images END,
    links = CASE WHEN $4::jsonb <> '[]' THEN $4::jsonb ELSE links END,
    labels = labels || $5::jsonb,
    custom_details = coalesce($6::jsonb, custom_details),
    updated_at = $7, version = $8
WHERE stream_id = $1
"""


def _received_args(event: RecordedEvent, data: dict[str, Any], at: datetime) -> tuple:
    custom = data.get("custom_details")
    return (
        event.stream_id,
        data.get("details") or "",
        orjson.dumps(data.get("images") or []).decode(),
        orjson.dumps(data.get("links") or []).decode(),
        orjson.dumps(data.get("labels") or {}).decode(),
        None if custom is None else orjson.dumps(custom).decode(),
        at,
        event.version,
    )


def _optional_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _actor_text(actor: dict[str, Any]) -> str:
    kind = actor.get("type", "system")
    if kind == "user":
        return f"user {actor.get('id')}"
    if kind == "source":
        return f"alert source {actor.get('id')}"
    if kind == "incident":
        return f"incident {actor.get('reference')}"
    return "ilertd"


#: What an alert action's delivery did, on the alert's timeline (the delivery streams are
#: separate from the alert's own, so sending never contends with responders).
DELIVERY_OUTCOMES = frozenset(
    {
        "action-delivery-succeeded",
        "action-delivery-attempt-failed",
        "action-delivery-dead-lettered",
    }
)


def describe_delivery(event_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """(logEntryType, text) of a delivery outcome."""
    what = f"Alert action {data.get('action')} ({data.get('event_type')})"
    answer = f"HTTP {data['status_code']}" if data.get("status_code") else ""
    if event_type == "action-delivery-succeeded":
        return LogEntryType.ALERT_ACTION_SUCCESS, f"{what} succeeded" + (
            f": {answer}" if answer else ""
        )
    if event_type == "action-delivery-attempt-failed":
        return (
            LogEntryType.ALERT_ACTION_FAIL,
            f"{what} failed (attempt {data.get('attempt')}): {data.get('error')}; "
            f"retrying at {data.get('next_attempt_at')}",
        )
    return (
        LogEntryType.ALERT_ACTION_FAIL,
        f"{what} failed for good after {data.get('attempts')} attempts: {data.get('error')}",
    )


#: Only for an alert that exists: a delivery's outcome may be an incident's (the outbox
#: names the incident in ``alert_id``; ids are positions, so they never collide).
ENTRY_SQL = (
    "INSERT INTO alert_log_entries SELECT $1, $2, $3, $4, $5, $6, $7 "
    "WHERE EXISTS (SELECT 1 FROM alerts WHERE id = $2)"
)
Entry = tuple[int, int, datetime, str, str, str, str]


def _system_entry(
    event: RecordedEvent,
    data: dict[str, Any],
    at: datetime,
    entry_type: str,
    text: str,
    reason: str,
) -> Entry:
    """A timeline entry the engine wrote (a page, a webhook) for ``data["alert_id"]``."""
    return (
        event.position,
        data["alert_id"],
        at,
        entry_type,
        text,
        orjson.dumps({"type": "system", "reason": reason}).decode(),
        orjson.dumps(log_vars(reason, data)).decode(),
    )


#: An incident linked or unlinked the alert (``linkedIncidentId``).
INCIDENT_LINKS = frozenset({"incident-alert-linked", "incident-alert-unlinked"})

#: Pages to responders, on the alert's timeline.
NOTIFICATION_EVENTS = frozenset(
    {
        "alert-notifications-scheduled",
        "alert-notifications-skipped",
        "alert-notifications-sent",
        "alert-notifications-failed",
    }
)


def describe_notification(event_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """(logEntryType, text) of a page's step; phone numbers show their last digits only."""
    target = data.get("target") or ""
    if data.get("method") in ("SMS", "VOICE") and len(target) > 4:
        target = "…" + target[-4:]
    how = f"{data.get('method')} to {target}" if target else str(data.get("method"))
    user = f"user {data.get('user_id')}"
    kind = event_type.removeprefix("alert-notifications-")
    if kind == "scheduled":
        return (
            LogEntryType.NOTIFICATION_SCHEDULED,
            f"Notifying {user} by {how} at {data.get('due_at')}",
        )
    if kind == "skipped":
        return LogEntryType.NOTIFICATION_SKIPPED, f"Not notifying {user}: {data.get('reason')}"
    if kind == "sent":
        covers = data.get("covers") or 1
        by = f" (one message for {covers} alerts: {data.get('message')})" if covers > 1 else ""
        return LogEntryType.NOTIFICATION_SENT, f"Notified {user} by {how}{by}"
    retry = data.get("retry_at")
    tail = f"; retrying at {retry}" if retry else "; giving up on this channel"
    return (
        LogEntryType.NOTIFICATION_FAILED,
        f"Notifying {user} by {how} failed: {data.get('error')}{tail}",
    )


def _notification_entry(event: RecordedEvent, data: dict[str, Any], at: datetime) -> Entry:
    entry_type, text = describe_notification(event.type, data)
    return _system_entry(event, data, at, entry_type, text, "notification")


def _delivery_outcome(event: RecordedEvent, data: dict[str, Any], at: datetime) -> Entry:
    entry_type, text = describe_delivery(event.type, data)
    return _system_entry(event, data, at, entry_type, text, "alert-action")


CREATED_SQL = """
INSERT INTO alerts (id, stream_id, source_id, status, summary, details, priority,
    severity, alert_key, alert_key_norm, generation, escalation_policy_id,
    routing_key, assigned_user_id, images, links, labels, custom_details,
    report_time, updated_at, version, next_escalation_at, escalation_level,
    next_escalation_level)
VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, lower(trim($8)), $9, $10, $11,
        $12, $13, $14, $15, $16, $17, $20, $18, $19, $21, $22)
"""
#: Where _created_args puts what an escalation in the same run changes.
_UPDATED_AT, _VERSION, _NEXT_AT, _LEVEL, _NEXT_LEVEL = 19, 17, 18, 20, 21
RESPONDER_SQL = (
    "INSERT INTO alert_responders (alert_id, user_id, status, added_at) "
    "VALUES ($1, $2, 'PENDING', $3) ON CONFLICT DO NOTHING"
)


def _created_args(event: RecordedEvent, data: dict[str, Any], at: datetime) -> tuple[Any, ...]:
    responders = data.get("responders") or []
    return (
        event.position,
        event.stream_id,
        data["source_id"],
        data["summary"],
        data["details"],
        data["priority"],
        data.get("severity"),
        data["alert_key"],
        data["generation"],
        data.get("escalation_policy_id"),
        data.get("routing_key"),
        responders[0] if responders else None,
        orjson.dumps(data.get("images") or []).decode(),
        orjson.dumps(data.get("links") or []).decode(),
        orjson.dumps(data.get("labels") or {}).decode(),
        orjson.dumps(data.get("custom_details")).decode(),
        at,
        event.version,
        _optional_ts(data.get("next_escalation_at")),
        at,
        0,
        0,
    )


class AlertsProjection(Projection):
    name = "alerts"
    version = 6
    tables = ("alert_log_entries", "alert_counts", "alert_responders", "alerts")
    event_types = frozenset(
        {
            "alert-created",
            "alert-event-received",
            "alert-accepted",
            "alert-resolved",
            "alert-commented",
            "alert-rerouted",
            "alert-responder-added",
            "alert-responder-removed",
            "alert-priority-raised",
            "alert-escalated",
            "alert-channel-attached",
            "alert-channel-detached",
            "alert-escalation-ended",
            "alert-user-responded",
            *DELIVERY_OUTCOMES,
            *NOTIFICATION_EVENTS,
            *INCIDENT_LINKS,
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    def __init__(self) -> None:
        #: Timeline entries and count changes of the batch being applied: nothing reads
        #: them while it is, so they go in one pipelined statement each at its end.
        self._entries: list[Entry] = []
        self._counts: collections.Counter[tuple[int, str]] = collections.Counter()
        #: Alerts opened in the current run of new alerts.
        self._opened: set[Any] = set()

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """Runs of dedup events (the bulk of inbound traffic) go as two pipelined
        statements; everything else one event at a time, in order."""
        self._entries, self._counts = [], collections.Counter()
        self._opened = set()
        await self.apply_runs(conn, events, self._run_of)
        if self._entries:
            await conn.executemany(ENTRY_SQL, self._entries)
        counts = [(source, status, n) for (source, status), n in self._counts.items() if n]
        if counts:
            await conn.executemany(COUNT_SQL, counts)

    def _run_of(self, event: RecordedEvent) -> RunHandler | None:
        if event.type == "alert-created":
            self._opened.add(event.stream_id)
            return self._created_run
        if event.type == "alert-escalated" and event.stream_id in self._opened:
            return self._created_run  # level 0, paged in the append that opened the alert
        self._opened.clear()
        if event.type == "alert-event-received":
            return self._received_run
        return None

    async def _received_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        updates, entries = [], []
        for event in run:
            data = event.data
            at = _ts(data["timestamp"])
            updates.append(_received_args(event, data, at))
            entry_type, text = describe_event("event-received", data)
            entries.append(
                (
                    event.position,
                    event.stream_id,
                    at,
                    entry_type,
                    text,
                    orjson.dumps(data.get("actor") or {}).decode(),
                    orjson.dumps(log_vars("event-received", data)).decode(),
                )
            )
        await conn.executemany(RECEIVED_SQL, updates)
        await conn.executemany(
            "INSERT INTO alert_log_entries SELECT $1, a.id, $3, $4, $5, $6, $7 "
            "FROM alerts a WHERE a.stream_id = $2",
            entries,
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        at = _ts(data["timestamp"])
        if event.type in DELIVERY_OUTCOMES:
            self._entries.append(_delivery_outcome(event, data, at))
            return
        if event.type in NOTIFICATION_EVENTS:
            self._entries.append(_notification_entry(event, data, at))
            return
        if event.type in INCIDENT_LINKS:
            await self._incident_link(conn, event, data, at)
            return
        kind = event.type.removeprefix("alert-")
        if kind == "created":
            alert_id = await self._created(conn, event, data, at)
        elif kind == "event-received":
            # the hot path (every dedup hit): one statement for the alert row
            alert_id = await self._event_received(conn, event, data, at)
            if alert_id is None:
                return
        else:
            row = await conn.fetchrow(
                "UPDATE alerts SET updated_at = $2, version = $3 WHERE stream_id = $1 "
                "RETURNING id, source_id, status",
                event.stream_id,
                at,
                event.version,
            )
            if row is None:
                return
            alert_id = row["id"]
            await getattr(self, "_" + kind.replace("-", "_"))(conn, row, data, at)
        self._entry(event, alert_id, kind, data, at)

    async def _incident_link(
        self, conn: asyncpg.Connection, event: RecordedEvent, data: dict[str, Any], at: datetime
    ) -> None:
        """An incident linked or unlinked the alert: its ``linkedIncidentId`` (the id of
        the incident, the position of its first event, found in the store itself so this
        read model needs no other) and a timeline entry."""
        linked = event.type == "incident-alert-linked"
        alert_id = await conn.fetchval(
            "UPDATE alerts SET linked_incident_id = CASE WHEN $2 THEN "
            "(SELECT position FROM events WHERE stream_id = $3 AND version = 1) END "
            "WHERE id = $1 RETURNING id",
            data["alert_id"],
            linked,
            event.stream_id,
        )
        if alert_id is None:
            return
        verb = "linked to" if linked else "unlinked from"
        entry_type = (
            LogEntryType.ALERT_INCIDENT_LINKED if linked else LogEntryType.ALERT_INCIDENT_UNLINKED
        )
        self._entries.append(
            (
                event.position,
                alert_id,
                at,
                entry_type,
                f"Alert {verb} incident {data.get('reference')} by "
                + _actor_text(data.get("actor") or {}),
                orjson.dumps(data.get("actor") or {}).decode(),
                orjson.dumps(log_vars("incident", data)).decode(),
            )
        )

    async def _created_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        """New alerts, their responders, entries and counts: two pipelined statements. The
        escalation that paged an alert's first level as it opened is folded into its row."""
        rows: dict[Any, list[Any]] = {}
        responders: list[tuple[int, int]] = []
        for event in run:
            data = event.data
            at = _ts(data["timestamp"])
            if event.type == "alert-escalated":
                row = rows[event.stream_id]
                row[_UPDATED_AT], row[_VERSION] = at, event.version
                row[_NEXT_AT] = _optional_ts(data.get("next_escalation_at"))
                row[_LEVEL], row[_NEXT_LEVEL] = data["level"], data["level"] + 1
                alert_id = row[0]
                responders += [(alert_id, u) for u in data.get("responders") or []]
                self._entry(event, alert_id, "escalated", data, at)
                continue
            rows[event.stream_id] = list(_created_args(event, data, at))
            responders += [(event.position, u) for u in data.get("responders") or []]
            self._counts[(data["source_id"], "PENDING")] += 1
            self._entry(event, event.position, "created", data, at)
        await conn.executemany(CREATED_SQL, list(rows.values()))
        if responders:
            await conn.executemany(RESPONDER_SQL, [(a, u, a) for a, u in responders])

    def _entry(
        self, event: RecordedEvent, alert_id: int, kind: str, data: dict[str, Any], at: datetime
    ) -> None:
        entry_type, text = describe_event(kind, data)
        self._entries.append(
            (
                event.position,
                alert_id,
                at,
                entry_type,
                text,
                orjson.dumps(data.get("actor") or {}).decode(),
                orjson.dumps(log_vars(kind, data)).decode(),
            )
        )

    async def _created(
        self, conn: asyncpg.Connection, event: RecordedEvent, data: dict[str, Any], at: datetime
    ) -> int:
        await conn.execute(CREATED_SQL, *_created_args(event, data, at))
        for user_id in data.get("responders") or []:
            await self._add_responder(conn, event.position, user_id, event.position)
        self._counts[(data["source_id"], "PENDING")] += 1
        return event.position

    @staticmethod
    async def _add_responder(
        conn: asyncpg.Connection, alert_id: int, user_id: int, added_at: int
    ) -> None:
        await conn.execute(RESPONDER_SQL, alert_id, user_id, added_at)

    async def _set_status(
        self, conn: asyncpg.Connection, row: asyncpg.Record, status: str, at: datetime
    ) -> None:
        column = {"ACCEPTED": "accepted_at", "RESOLVED": "resolved_on", "PENDING": None}[status]
        stamp = f", {column} = $3" if column else ""
        await conn.execute(
            f"UPDATE alerts SET status = $2{stamp} WHERE id = $1",
            *((row["id"], status, at) if column else (row["id"], status)),
        )
        if row["status"] != status:
            self._counts[(row["source_id"], row["status"])] -= 1
            self._counts[(row["source_id"], status)] += 1

    async def _event_received(
        self, conn: asyncpg.Connection, event: RecordedEvent, data: dict[str, Any], at: datetime
    ) -> int | None:
        return await conn.fetchval(RECEIVED_SQL + " RETURNING id", *_received_args(event, data, at))

    async def _accepted(self, conn, row, data, at) -> None:
        await self._set_status(conn, row, "ACCEPTED", at)
        await self._next_escalation(conn, row, None)
        if data.get("user_id") is not None:
            await conn.execute(
                "UPDATE alert_responders SET status = 'ACCEPTED', accepted_at = $3 "
                "WHERE alert_id = $1 AND user_id = $2",
                row["id"],
                data["user_id"],
                at,
            )

    async def _resolved(self, conn, row, data, at) -> None:
        await self._set_status(conn, row, "RESOLVED", at)
        await self._next_escalation(conn, row, None)

    async def _escalation_ended(self, conn, row, data, at) -> None:
        await self._next_escalation(conn, row, None)
        await conn.execute("UPDATE alerts SET escalation_ended = true WHERE id = $1", row["id"])

    @staticmethod
    async def _next_escalation(conn, row, due: datetime | None, level: int | None = None) -> None:
        await conn.execute(
            "UPDATE alerts SET next_escalation_at = $2, "
            "next_escalation_level = coalesce($3, next_escalation_level) WHERE id = $1",
            row["id"],
            due,
            level,
        )

    async def _commented(self, conn, row, data, at) -> None:
        pass

    async def _rerouted(self, conn, row, data, at) -> None:
        await conn.execute("DELETE FROM alert_responders WHERE alert_id = $1", row["id"])
        await conn.execute(
            "UPDATE alerts SET escalation_level = 0, assigned_user_id = $2, "
            "escalation_policy_id = CASE WHEN $3::bigint IS NOT NULL THEN $3 ELSE NULL END "
            "WHERE id = $1",
            row["id"],
            data.get("user_id"),
            data.get("policy_id"),
        )
        if data.get("user_id") is not None:
            await self._add_responder(conn, row["id"], data["user_id"], row["id"])
        await self._next_escalation(conn, row, _optional_ts(data.get("next_escalation_at")), 0)
        await conn.execute("UPDATE alerts SET escalation_ended = false WHERE id = $1", row["id"])
        if row["status"] == "ACCEPTED":
            await self._set_status(conn, row, "PENDING", at)

    async def _responder_added(self, conn, row, data, at) -> None:
        await self._add_responder(conn, row["id"], data["user_id"], row["id"])
        await conn.execute(
            "UPDATE alerts SET assigned_user_id = coalesce(assigned_user_id, $2) WHERE id = $1",
            row["id"],
            data["user_id"],
        )

    async def _responder_removed(self, conn, row, data, at) -> None:
        await conn.execute(
            "DELETE FROM alert_responders WHERE alert_id = $1 AND user_id = $2",
            row["id"],
            data["user_id"],
        )
        await conn.execute(
            "UPDATE alerts SET assigned_user_id = (SELECT user_id FROM alert_responders "
            "WHERE alert_id = $1 ORDER BY added_at, user_id LIMIT 1) WHERE id = $1",
            row["id"],
        )

    async def _priority_raised(self, conn, row, data, at) -> None:
        await conn.execute("UPDATE alerts SET priority = 'HIGH' WHERE id = $1", row["id"])

    async def _escalated(self, conn, row, data, at) -> None:
        await conn.execute(
            "UPDATE alerts SET escalation_level = $2 WHERE id = $1", row["id"], data["level"]
        )
        for user_id in data.get("responders") or []:
            await self._add_responder(conn, row["id"], user_id, row["id"])
        await self._next_escalation(
            conn, row, _optional_ts(data.get("next_escalation_at")), data["level"] + 1
        )

    async def _user_responded(self, conn, row, data, at) -> None:
        pass  # only the timeline entry

    async def _channel_attached(self, conn, row, data, at) -> None:
        channel = {
            "id": data["channel_id"],
            "type": data["channel_type"],
            "name": data["name"],
            "url": data["url"],
        }
        await conn.execute(
            "UPDATE alerts SET channels = channels || jsonb_build_array($2::jsonb) WHERE id = $1",
            row["id"],
            orjson.dumps(channel).decode(),
        )

    async def _channel_detached(self, conn, row, data, at) -> None:
        await conn.execute(
            "UPDATE alerts SET channels = coalesce((SELECT jsonb_agg(c) FROM "
            "jsonb_array_elements(channels) c WHERE c->>'id' <> $2), '[]') WHERE id = $1",
            row["id"],
            data["channel_id"],
        )


COUNT_SQL = (
    "INSERT INTO alert_counts VALUES ($1, $2, $3) "
    "ON CONFLICT (source_id, status) DO UPDATE SET n = alert_counts.n + $3"
)


_LOG_TYPES = {
    "created": LogEntryType.ALERT_RECEIVED,
    "event-received": LogEntryType.ALERT_RECEIVED,
    "accepted": LogEntryType.ALERT_ACCEPTED,
    "resolved": LogEntryType.ALERT_RESOLVED,
    "commented": LogEntryType.ALERT_COMMENT,
    "rerouted": LogEntryType.ALERT_ASSIGNED_BY_USER,
    "responder-added": LogEntryType.ALERT_RESPONDER_ADDED,
    "responder-removed": LogEntryType.ALERT_RESPONDER_REMOVED,
    "priority-raised": LogEntryType.ALERT_PRIORITY_RAISED,
    "escalated": LogEntryType.ALERT_ESCALATED,
    "channel-attached": LogEntryType.ALERT_CHANNEL_ATTACHED,
    "channel-detached": LogEntryType.ALERT_CHANNEL_DETACHED,
    "escalation-ended": LogEntryType.ALERT_ESCALATION_ENDED,
    "user-responded": LogEntryType.USER_RESPONSE,
}


def describe_event(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(logEntryType, text) of an alert event; ``kind`` is its type without ``alert-``."""
    actor = data.get("actor") or {}
    by = _actor_text(actor)
    entry_type = _LOG_TYPES[kind]
    if kind == "created" and actor.get("type") == "user":
        entry_type = LogEntryType.ALERT_CREATED_BY_USER
    text = {
        "created": f"Alert created by {by}: {data.get('summary', '')}",
        "event-received": f"Event received from {by}: {data.get('summary', '')}",
        "accepted": f"Alert accepted by {by}",
        "resolved": f"Alert resolved by {by}"
        + (" (auto-resolve timeout)" if data.get("reason") == "AUTO_RESOLVE" else ""),
        "commented": f"Comment by {data.get('creator') or by}: {data.get('content', '')}",
        "rerouted": f"Alert re-routed by {by} to " + _target(data),
        "responder-added": f"User {data.get('user_id')} added as responder by {by}",
        "responder-removed": f"User {data.get('user_id')} removed as responder by {by}",
        "priority-raised": f"Priority raised to HIGH by {by}",
        "escalated": f"Alert escalated to level {data.get('level')} by {by}"
        + _paged(data.get("responders"))
        + _skipped(data.get("skipped")),
        "escalation-ended": f"Escalation ended: {data.get('reason', '')}"
        + _skipped(data.get("skipped")),
        "channel-attached": f"Channel {data.get('name')} attached by {by}",
        "channel-detached": f"Channel {data.get('channel_id')} detached by {by}",
        "user-responded": f"User {data.get('user_id')} answered {data.get('answer')} "
        f"by {data.get('channel')}",
    }[kind]
    return entry_type, text


def _paged(responders: list[int] | None) -> str:
    return f", paging users {', '.join(map(str, responders))}" if responders else ""


def _skipped(levels: list[int] | None) -> str:
    if not levels:
        return ""
    return f" (nobody on call in level {', '.join(map(str, levels))})"


def _target(data: dict[str, Any]) -> str:
    for key, label in (
        ("user_id", "user"),
        ("policy_id", "escalation policy"),
        ("schedule_id", "schedule"),
    ):
        if data.get(key) is not None:
            return f"{label} {data[key]}"
    return "nobody"


def log_vars(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    skip = {"timestamp", "originator_topic", "actor"}
    return {k: v for k, v in data.items() if k not in skip}


async def alert_is_current(pool: asyncpg.Pool, alert_id: int) -> bool:
    """Whether the alert's row (and its responders) hold every event of its stream committed
    so far: its read is then fresh however far the rest of the read model lags. Only the
    timeline also takes events of other streams (deliveries, notifications)."""
    return bool(
        await pool.fetchval(
            "SELECT a.version >= (SELECT max(e.version) FROM events e "
            "WHERE e.stream_id = a.stream_id) FROM alerts a WHERE a.id = $1",
            alert_id,
        )
    )
