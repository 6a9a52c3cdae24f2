"""Heartbeat pings and overdue checks: what a ping and a heartbeat timer do.

A ping writes its time to ``heartbeat_pings`` (one upsert; no event) unless it changes
what the events say (``HeartbeatMonitor.needs_ping_event``): then it records ``Pinged``,
resolving the overdue alert first. The engine's ``HEARTBEAT`` timer (due at the last
recorded ping plus the interval) calls ``check_due``: a newer ping moves the timer on
(a checkpoint event), none opens the alert and records ``WentOverdue``.

Alerts open and resolve through the Events API's own commands (``AlertCommands.ingest_*``:
dedup by alertKey, maintenance windows, idempotency). Exactly one alert per overdue period,
across restarts and instances: the alert is opened *before* ``WentOverdue`` is recorded,
under an idempotency key naming the monitor's version, so a timer that fires again after
a crash between the two replays the first answer instead of writing a second alert, and
the alertKey (one per monitor) joins any alert still open. Only the leader runs timers,
and ``WentOverdue`` is appended at the version read, so a second firing fails its check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from eventstore import ConcurrencyError
from eventstore.repository import Repository
from projections.heartbeat_monitors import latest_ping, record_ping

from ..alerts.creation import NewAlert
from ..alerts.service import AlertCommands
from ..clock import Clock
from ..domain.errors import DomainError
from ..domain.heartbeat_monitor import Due, HeartbeatMonitor, alert_key, decide

log = structlog.get_logger(__name__)

SourceById = Callable[[int], Awaitable[asyncpg.Record | None]]
#: How often a ping or check retries when another writer moved the monitor on.
MAX_ATTEMPTS = 5


class HeartbeatCommands:
    def __init__(
        self,
        repository: Repository,
        pool: asyncpg.Pool,
        clock: Clock,
        alerts: AlertCommands,
        source_by_id: SourceById,
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self.alerts = alerts
        self._source = source_by_id

    async def ping(self, row: asyncpg.Record) -> int | None:
        """One ping of the monitor ``row`` (a heartbeat_monitors row); the position of the
        event it recorded, if it needed one (the caller waits for it: read your writes)."""
        now = self.clock.now()
        await record_ping(self.pool, row["stream_id"], now)
        recorded = row["last_ping_at"]
        if (
            recorded is not None
            and not row["overdue"]
            and now < recorded + timedelta(seconds=row["interval_s"])
        ):
            # HEALTHY, and not near the timer (an open alert implies OVERDUE or UNKNOWN);
            # past the deadline the timer may just have recorded the overdue period, which
            # this row would not show yet: ask the aggregate
            return None
        for _ in range(MAX_ATTEMPTS):
            monitor: HeartbeatMonitor = await self.repository.load(row["stream_id"])
            if not monitor.needs_ping_event():
                return None
            if monitor.alert_open:
                await self._resolve(row["id"], monitor)
            monitor.ping(now)
            try:
                result = await self.repository.save(monitor, metadata=_metadata(row["id"]))
            except ConcurrencyError:
                continue
            return result.last_position if result is not None else None
        raise DomainError("too many concurrent pings for this heartbeat; try again")

    async def check_due(self, stream_id: UUID) -> bool:
        """The HEARTBEAT timer fell due: checkpoint, open the overdue alert, or nothing."""
        for _ in range(MAX_ATTEMPTS):
            monitor: HeartbeatMonitor = await self.repository.load(stream_id)
            if monitor.deleted:
                return False
            now = self.clock.now()
            latest = await latest_ping(self.pool, stream_id)
            due = decide(
                now=now,
                recorded=None if monitor.overdue else monitor.last_ping_at,
                latest=latest,
                interval_s=monitor.interval_s,
            )
            if due is Due.NOTHING:
                return False
            monitor_id = await self._monitor_id(stream_id)
            if due is Due.CHECKPOINT:
                assert latest is not None
                monitor.checkpoint(latest)
            else:
                opened = await self.open_alert(monitor_id, monitor)
                monitor.go_overdue(now, alert_opened=opened)
            try:
                await self.repository.save(monitor, metadata=_metadata(monitor_id))
            except ConcurrencyError:
                continue
            return due is Due.OVERDUE
        return False

    async def _monitor_id(self, stream_id: UUID) -> int:
        """The API id: the position of the monitor's first event (as the read model has it;
        read from the store, this never depends on the read model having caught up)."""
        created = await self.repository.store.read_stream(stream_id, to_version=1)
        return created[0].position

    async def open_alert(self, monitor_id: int, monitor: HeartbeatMonitor) -> bool:
        """The overdue alert, on the monitor's source; False when there is none to open it
        on (no source, or deleted, or inactive: the monitor is OVERDUE all the same)."""
        source = await self._live_source(monitor)
        if source is None:
            log.warning("heartbeat overdue without an active alert source", monitor=monitor_id)
            return False
        key = alert_key(monitor_id)
        details = (
            f"No heartbeat within {monitor.interval_s} s; the last one was at "
            f"{monitor.last_ping_at.isoformat() if monitor.last_ping_at else 'never'}."
        )
        outcome = await self.alerts.ingest_alert(
            source,
            NewAlert(summary=monitor.summary, details=details, alert_key=key),
            _metadata(monitor_id),
            f"heartbeat:{monitor.id}:{monitor.version}:overdue",
        )
        log.info("heartbeat overdue", monitor=monitor_id, response=outcome.code)
        return outcome.alert is not None

    async def _resolve(self, monitor_id: int, monitor: HeartbeatMonitor) -> None:
        source = await self._live_source(monitor)
        if source is None:
            return
        outcome = await self.alerts.ingest_action(
            source,
            "RESOLVE",
            alert_key(monitor_id),
            (),
            _metadata(monitor_id),
            f"heartbeat:{monitor.id}:{monitor.version}:resolve",
        )
        log.info("heartbeat recovered", monitor=monitor_id, response=outcome.code)

    async def _live_source(self, monitor: HeartbeatMonitor) -> asyncpg.Record | None:
        if monitor.alert_source_id is None:
            return None
        source = await self._source(monitor.alert_source_id)
        return source if source is not None and source["active"] else None

    async def create_legacy_monitor(self, source: asyncpg.Record) -> int | None:
        """The implicit monitor of a HEARTBEAT alert source, made at its first ping; the
        position to wait for (None: another instance made it a moment ago)."""
        monitor = HeartbeatMonitor.for_legacy_source(source["id"], source["name"])
        try:
            result = await self.repository.save(monitor, metadata=_metadata(None))
        except ConcurrencyError:
            return None
        return result.last_position if result is not None else None


def _metadata(monitor_id: int | None) -> dict[str, Any]:
    return {"actor": f"heartbeat:{monitor_id}", "via": "heartbeats"}


def ping_time(row: asyncpg.Record) -> datetime | None:
    """The newest ping a row knows of: recorded, or written since."""
    times = [t for t in (row["last_ping_at"], row["pinged_at"]) if t is not None]
    return max(times) if times else None
