"""The pager's read model: who must be paged about which alert, and each notification's
state.

An alert event that makes users responders (created with responders, escalated to a level,
a responder added, re-routed to a user) becomes one *page request* per user; the notifier
plans it into notifications (``alert-notifications-scheduled`` events, one per rule) and
those become rows here, due at their rule's delay. Accepting or resolving the alert cancels
what is still scheduled; removing a responder cancels theirs. Sent and failed events move
the rows on. Accepting, resolving and escalating also become *status update* requests
(kind ``ALERT_ACCEPTED``...) for the responders whose ``updates`` rules ask for them, from
this projection's own copy of those rules. Everything here follows from events, so a
restart (or a rebuild) loses no page and repeats none that has an outcome.

Incidents page their responders and tell their subscribers through the same requests and
notifications (``pager_incidents``: kinds ``INCIDENT`` and ``INCIDENT_*``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.alert_notifications import PAGE

from . import pager_incidents
from .base import Projection

DDL = """
CREATE TABLE IF NOT EXISTS pager_alerts (
    stream_id uuid    PRIMARY KEY,
    alert_id  bigint  NOT NULL,
    priority   text     NOT NULL,
    status     text     NOT NULL,
    responders bigint[] NOT NULL DEFAULT '{}',
    summary    text     NOT NULL DEFAULT '',
    details    text     NOT NULL DEFAULT '',
    source_id  bigint
);
CREATE TABLE IF NOT EXISTS pager_users (
    stream_id uuid   PRIMARY KEY,
    user_id   bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS pager_update_rules (
    user_id     bigint  NOT NULL,
    rule_id     integer NOT NULL,
    update_type text    NOT NULL,
    PRIMARY KEY (user_id, rule_id)
);
CREATE TABLE IF NOT EXISTS page_requests (
    id           text        PRIMARY KEY,
    alert_id     bigint      NOT NULL,
    alert_stream uuid        NOT NULL,
    user_id      bigint      NOT NULL,
    paged_at     timestamptz NOT NULL,
    planned      boolean     NOT NULL DEFAULT false,
    kind         text        NOT NULL DEFAULT 'ALERT'
);
CREATE INDEX IF NOT EXISTS page_requests_open ON page_requests (paged_at) WHERE NOT planned;
CREATE TABLE IF NOT EXISTS notifications (
    id              text        PRIMARY KEY,
    alert_id        bigint      NOT NULL,
    alert_stream    uuid        NOT NULL,
    user_id         bigint      NOT NULL,
    page            text        NOT NULL,
    kind            text        NOT NULL DEFAULT 'ALERT',
    method          text        NOT NULL,
    target          text        NOT NULL,
    rule_id         integer,
    status          text        NOT NULL,
    due_at          timestamptz NOT NULL,
    next_attempt_at timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at)
    WHERE status = 'SCHEDULED';
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (alert_id, due_at);
CREATE INDEX IF NOT EXISTS notifications_target ON notifications (target, updated_at DESC)
    WHERE status = 'SUCCESS';
"""

_ALERT_EVENTS = frozenset(
    {
        "alert-created",
        "alert-escalated",
        "alert-responder-added",
        "alert-responder-removed",
        "alert-rerouted",
        "alert-accepted",
        "alert-resolved",
        "alert-priority-raised",
    }
)
_NOTIFICATION_EVENTS = frozenset(
    {
        "alert-notifications-scheduled",
        "alert-notifications-skipped",
        "alert-notifications-sent",
        "alert-notifications-failed",
    }
)
#: Who has which ``updates`` rules: this projection keeps its own copy, so a rebuild asks
#: for the same status updates as the live run did.
_USER_EVENTS = frozenset(
    {
        "user-registered",
        "user-deleted",
        "user-notification-rule-added",
        "user-notification-rule-changed",
        "user-notification-rule-removed",
    }
)
#: A page request's kind: a page (``PAGE``: the user must act) or one of ilert's status
#: updates, by the alert event that causes it.
UPDATE_KINDS = {
    "alert-accepted": "ALERT_ACCEPTED",
    "alert-resolved": "ALERT_RESOLVED",
    "alert-escalated": "ALERT_ESCALATED",
}

NEW_ALERT_SQL = (
    "INSERT INTO pager_alerts VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7) ON CONFLICT DO NOTHING"
)
PAGE_REQUEST_SQL = (
    "INSERT INTO page_requests VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT DO NOTHING"
)
PLANNED_SQL = "UPDATE page_requests SET planned = true WHERE id = $1"
SCHEDULED_SQL = """
INSERT INTO notifications (id, alert_id, alert_stream, user_id, page, kind,
    method, target, rule_id, status, due_at, next_attempt_at, created_at,
    updated_at)
SELECT $1, a.alert_id, a.stream_id, $3, $4, $10, $5, $6, $7,
    CASE WHEN live THEN 'SCHEDULED' ELSE 'CANCELLED' END,
    $8, CASE WHEN live THEN $8::timestamptz END, $9, $9
FROM pager_alerts a, LATERAL (SELECT $10 <> 'ALERT' OR a.status = 'PENDING')
    AS l(live)
WHERE a.alert_id = $2
ON CONFLICT (id) DO NOTHING
"""
SENT_SQL = (
    "UPDATE notifications SET status = 'SUCCESS', next_attempt_at = NULL, "
    "attempts = attempts + 1, updated_at = $2 WHERE id = $1"
)

Listener = Callable[[], Awaitable[None]]


def page_id(position: int, user_id: int) -> str:
    """A page request: the event that paged the user, and the user."""
    return f"{position}-{user_id}"


def _paged_users(event_type: str, data: dict[str, Any]) -> list[int]:
    if event_type in ("alert-created", "alert-escalated"):
        return list(data.get("responders") or [])
    if event_type == "alert-responder-added":
        return [data["user_id"]]
    if event_type == "alert-rerouted" and data.get("user_id") is not None:
        return [data["user_id"]]
    return []


class PagerProjection(Projection):
    name = "pager"
    version = 4
    leader_only = True
    tables = (
        "notifications",
        "page_requests",
        "pager_alerts",
        "pager_users",
        "pager_update_rules",
        *pager_incidents.TABLES,
    )
    event_types = _ALERT_EVENTS | _NOTIFICATION_EVENTS | _USER_EVENTS | pager_incidents.EVENT_TYPES

    def __init__(self, listener: Listener | None = None) -> None:
        #: Told after each committed batch that requested pages or scheduled or sent
        #: notifications (the notifier wakes up); None where none runs (``ilertd rebuild``).
        self.listener = listener
        self._changed = False

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)
        await conn.execute(pager_incidents.DDL)

    def batch_started(self) -> None:
        self._changed = False

    async def batch_committed(self) -> None:
        if self._changed and self.listener is not None:
            await self.listener()

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """Runs of one kind are pipelined statements: new alerts with the escalation that
        pages their first level (appended together), scheduled and sent notifications."""
        opened: set[Any] = set()

        def run_of(event: RecordedEvent) -> Any:
            if event.type == "alert-created":
                opened.add(event.stream_id)
                return self._new_alerts
            if event.type == "alert-escalated" and event.stream_id in opened:
                return self._new_alerts
            opened.clear()  # any other event ends a run of new alerts
            if event.type == "alert-escalated":
                return self._escalated_run
            if event.type == "alert-notifications-scheduled":
                return self._scheduled_run
            if event.type == "alert-notifications-sent":
                return self._sent_run
            return None

        await self.apply_runs(conn, events, run_of)

    async def _new_alerts(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        """New alerts and the escalations of alerts opened in this same run, applied in
        memory, then one pipelined insert of the alerts and one of their page requests."""
        alerts: dict[Any, dict[str, Any]] = {}
        pages: list[tuple[Any, ...]] = []
        for event in run:
            data = event.data
            at = datetime.fromisoformat(data["timestamp"])
            users = list(data.get("responders") or [])
            if event.type == "alert-created":
                alerts[event.stream_id] = {
                    "alert_id": event.position,
                    "priority": data["priority"],
                    "status": "PENDING",
                    "responders": users,
                    "summary": data.get("summary") or "",
                    "details": data.get("details") or "",
                    "source_id": data.get("source_id"),
                }
            else:
                alert = alerts[event.stream_id]
                if set(alert["responders"]) - set(users):
                    # paged before: they may want an "escalated" update (rare at creation)
                    await self._request_updates(conn, event, alert, data, at)
                alert["responders"] = list(dict.fromkeys([*alert["responders"], *users]))
            alert_id = alerts[event.stream_id]["alert_id"]
            pages += [
                (page_id(event.position, u), alert_id, event.stream_id, u, at, PAGE) for u in users
            ]
        await conn.executemany(
            NEW_ALERT_SQL,
            [
                (
                    stream,
                    a["alert_id"],
                    a["priority"],
                    a["responders"],
                    a["summary"],
                    a["details"],
                    a["source_id"],
                )
                for stream, a in alerts.items()
            ],
        )
        if pages:
            await conn.executemany(PAGE_REQUEST_SQL, pages)
            self._changed = True

    async def _escalated_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        """Escalations of existing alerts (a storm's level-1 steps fall due together): one
        read of their alerts, one of who wants "escalated" updates, pipelined writes."""
        alerts = {
            r["stream_id"]: dict(r)
            for r in await conn.fetch(
                "SELECT stream_id, alert_id, status, responders FROM pager_alerts "
                "WHERE stream_id = ANY($1::uuid[])",
                list({e.stream_id for e in run}),
            )
        }
        pages: list[tuple[Any, ...]] = []
        updates: list[tuple[RecordedEvent, dict[str, Any], datetime, set[int]]] = []
        for event in run:
            alert = alerts.get(event.stream_id)
            if alert is None:
                continue
            data = event.data
            at = datetime.fromisoformat(data["timestamp"])
            users = list(data.get("responders") or [])
            if alert["status"] != "RESOLVED":
                told = set(alert["responders"]) - set(users)
                actor = data.get("actor") or {}
                if actor.get("type") == "user":
                    told.discard(actor.get("id"))
                if told:
                    updates.append((event, alert, at, told))
                pages += [
                    (page_id(event.position, u), alert["alert_id"], event.stream_id, u, at, PAGE)
                    for u in users
                ]
            alert["responders"] = list(dict.fromkeys([*alert["responders"], *users]))
            alert["changed"] = True
        if updates:
            wanting = {
                r["user_id"]
                for r in await conn.fetch(
                    "SELECT DISTINCT user_id FROM pager_update_rules "
                    "WHERE user_id = ANY($1::bigint[]) AND update_type = 'ALERT_ESCALATED'",
                    sorted(set().union(*(told for *_, told in updates))),
                )
            }
            kind = UPDATE_KINDS["alert-escalated"]
            pages += [
                (page_id(event.position, u), alert["alert_id"], event.stream_id, u, at, kind)
                for event, alert, at, told in updates
                for u in sorted(told & wanting)
            ]
        await conn.executemany(
            "UPDATE pager_alerts SET responders = $2 WHERE stream_id = $1",
            [(s, a["responders"]) for s, a in alerts.items() if a.get("changed")],
        )
        if pages:
            await conn.executemany(PAGE_REQUEST_SQL, pages)
            self._changed = True

    async def _scheduled_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        await conn.executemany(PLANNED_SQL, [(e.data["page"],) for e in run])
        for sql in {_scheduled_sql(e.data) for e in run}:
            await conn.executemany(
                sql, [_scheduled_args(e.data) for e in run if _scheduled_sql(e.data) == sql]
            )
        self._changed = True

    async def _sent_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        await conn.executemany(
            SENT_SQL,
            [(e.data["notification_id"], datetime.fromisoformat(e.data["timestamp"])) for e in run],
        )
        self._changed = True

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        at = datetime.fromisoformat(data["timestamp"])
        if event.type in _NOTIFICATION_EVENTS:
            await self._notification_event(conn, event.type, data, at)
            self._changed = True
            return
        if event.type in _USER_EVENTS:
            await _user_event(conn, event, data)
            return
        if event.type in pager_incidents.EVENT_TYPES:
            if await pager_incidents.incident_event(conn, event):
                self._changed = True
            return
        if event.type == "alert-created":
            await self._new_alerts(conn, [event])
            return
        alert = await conn.fetchrow(
            "SELECT * FROM pager_alerts WHERE stream_id = $1", event.stream_id
        )
        if alert is None:
            return
        await self._alert_changed(conn, event, alert, data, at)

    async def _alert_changed(
        self,
        conn: asyncpg.Connection,
        event: RecordedEvent,
        alert: asyncpg.Record,
        data: dict[str, Any],
        at: datetime,
    ) -> None:
        stream = event.stream_id
        if event.type in UPDATE_KINDS:
            await self._request_updates(conn, event, alert, data, at)
        await _track_responders(conn, event, data)
        if event.type in ("alert-accepted", "alert-resolved"):
            status = "ACCEPTED" if event.type == "alert-accepted" else "RESOLVED"
            await conn.execute(
                "UPDATE pager_alerts SET status = $2 WHERE stream_id = $1", stream, status
            )
            await self._cancel(conn, stream, at)
            return
        if event.type == "alert-priority-raised":
            await conn.execute(
                "UPDATE pager_alerts SET priority = 'HIGH' WHERE stream_id = $1", stream
            )
            return
        if event.type == "alert-responder-removed":
            await self._cancel(conn, stream, at, data["user_id"])
            return
        if event.type == "alert-rerouted" and alert["status"] == "ACCEPTED":
            await conn.execute(
                "UPDATE pager_alerts SET status = 'PENDING' WHERE stream_id = $1", stream
            )
        users = _paged_users(event.type, data)
        if not users or alert["status"] == "RESOLVED":
            return
        await conn.executemany(
            PAGE_REQUEST_SQL,
            [(page_id(event.position, u), alert["alert_id"], stream, u, at, PAGE) for u in users],
        )
        self._changed = True

    async def _request_updates(
        self,
        conn: asyncpg.Connection,
        event: RecordedEvent,
        alert: asyncpg.Record,
        data: dict[str, Any],
        at: datetime,
    ) -> None:
        """A status update for each responder with an ``updates`` rule for it: on accept
        and resolve every responder but the one who did it; on escalation those paged
        before (the newly paged get a page instead)."""
        kind = UPDATE_KINDS[event.type]
        if kind == "ALERT_ESCALATED" and alert["status"] == "RESOLVED":
            return
        told = set(alert["responders"])
        if kind == "ALERT_ESCALATED":
            told -= set(data.get("responders") or [])
        actor = data.get("actor") or {}
        if actor.get("type") == "user":
            told.discard(actor.get("id"))
        told.discard(data.get("user_id"))
        if not told:
            return
        status = await conn.execute(
            """
            INSERT INTO page_requests
            SELECT $1 || '-' || u.user_id, $2, $3, u.user_id, $4, false, $5
            FROM (SELECT DISTINCT user_id FROM pager_update_rules
                  WHERE user_id = ANY($6::bigint[]) AND update_type = $5) u
            ON CONFLICT DO NOTHING
            """,
            str(event.position),
            alert["alert_id"],
            event.stream_id,
            at,
            kind,
            sorted(told),
        )
        if not status.endswith(" 0"):
            self._changed = True

    @staticmethod
    async def _cancel(
        conn: asyncpg.Connection, stream: Any, at: datetime, user_id: int | None = None
    ) -> None:
        """What is still scheduled (for one user, or all) will not go out."""
        await conn.execute(
            "UPDATE notifications SET status = 'CANCELLED', next_attempt_at = NULL, "
            "updated_at = $2 WHERE status = 'SCHEDULED' AND alert_stream = $1 "
            "AND kind = 'ALERT' AND ($3::bigint IS NULL OR user_id = $3)",
            stream,
            at,
            user_id,
        )
        await conn.execute(
            "UPDATE page_requests SET planned = true WHERE NOT planned AND alert_stream = $1 "
            "AND kind = 'ALERT' AND ($2::bigint IS NULL OR user_id = $2)",
            stream,
            user_id,
        )

    async def _notification_event(
        self, conn: asyncpg.Connection, event_type: str, data: dict[str, Any], at: datetime
    ) -> None:
        kind = event_type.removeprefix("alert-notifications-")
        if kind in ("scheduled", "skipped"):
            await conn.execute(PLANNED_SQL, data["page"])
        if kind == "scheduled":
            await conn.execute(_scheduled_sql(data), *_scheduled_args(data))
        elif kind == "sent":
            await conn.execute(SENT_SQL, data["notification_id"], at)
        elif kind == "failed":
            retry = data.get("retry_at")
            await conn.execute(
                "UPDATE notifications SET status = CASE WHEN $3::timestamptz IS NULL "
                "THEN 'ERROR' ELSE status END, next_attempt_at = $3, attempts = $4, "
                "last_error = $5, updated_at = $2 WHERE id = $1 AND status = 'SCHEDULED'",
                data["notification_id"],
                at,
                datetime.fromisoformat(retry) if retry else None,
                data["attempt"],
                data["error"],
            )


def _scheduled_sql(data: dict[str, Any]) -> str:
    """An alert's notification or an incident's."""
    if (data.get("kind") or PAGE) in pager_incidents.INCIDENT_KINDS:
        return pager_incidents.SCHEDULED_SQL
    return SCHEDULED_SQL


def _scheduled_args(data: dict[str, Any]) -> tuple[Any, ...]:
    return (
        data["notification_id"],
        data["alert_id"],
        data["user_id"],
        data["page"],
        data["method"],
        data["target"],
        data.get("rule_id"),
        datetime.fromisoformat(data["due_at"]),
        datetime.fromisoformat(data["timestamp"]),
        data.get("kind") or PAGE,
    )


_RESPONDER_CHANGES = {
    "alert-escalated": "SELECT ARRAY(SELECT DISTINCT unnest(responders || $2::bigint[]))",
    "alert-responder-added": "SELECT ARRAY(SELECT DISTINCT unnest(responders || $2::bigint[]))",
    "alert-responder-removed": "SELECT array_remove(responders, ($2::bigint[])[1])",
    "alert-rerouted": "SELECT $2::bigint[]",
}


async def _track_responders(
    conn: asyncpg.Connection, event: RecordedEvent, data: dict[str, Any]
) -> None:
    """Keep each alert's responders as the alert aggregate does: they decide who gets
    status updates."""
    change = _RESPONDER_CHANGES.get(event.type)
    if change is None:
        return
    if event.type == "alert-escalated":
        users = list(data.get("responders") or [])
    else:
        users = [data["user_id"]] if data.get("user_id") is not None else []
    await conn.execute(
        f"UPDATE pager_alerts SET responders = ({change}) WHERE stream_id = $1",
        event.stream_id,
        users,
    )


async def _user_event(conn: asyncpg.Connection, event: RecordedEvent, data: dict[str, Any]) -> None:
    """This projection's copy of who has which ``updates`` rules."""
    if event.type == "user-registered":
        await conn.execute(
            "INSERT INTO pager_users VALUES ($1, $2) ON CONFLICT DO NOTHING",
            event.stream_id,
            event.position,
        )
        return
    user_id = await conn.fetchval(
        "SELECT user_id FROM pager_users WHERE stream_id = $1", event.stream_id
    )
    if user_id is None:
        return
    if event.type == "user-deleted":
        await conn.execute("DELETE FROM pager_update_rules WHERE user_id = $1", user_id)
    elif event.type != "user-notification-rule-removed" and data.get("kind") == "updates":
        await conn.execute(
            "INSERT INTO pager_update_rules VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, rule_id) DO UPDATE SET update_type = EXCLUDED.update_type",
            user_id,
            data["rule_id"],
            data["update_type"],
        )
    else:
        await conn.execute(
            "DELETE FROM pager_update_rules WHERE user_id = $1 AND rule_id = $2",
            user_id,
            data["rule_id"],
        )
