"""Commands on incidents: declare (numbered in the same atomic append), change, and the
resolve cascade.

Declares in one process queue on an in-process lock on the counter, so only other
instances race on its version; a lost race takes the next number and tries again, and the
number is taken only in the append that declares the incident: no gaps, no duplicates.

Resolving an incident resolves its linked open alerts through the alert commands, each
alert's timeline naming the incident. The request does it at once, after the incident's
``incident-resolved`` committed; should the process die in between, the leader's sweep
(``finish_cascades``, run whenever an instance becomes leader) finds every RESOLVED
incident with a linked alert still open and resolves it, so nothing is lost: the fact is
the committed ``incident-resolved`` event, the alert resolutions follow from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from eventstore import ConcurrencyError
from eventstore.repository import AggregateNotFoundError, Repository

from ..alerts.service import AlertCommands
from ..alerts.streams import AlertNotFoundError
from ..domain.alert import Alert
from ..domain.errors import DomainError
from ..domain.incident import NUMBERS_ID, Incident, IncidentNumbers, IncidentStatus
from ..keyed_locks import KeyedLocks

log = structlog.get_logger(__name__)

#: Times a declare or command is tried again after losing a race on a version.
MAX_ATTEMPTS = 10


class IncidentNotFoundError(LookupError):
    pass


def incident_actor(incident: Incident, incident_id: int) -> dict[str, Any]:
    """Who resolved a linked alert: the incident (its timeline says so)."""
    return {"type": "incident", "id": incident_id, "reference": incident.reference}


class IncidentCommands:
    def __init__(
        self, repository: Repository, pool: asyncpg.Pool, alert_commands: AlertCommands
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.alerts = alert_commands
        self._locks = KeyedLocks()

    async def stream_of(self, incident_id: int) -> UUID:
        stream = await self.pool.fetchval(
            "SELECT stream_id FROM incidents WHERE id = $1", incident_id
        )
        if stream is None:
            raise IncidentNotFoundError(f"no incident {incident_id}")
        return stream

    async def declare(
        self,
        build: Callable[[int, UUID], Incident],
        metadata: dict[str, Any],
    ) -> tuple[Incident, int, int]:
        """Take the next number and declare ``build(number, stream)`` (which may record
        more events on the new incident) in one atomic append. Returns the incident, its
        id and the last position written."""
        async with self._locks.hold(NUMBERS_ID):
            for attempt in range(MAX_ATTEMPTS):
                try:
                    numbers = await self.repository.load(NUMBERS_ID)
                except AggregateNotFoundError:
                    numbers = IncidentNumbers.start()
                stream = uuid4()
                incident = build(numbers.take(stream), stream)
                try:
                    results = await self.repository.save_together(
                        [numbers, incident], metadata=metadata
                    )
                except ConcurrencyError:
                    if attempt == MAX_ATTEMPTS - 1:
                        raise DomainError("incidents are declared too fast; try again") from None
                    continue
                mine = next(r for r in results if r.stream_id == stream)
                return incident, mine.first_position, max(r.last_position for r in results)
        raise AssertionError("unreachable")

    async def act(
        self, incident_id: int, command: Callable[[Incident], Any], metadata: dict[str, Any]
    ) -> tuple[Incident, int | None]:
        """Apply ``command`` with retries; the incident and the last position written."""
        stream = await self.stream_of(incident_id)
        async with self._locks.hold(stream):
            try:
                incident, result = await self.repository.change(
                    stream, command, metadata=metadata, attempts=MAX_ATTEMPTS
                )
            except ConcurrencyError:
                raise DomainError("the incident is changing too fast; try again") from None
        return incident, result.last_position if result else None

    async def resolve_linked(self, incident: Incident, incident_id: int) -> int | None:
        """Resolve the incident's linked alerts still open; the last position written."""
        if incident.is_open:
            return None
        actor = incident_actor(incident, incident_id)
        metadata = {"actor": f"incident:{incident_id}"}
        last = None

        def command(alert: Alert) -> bool:
            if not alert.is_open:
                return False
            alert.resolve(actor)
            return True

        for alert_id in sorted(incident.alerts):
            try:
                _, position = await self.alerts.act(alert_id, command, metadata)
            except (AlertNotFoundError, DomainError) as exc:
                log.info("linked alert not resolved", alert=alert_id, reason=str(exc))
                continue
            last = position or last
        return last

    async def finish_cascades(self) -> int:
        """Resolve the open alerts of every RESOLVED incident (a cascade a dead process
        left unfinished); how many incidents had some."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT i.id FROM incidents i "
            "JOIN incident_alerts l ON l.incident_id = i.id "
            "JOIN alerts a ON a.id = l.alert_id "
            "WHERE i.status = $1 AND a.status <> 'RESOLVED'",
            IncidentStatus.RESOLVED.value,
        )
        for row in rows:
            stream = await self.stream_of(row["id"])
            incident = await self.repository.load(stream)
            await self.resolve_linked(incident, row["id"])
        if rows:
            log.info("finished incident resolve cascades", incidents=len(rows))
        return len(rows)
