"""Timers: what is due when, derived from events so a restart loses none of them.

Each alert has at most one timer of each ``TimerKind``, named ``<kind>:<alert stream>``:
its auto-resolve deadline and its next escalation step. Each heartbeat monitor has one
while it waits for a ping: its last recorded ping plus its interval. After each committed batch the
projection tells its listener (the timer engine, given at construction) which timers were
set, moved or cancelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.timers import TimerKind

from .base import Projection

#: A heartbeat monitor's events that set (pinged) or cancel (the others) its timer.
HEARTBEAT_EVENTS = (
    "heartbeat-monitor-pinged",
    "heartbeat-monitor-went-overdue",
    "heartbeat-monitor-updated",
    "heartbeat-monitor-deleted",
)


@dataclass(frozen=True)
class TimerChange:
    """``due_at`` None: the timer is gone."""

    name: str
    kind: TimerKind
    stream_id: UUID
    due_at: datetime | None


Listener = Callable[[list[TimerChange]], Awaitable[None]]


class TimersProjection(Projection):
    name = "timers"
    version = 2
    leader_only = True
    tables = ("timers",)
    event_types = frozenset(
        {
            "alert-created",
            "alert-event-received",
            "alert-resolved",
            "alert-accepted",
            "alert-escalated",
            "alert-escalation-ended",
            "alert-rerouted",
            *HEARTBEAT_EVENTS,
        }
    )

    def __init__(self, listener: Listener | None = None) -> None:
        #: None where no engine runs (``ilertd rebuild``): the changes go nowhere
        self.listener = listener
        self._changes: list[TimerChange] = []

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS timers (
                name       text        PRIMARY KEY,
                kind       text        NOT NULL,
                stream_id  uuid        NOT NULL,
                due_at     timestamptz NOT NULL,
                interval_s integer
            );
            CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at);
            CREATE INDEX IF NOT EXISTS timers_stream ON timers (stream_id);
            """
        )

    def batch_started(self) -> None:
        self._changes = []

    async def batch_committed(self) -> None:
        changes, self._changes = self._changes, []
        if changes and self.listener is not None:
            await self.listener(changes)

    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """A run of dedup events moves its deadlines in one statement; a run of escalations
        that set their next step (a storm of new alerts, or of level-1 steps) one more."""

        def run_of(event: RecordedEvent) -> Any:
            if event.type == "alert-event-received":
                return self._received_run
            if event.type == "alert-escalated" and event.data.get("next_escalation_at"):
                return self._escalated_run
            if event.type == "alert-created" and not event.data.get("auto_resolve_after_s"):
                # nothing but (maybe) an escalation timer: part of the same kind of run
                return self._escalated_run
            return None

        await self.apply_runs(conn, events, run_of)

    async def _escalated_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        due: dict[UUID, datetime] = {}
        for event in run:
            at = event.data.get("next_escalation_at")
            if at:
                due[event.stream_id] = datetime.fromisoformat(at)
        if not due:
            return
        await conn.executemany(
            "INSERT INTO timers VALUES ($1, $2, $3, $4, NULL) "
            "ON CONFLICT (name) DO UPDATE SET due_at = $4",
            [
                (TimerKind.ESCALATE.timer_name(s), TimerKind.ESCALATE, s, at)
                for s, at in due.items()
            ],
        )
        self._changes += [
            TimerChange(TimerKind.ESCALATE.timer_name(s), TimerKind.ESCALATE, s, at)
            for s, at in due.items()
        ]

    async def _received_run(self, conn: asyncpg.Connection, run: list[RecordedEvent]) -> None:
        moved: dict[str, datetime] = {}
        for event in run:
            received = event.data.get("received_at") or event.data["timestamp"]
            name = TimerKind.AUTO_RESOLVE.timer_name(event.stream_id)
            moved[name] = datetime.fromisoformat(received)
        await self._move(conn, moved)

    async def _move(self, conn: asyncpg.Connection, moved_from: dict[str, datetime]) -> None:
        if not moved_from:
            return
        rows = await conn.fetch(
            "UPDATE timers t SET due_at = v.at + make_interval(secs => t.interval_s) "
            "FROM unnest($1::text[], $2::timestamptz[]) AS v(name, at) "
            "WHERE t.name = v.name RETURNING t.name, t.stream_id, t.due_at",
            list(moved_from),
            list(moved_from.values()),
        )
        for row in rows:
            self._changes.append(
                TimerChange(row["name"], TimerKind.AUTO_RESOLVE, row["stream_id"], row["due_at"])
            )

    async def _set_escalation(
        self, conn: asyncpg.Connection, stream_id: UUID, due: str | None
    ) -> None:
        """The alert's next escalation step (one timer per alert), or none."""
        name = TimerKind.ESCALATE.timer_name(stream_id)
        if due is None:
            if await conn.fetchval("DELETE FROM timers WHERE name = $1 RETURNING 1", name):
                self._changes.append(TimerChange(name, TimerKind.ESCALATE, stream_id, None))
            return
        at = datetime.fromisoformat(due)
        await conn.execute(
            "INSERT INTO timers VALUES ($1, $2, $3, $4, NULL) "
            "ON CONFLICT (name) DO UPDATE SET due_at = $4",
            name,
            TimerKind.ESCALATE,
            stream_id,
            at,
        )
        self._changes.append(TimerChange(name, TimerKind.ESCALATE, stream_id, at))

    async def _heartbeat(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """A monitor's ping recorded: due an interval later; overdue, a new key or deleted:
        no timer until the next recorded ping."""
        name = TimerKind.HEARTBEAT.timer_name(event.stream_id)
        if event.type == "heartbeat-monitor-pinged":
            due = datetime.fromisoformat(event.data["at"]) + timedelta(
                seconds=event.data["interval_s"]
            )
            await conn.execute(
                "INSERT INTO timers VALUES ($1, $2, $3, $4, NULL) "
                "ON CONFLICT (name) DO UPDATE SET due_at = $4",
                name,
                TimerKind.HEARTBEAT,
                event.stream_id,
                due,
            )
            self._changes.append(TimerChange(name, TimerKind.HEARTBEAT, event.stream_id, due))
            return
        if event.type == "heartbeat-monitor-updated" and not event.data.get("integration_key"):
            return  # the same key: the deadline stands (a new interval comes with a new key)
        if await conn.fetchval("DELETE FROM timers WHERE name = $1 RETURNING 1", name):
            self._changes.append(TimerChange(name, TimerKind.HEARTBEAT, event.stream_id, None))

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.type in HEARTBEAT_EVENTS:
            await self._heartbeat(conn, event)
            return
        data = event.data
        at = datetime.fromisoformat(data["timestamp"])
        name = TimerKind.AUTO_RESOLVE.timer_name(event.stream_id)
        if event.type == "alert-created":
            after = data.get("auto_resolve_after_s")
            if after:
                due = at + timedelta(seconds=after)
                await conn.execute(
                    "INSERT INTO timers VALUES ($1, $2, $3, $4, $5) "
                    "ON CONFLICT (name) DO UPDATE SET due_at = $4, interval_s = $5",
                    name,
                    TimerKind.AUTO_RESOLVE,
                    event.stream_id,
                    due,
                    after,
                )
                self._changes.append(
                    TimerChange(name, TimerKind.AUTO_RESOLVE, event.stream_id, due)
                )
            if data.get("next_escalation_at"):  # a new alert has no timer to remove
                await self._set_escalation(conn, event.stream_id, data["next_escalation_at"])
        elif event.type in ("alert-escalated", "alert-rerouted"):
            await self._set_escalation(conn, event.stream_id, data.get("next_escalation_at"))
        elif event.type in ("alert-accepted", "alert-escalation-ended"):
            await self._set_escalation(conn, event.stream_id, None)
        elif event.type == "alert-event-received":
            received = data.get("received_at") or data["timestamp"]
            await self._move(conn, {name: datetime.fromisoformat(received)})
        elif event.type == "alert-resolved":
            deleted = await conn.fetch(
                "DELETE FROM timers WHERE stream_id = $1 RETURNING name, kind", event.stream_id
            )
            for row in deleted:
                change = TimerChange(row["name"], TimerKind(row["kind"]), event.stream_id, None)
                self._changes.append(change)


async def pending_timers(conn: asyncpg.Connection | asyncpg.Pool) -> list[TimerChange]:
    rows = await conn.fetch("SELECT name, kind, stream_id, due_at FROM timers ORDER BY due_at")
    return [TimerChange(r["name"], TimerKind(r["kind"]), r["stream_id"], r["due_at"]) for r in rows]
