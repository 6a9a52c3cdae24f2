"""Time travel: an incident rebuilt from its own events up to a moment, for
``GET /api/incidents/{id}?at=`` (the read model only knows the present)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from eventstore import RecordedEvent
from eventstore.mapping import EventMapper
from eventstore.repository import Repository

from ..domain.incident import Incident, IncidentStatus
from .commands import IncidentCommands, IncidentNotFoundError


async def snapshot(
    commands: IncidentCommands, repository: Repository, incident_id: int, at: datetime
) -> dict[str, Any]:
    """The incident as it was at ``at``, in the shape ``views.incident_json`` renders."""
    stream = await commands.stream_of(incident_id)
    rows = await repository.store.read_stream(stream)
    return incident_state(repository.mapper, rows, incident_id, at=at)


def incident_state(
    mapper: EventMapper,
    rows: list[RecordedEvent],
    incident_id: int,
    *,
    at: datetime | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """The incident its events ``rows`` make, up to ``at`` or to ``version``."""
    incident: Incident | None = None
    updated_at = resolved_on = None
    seen = 0
    for row in rows:
        if version is not None and row.version > version:
            break
        event = mapper.to_domain_event(row)
        if at is not None and event.timestamp > at:
            break
        incident = event.mutate(incident)
        seen = row.version
        updated_at = event.timestamp
        if type(event).__name__ == "Resolved":
            resolved_on = event.timestamp
    if incident is None:
        raise IncidentNotFoundError(f"incident {incident_id} was not declared yet at {at}")
    return {
        "id": incident_id,
        "number": incident.number,
        "title": incident.title,
        "summary": incident.summary,
        "severity": incident.severity,
        "status": incident.status.value,
        "created_at": incident.created_on,
        "updated_at": updated_at,
        "resolved_on": resolved_on if incident.status is IncidentStatus.RESOLVED else None,
        "commander_id": incident.commander,
        "message": incident.last_message,
        "send_notification": incident.send_notification,
        "services": list(incident.services.items()),
        "responders": list(incident.responders.items()),
        "alerts": sorted(incident.alerts),
        "subscribers": sorted(incident.subscribers),
        "channels": [incident.channels[c] for c in sorted(incident.channels)],
        "version": seen,
    }


async def linked_incident_at(pool: asyncpg.Pool, alert_id: int, at: datetime) -> int | None:
    """The incident the alert was linked to at ``at`` (for an alert's ``?at=``): the last
    link or unlink of it by then, read from the store (rare reads; no index on the data)."""
    row = await pool.fetchrow(
        "SELECT e.type, (SELECT f.position FROM events f WHERE f.stream_id = e.stream_id "
        "AND f.version = 1) AS incident_id FROM events e "
        "WHERE e.type IN ('incident-alert-linked', 'incident-alert-unlinked') "
        "AND (e.data->>'alert_id')::bigint = $1 AND (e.data->>'timestamp')::timestamptz <= $2 "
        "ORDER BY e.position DESC LIMIT 1",
        alert_id,
        at,
    )
    if row is None or row["type"] == "incident-alert-unlinked":
        return None
    return row["incident_id"]
