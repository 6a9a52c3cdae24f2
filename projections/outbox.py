"""The outbox: every delivery an alert action owes, and where each one stands.

An alert event that an automatic action's trigger types and sources match becomes a
PENDING row here; the delivery events (``action-delivery-*``) move it on: an attempt that
failed sets the next attempt's time, a success, a dead letter or a skip closes it. Only the
head of a chain (one action, one alert) has a ``next_attempt_at``: the next one waits until
the head closes, so one alert's deliveries to one action go out in event order.

Replaying the events rebuilds exactly this table: the actions as they were at each event
live in this projection's own ``outbox_actions`` (never another read model, which could be
ahead or behind), and deliveries that already went out close again on their outcome
events. Conditions and the payload need the alert as of the event; the dispatcher checks
them when sending, so this projection stays a cheap table writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.action_delivery import chain_id, delivery_id
from ilertd.domain.alert_action import ESCALATION_ENDED, NOT_RESOLVED
from ilertd.outbound.event_types import TRIGGERING_EVENTS, webhook_event_type

from . import outbox_channels
from .base import Projection, RunHandler

DDL = """
CREATE TABLE IF NOT EXISTS outbox_actions (
    id                       bigint  PRIMARY KEY,
    stream_id                uuid    NOT NULL UNIQUE,
    source_ids               bigint[] NOT NULL,
    trigger_mode             text    NOT NULL,
    trigger_types            text[]  NOT NULL,
    escalation_ended_delay_s integer,
    not_resolved_delay_s     integer,
    deleted                  boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS outbox_incidents (
    stream_id   uuid   PRIMARY KEY,
    incident_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_alerts (
    stream_id uuid   PRIMARY KEY,
    alert_id  bigint NOT NULL,
    source_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id              text        PRIMARY KEY,
    chain           uuid        NOT NULL,
    seq             bigint      NOT NULL,
    alert_id        bigint      NOT NULL,
    alert_stream    uuid        NOT NULL,
    alert_version   integer     NOT NULL,
    action_id       bigint      NOT NULL,
    event_type      text        NOT NULL,
    manual          boolean     NOT NULL DEFAULT false,
    status          text        NOT NULL,
    due_at          timestamptz NOT NULL,
    next_attempt_at timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    last_status     integer,
    external_ref    text,
    kind            text        NOT NULL DEFAULT 'alert',
    channel_id      bigint,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at)
    WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_chain ON deliveries (chain, seq) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id, seq);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, updated_at DESC);
"""

#: A new delivery (of an alert's event, or ``kind`` 'incident': then ``alert_id`` and
#: ``alert_stream`` name the incident): the chain's head at once, or waiting behind the
#: chain's open head.
INSERT_SQL = """
INSERT INTO deliveries (id, chain, seq, alert_id, alert_stream, alert_version, action_id,
    event_type, manual, status, due_at, next_attempt_at, created_at, updated_at, kind)
SELECT $1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10::timestamptz,
    CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE chain = $2::uuid AND status = 'PENDING')
         THEN NULL ELSE $10::timestamptz END, $11::timestamptz, $11::timestamptz, $12
ON CONFLICT (id) DO NOTHING
"""

#: Close a delivery and make the next waiting one of its chain the head, in one statement.
#: The chain is a scalar subquery, so the next head is an index lookup by that one chain
#: (joined to the CTE, a generic plan walked every pending delivery: 900 rows per close
#: with a backlog, found by bench/delivery.py).
CLOSE_SQL = """
WITH closed AS (
    UPDATE deliveries SET status = $2, next_attempt_at = NULL, attempts = $3,
        last_error = $4, last_status = $5, external_ref = coalesce($6, external_ref),
        updated_at = $7
    WHERE id = $1 AND status = 'PENDING' RETURNING chain
)
UPDATE deliveries SET next_attempt_at = greatest(due_at, $7), updated_at = $7
WHERE id = (SELECT d.id FROM deliveries d WHERE d.chain = (SELECT chain FROM closed)
            AND d.status = 'PENDING' AND d.next_attempt_at IS NULL AND d.id <> $1
            ORDER BY d.seq LIMIT 1)
