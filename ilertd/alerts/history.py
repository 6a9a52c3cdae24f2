"""Time travel: an alert rebuilt from its own events up to a moment or a version.

The read model only knows the present; ``GET /api/alerts/{id}?at=`` and webhook bodies
(the alert as of the event that triggered them) need the past, so they fold the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from eventstore import RecordedEvent
from eventstore.repository import Repository

from ..domain.alert import Alert, AlertStatus
from .streams import AlertNotFoundError, stream_of


@dataclass(frozen=True)
class AlertSnapshot:
    """An alert rebuilt from its events up to a moment, with the times a row would carry."""

    alert: Alert
    alert_id: int
    version: int
    report_time: datetime
    accepted_at: datetime | None
    resolved_on: datetime | None
    updated_at: datetime


class History:
    def __init__(self, repository: Repository, pool: asyncpg.Pool) -> None:
        self.repository = repository
        self.pool = pool

    async def snapshot(self, alert_id: int, at: datetime | None = None) -> AlertSnapshot:
        """The alert as it was at ``at`` (None: now), straight from its events."""
        return await self.snapshot_of(await stream_of(self.pool, alert_id), alert_id, at=at)

    async def snapshot_of(
        self,
        stream: UUID,
        alert_id: int,
        *,
        at: datetime | None = None,
        version: int | None = None,
        events: list[RecordedEvent] | None = None,
    ) -> AlertSnapshot:
        """The alert as it was at ``at`` or right after its event ``version``; ``events``:
        the stream as the caller read it already (with others, in one query)."""
        mapper = self.repository.mapper
        alert: Alert | None = None
        times: dict[str, datetime] = {}
        version_seen = 0
        if events is None:
            rows = await self.repository.store.read_stream(stream, to_version=version)
        else:
            rows = [e for e in events if version is None or e.version <= version]
        for row in rows:
            event = mapper.to_domain_event(row)
            if at is not None and event.timestamp > at:
                break
            alert = event.mutate(alert)
            version_seen = row.version
            times[type(event).__name__] = event.timestamp
            times["updated"] = event.timestamp
        if alert is None:
            raise AlertNotFoundError(f"alert {alert_id} did not exist yet at {at}")
        status = alert.status
        return AlertSnapshot(
            alert=alert,
            alert_id=alert_id,
            version=version_seen,
            report_time=alert.created_on,
            accepted_at=times.get("Accepted") if status is not AlertStatus.PENDING else None,
            resolved_on=times.get("Resolved") if status is AlertStatus.RESOLVED else None,
            updated_at=times["updated"],
        )