"""

_ACTION_EVENTS = frozenset({"alert-action-created", "alert-action-updated", "alert-action-deleted"})
_DELIVERY_EVENTS = frozenset(
    {
        "action-delivery-requested",
        "action-delivery-retry-requested",
        "action-delivery-succeeded",
        "action-delivery-attempt-failed",
        "action-delivery-dead-lettered",
        "action-delivery-skipped",
    }
)

Listener = Callable[[], Awaitable[None]]


def _ts(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(data["timestamp"])


class OutboxProjection(Projection):
    name = "outbox"
    version = 2
    leader_only = True
    tables = (
        "deliveries",
        "outbox_incidents",
        "outbox_alerts",
        "outbox_actions",
        "outbox_channels",
    )
    event_types = (
        TRIGGERING_EVENTS | _ACTION_EVENTS | _DELIVERY_EVENTS | outbox_channels.CHANNEL_EVENTS
    )

    def __init__(self, listener: Listener | None = None) -> None:
        #: Told after each committed batch that planned or moved deliveries (the
        #: dispatcher wakes up); None where no dispatcher runs (``ilertd rebuild``).
        self.listener = listener
        self._changed = False
        self._actions: dict[int, asyncpg.Record] = {}

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)
        await conn.execute(outbox_channels.DDL)

    def batch_started(self) -> None:
        self._changed = False

    async def batch_committed(self) -> None:
        if self._changed and self.listener is not None:
            await self.listener()

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        # the actions as of this batch's start, kept current while it is applied
        self._actions = {
            row["id"]: row
            for row in await conn.fetch("SELECT * FROM outbox_actions WHERE NOT deleted")
        }
        if not self._actions and not any(e.type in _ACTION_EVENTS for e in events):
            # with no action to match, alert events other than a creation change nothing:
            # leaving them out keeps a storm's new alerts one run (not one per alert)
            events = [
                e
                for e in events
                if e.type == "alert-created"
                or e.type.startswith("incident-")  # rare; they may owe channel posts
                or e.type in _ACTION_EVENTS
                or e.type in _DELIVERY_EVENTS
            ]
        # runs of new alerts and of closing outcomes (the bulk under load) go pipelined
        await self.apply_runs(conn, events, self._run_of)

    def _run_of(self, event: RecordedEvent) -> RunHandler | None:
        if event.type == "alert-created":
            return self._created_all
        kind = event.type.removeprefix("action-delivery-")
        if kind in _CLOSED_STATUS and event.type in _DELIVERY_EVENTS:
            return self._close_all
        return None

    async def _close_all(self, conn: asyncpg.Connection, closed: list[RecordedEvent]) -> None:
        await conn.executemany(
            CLOSE_SQL,
            [_close_args(e.type.removeprefix("action-delivery-"), e.data) for e in closed],
        )
        self._changed = True

    async def _created_all(self, conn: asyncpg.Connection, created: list[RecordedEvent]) -> None:
        await conn.executemany(
            "INSERT INTO outbox_alerts VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(e.stream_id, e.position, e.data["source_id"]) for e in created],
        )
        planned = [
            plan for e in created for plan in self._planned(e, e.position, e.data["source_id"])
        ]
        if planned:
            await conn.executemany(INSERT_SQL, planned)
            self._changed = True

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.type in _ACTION_EVENTS:
            await self._action_changed(conn, event)
        elif event.type in _DELIVERY_EVENTS:
            await self._delivery_event(conn, event)
        elif event.type.startswith("incident-"):
            await self._incident_event(conn, event)
        elif self._actions or event.type == "alert-created":
            await self._alert_event(conn, event)

    # -- actions -----------------------------------------------------------------------

    async def _action_changed(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "alert-action-deleted":
            action_id = await conn.fetchval(
                "UPDATE outbox_actions SET deleted = true WHERE stream_id = $1 RETURNING id",
                event.stream_id,
            )
            self._actions.pop(action_id, None)
            return
        row = await conn.fetchrow(
            """
            INSERT INTO outbox_actions VALUES ($1, $2, $3, $4, $5, $6, $7, false)
            ON CONFLICT (stream_id) DO UPDATE SET source_ids = $3, trigger_mode = $4,
                trigger_types = $5, escalation_ended_delay_s = $6, not_resolved_delay_s = $7
            RETURNING *
            """,
            event.position,  # the id, when this is the creating event
            event.stream_id,
            data["alert_source_ids"],
            data["trigger_mode"],
            data["trigger_types"],
            data.get("escalation_ended_delay_s"),
            data.get("not_resolved_delay_s"),
        )
        self._actions[row["id"]] = row

    # -- alert events ------------------------------------------------------------------

    async def _alert_event(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "alert-created":
            alert_id, source_id = event.position, data["source_id"]
            await conn.execute(
                "INSERT INTO outbox_alerts VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                event.stream_id,
                alert_id,
                source_id,
            )
        else:
            row = await conn.fetchrow(
                "SELECT alert_id, source_id FROM outbox_alerts WHERE stream_id = $1",
                event.stream_id,
            )
            if row is None:
                return
            alert_id, source_id = row["alert_id"], row["source_id"]
        planned = self._planned(event, alert_id, source_id)
        if planned:
            await conn.executemany(INSERT_SQL, planned)
            self._changed = True

    async def _incident_event(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """An incident event owes the automatic actions that list its type, whatever their
        alert sources (an incident belongs to none), and a post to each attached channel."""
        if event.type == "incident-declared":
            incident_id = event.position
            await conn.execute(
                "INSERT INTO outbox_incidents VALUES ($1, $2) ON CONFLICT DO NOTHING",
                event.stream_id,
                incident_id,
            )
        else:
            incident_id = await conn.fetchval(
                "SELECT incident_id FROM outbox_incidents WHERE stream_id = $1", event.stream_id
            )
            if incident_id is None:
                return
            if await outbox_channels.plan_posts(conn, event, incident_id):
                self._changed = True
        if not self._actions:
            return
        event_type = webhook_event_type(event.type, event.data)
        if event_type is None:
            return
        at = _ts(event.data)
        planned = [
            (
                delivery_id(event.position, action["id"]),
                chain_id(event.stream_id, action["id"]),
                event.position,
                incident_id,
                event.stream_id,
                event.version,
                action["id"],
                event_type,
                False,
                at,
                at,
                "incident",
            )
            for action in self._actions.values()
            if action["trigger_mode"] == "AUTOMATIC" and event_type in action["trigger_types"]
        ]
        if planned:
            await conn.executemany(INSERT_SQL, planned)
            self._changed = True

    def _planned(
        self, event: RecordedEvent, alert_id: int, source_id: int
    ) -> list[tuple[Any, ...]]:
        """The deliveries one alert event owes the automatic actions (INSERT_SQL rows)."""
        event_type = webhook_event_type(event.type, event.data)
        if event_type is None:
            return []
        at = _ts(event.data)
        planned = []
        for action in self._actions.values():
            if action["trigger_mode"] != "AUTOMATIC" or (
                action["source_ids"] and source_id not in action["source_ids"]
            ):
                continue
            for kind, lane, due in self._plans(action, event_type, at):
                planned.append(
                    (
                        delivery_id(event.position, action["id"])
                        + ("" if not lane else f"-{lane}"),
                        chain_id(event.stream_id, action["id"], lane),
                        event.position,
                        alert_id,
                        event.stream_id,
                        event.version,
                        action["id"],
                        kind,
                        False,
                        due,
                        at,
                        "alert",
                    )
                )
        return planned

    @staticmethod
    def _plans(
        action: asyncpg.Record, event_type: str, at: datetime
    ) -> list[tuple[str, str, datetime]]:
        """(eventType, lane, due) of what one event owes one action."""
        plans = []
        types = action["trigger_types"]
        if event_type in types:
            delay = action["escalation_ended_delay_s"] if event_type == ESCALATION_ENDED else None
            lane = "ended" if delay else ""
            plans.append((event_type, lane, at + timedelta(seconds=delay or 0)))
        if event_type == "alert-created" and NOT_RESOLVED in types:
            delay = action["not_resolved_delay_s"] or 0
            plans.append((NOT_RESOLVED, "open", at + timedelta(seconds=delay)))
        return plans

    # -- delivery events ---------------------------------------------------------------

    async def _delivery_event(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        at = _ts(data)
        kind = event.type.removeprefix("action-delivery-")
        if kind == "requested":
            alert_stream = await conn.fetchval(
                "SELECT stream_id FROM outbox_alerts WHERE alert_id = $1", data["alert_id"]
            )
            if alert_stream is None:
                return
            await conn.execute(
                INSERT_SQL,
                delivery_id(event.position, data["action_id"]),
                event.stream_id,
                event.position,
                data["alert_id"],
                alert_stream,
                data["alert_version"],
                data["action_id"],
                data["event_type"],
                True,
                at,
                at,
                "alert",
            )
        elif kind == "retry-requested":
            await conn.execute(
                "UPDATE deliveries SET status = 'PENDING', attempts = 0, last_error = NULL, "
                "last_status = NULL, next_attempt_at = $2, updated_at = $2 "
                "WHERE id = $1 AND status = 'DEAD'",
                data["delivery_id"],
                at,
            )
        elif kind == "attempt-failed":
            await conn.execute(
                "UPDATE deliveries SET attempts = $2, last_error = $3, last_status = $4, "
                "next_attempt_at = $5, updated_at = $6 WHERE id = $1 AND status = 'PENDING'",
                data["delivery_id"],
                data["attempt"],
                data["error"],
                data.get("status_code"),
                datetime.fromisoformat(data["next_attempt_at"]),
                at,
            )
        elif kind in _CLOSED_STATUS:
            await conn.execute(CLOSE_SQL, *_close_args(kind, data))
        else:
            return
        self._changed = True


_CLOSED_STATUS = {"succeeded": "SUCCEEDED", "dead-lettered": "DEAD", "skipped": "SKIPPED"}


def _close_args(kind: str, data: dict[str, Any]) -> tuple[Any, ...]:
    return (
        data["delivery_id"],
        _CLOSED_STATUS[kind],
        data.get("attempt") or data.get("attempts") or 0,
        data.get("error") or data.get("reason"),
        data.get("status_code"),
        data.get("external_ref"),
        _ts(data),
    )
