"""Alert commands: load the aggregate, apply, append with the version it was loaded at.

A ConcurrencyError means someone else changed the alert in between: reload and apply the
command again (the rules are re-checked on the fresh state). Inbound events find "the"
alert for a key through keyed stream ids (see ilertd.domain.alert), so the dedup rule holds
in the store even with several ilertd instances racing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore import ConcurrencyError
from eventstore.repository import Repository

from .clock import Clock, SystemClock
from .domain.alert import Alert, AlertStatus, keyed_alert_id, normalize_key
from .domain.errors import DomainError
from .keyed_locks import KeyedLocks

MAX_ATTEMPTS = 8

OPEN_ALLOWED = "ONE_OPEN_ALERT_ALLOWED"
PENDING_ALLOWED = "ONE_PENDING_ALERT_ALLOWED"
GROUPED = "ONE_ALERT_GROUPED_PER_WINDOW"
PER_EMAIL = "ONE_ALERT_PER_EMAIL"


class AlertNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Outcome:
    """What an inbound event did: ``code`` is the Events API ``responseCode``."""

    code: str
    alert: Alert | None
    position: int | None = None


@dataclass(frozen=True)
class NewAlert:
    """Everything an alert is created with, from an event or by hand."""

    summary: str
    details: str = ""
    priority: str | None = None
    severity: int | None = None
    alert_key: str | None = None
    escalation_policy_id: int | None = None
    routing_key: str | None = None
    images: tuple[dict[str, Any], ...] = ()
    links: tuple[dict[str, Any], ...] = ()
    labels: dict[str, str] | None = None
    custom_details: dict[str, Any] | None = None
    responders: tuple[int, ...] = ()


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


class AlertCommands:
    def __init__(
        self, repository: Repository, pool: asyncpg.Pool, clock: Clock | None = None
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock or SystemClock()
        self._locks = KeyedLocks()

    async def stream_of(self, alert_id: int) -> UUID:
        stream = await self.pool.fetchval("SELECT stream_id FROM alerts WHERE id = $1", alert_id)
        if stream is None:
            raise AlertNotFoundError(f"no alert {alert_id}")
        return stream

    async def auto_resolve(self, stream: UUID) -> bool:
        """Resolve the alert if its auto-resolve deadline has passed (a timer fired).

        Re-checked on the current version: an event received a moment ago moved the
        deadline, and a resolved alert stays as it is. True if this call resolved it.
        """
        resolved = False

        def command(alert: Alert) -> None:
            nonlocal resolved
            resolved = False  # a retry starts from the freshly loaded alert
            due = alert.auto_resolve_due_at()
            if due is not None and due <= self.clock.now():
                alert.resolve({"type": "system", "reason": "auto-resolve"}, "AUTO_RESOLVE")
                resolved = True

        async with self._locks.hold(stream):
            await self._act(stream, command, {"actor": "system:auto-resolve"})
        return resolved

    async def snapshot(self, alert_id: int, at: datetime | None = None) -> AlertSnapshot:
        """The alert as it was at ``at`` (None: now), straight from its events."""
        stream = await self.stream_of(alert_id)
        mapper = self.repository.mapper
        alert: Alert | None = None
        times: dict[str, datetime] = {}
        version = 0
        for row in await self.repository.store.read_stream(stream):
            event = mapper.to_domain_event(row)
            if at is not None and event.timestamp > at:
                break
            alert = event.mutate(alert)
            version = row.version
            times[type(event).__name__] = event.timestamp
            times["updated"] = event.timestamp
        if alert is None:
            raise AlertNotFoundError(f"alert {alert_id} did not exist yet at {at}")
        status = alert.status
        return AlertSnapshot(
            alert=alert,
            alert_id=alert_id,
            version=version,
            report_time=alert.created_on,
            accepted_at=times.get("Accepted") if status is not AlertStatus.PENDING else None,
            resolved_on=times.get("Resolved") if status is AlertStatus.RESOLVED else None,
            updated_at=times["updated"],
        )

    async def act(
        self,
        alert_id: int,
        command: Callable[[Alert], Any],
        metadata: dict[str, Any],
    ) -> tuple[Alert, int | None]:
        """Apply ``command`` with retries; returns the alert and the last position written."""
        stream = await self.stream_of(alert_id)
        async with self._locks.hold(stream):
            return await self._act(stream, command, metadata)

    async def _act(
        self, stream: UUID, command: Callable[[Alert], Any], metadata: dict[str, Any]
    ) -> tuple[Alert, int | None]:
        for _ in range(MAX_ATTEMPTS):
            alert: Alert = await self.repository.load(stream)
            command(alert)
            try:
                result = await self.repository.save(alert, metadata=metadata)
            except ConcurrencyError:
                continue
            return alert, result.last_position if result else None
        raise DomainError("the alert is changing too fast; try again")

    async def create(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        actor: dict[str, Any],
        metadata: dict[str, Any],
        *,
        stream_id: UUID | None = None,
        generation: int = 0,
        idempotency_key: str | None = None,
    ) -> tuple[Alert, int]:
        priority = new.priority or _default_priority(source["alert_priority_rule"])
        alert = Alert(
            source_id=source["id"],
            summary=new.summary,
            details=new.details,
            priority=priority,
            severity=new.severity,
            alert_key=new.alert_key or uuid.uuid4().hex,
            generation=generation,
            escalation_policy_id=(
                new.escalation_policy_id
                if new.escalation_policy_id is not None
                else source["escalation_policy_id"]
            ),
            routing_key=new.routing_key,
            images=list(new.images),
            links=list(new.links),
            labels=dict(new.labels or {}),
            custom_details=new.custom_details,
            responders=list(new.responders),
            actor=actor,
            auto_resolve_after_s=source["auto_resolution_timeout_s"],
            id=stream_id or uuid.uuid4(),
        )
        result = await self.repository.save(
            alert, metadata=metadata, idempotency_key=idempotency_key
        )
        assert result is not None
        if result.duplicate:
            alert = await self.repository.load(result.stream_id)
        return alert, result.first_position

    # -- inbound events ----------------------------------------------------------------

    async def _latest_generation(self, source: asyncpg.Record, key: str) -> int:
        """Highest generation that exists in the store (-1: none). The projection only gives
        a starting hint; the store is asked for anything newer."""
        hint = await self.pool.fetchval(
            "SELECT max(generation) FROM alerts WHERE source_id = $1 AND alert_key_norm = $2",
            source["id"],
            normalize_key(key),
        )
        generation = hint if hint is not None else -1
        store = self.repository.store
        while await store.stream_version(keyed_alert_id(source["stream_id"], key, generation + 1)):
            generation += 1
        return generation

    async def _latest(self, source: asyncpg.Record, key: str) -> tuple[int, Alert | None]:
        generation = await self._latest_generation(source, key)
        if generation < 0:
            return generation, None
        stream = keyed_alert_id(source["stream_id"], key, generation)
        return generation, await self.repository.load(stream)

    async def ingest_alert(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        actor = {"type": "source", "id": source["id"]}
        mode = source["alert_creation"]
        if not new.alert_key or mode in (PER_EMAIL, "ONE_ALERT_PER_EMAIL_SUBJECT"):
            alert, position = await self.create(
                source, new, actor, metadata, idempotency_key=idempotency_key
            )
            return Outcome("NEW_ALERT_CREATED", alert, position)
        async with self._locks.hold((source["id"], normalize_key(new.alert_key))):
            return await self._ingest_keyed(source, new, actor, metadata, idempotency_key)

    async def _ingest_keyed(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        actor: dict[str, Any],
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        assert new.alert_key
        mode = source["alert_creation"]
        for _ in range(MAX_ATTEMPTS):
            generation, latest = await self._latest(source, new.alert_key)
            if latest is not None and _absorbs(latest, mode, source, self.clock.now()):
                latest.add_event(
                    new.summary,
                    new.details,
                    list(new.images),
                    list(new.links),
                    dict(new.labels or {}),
                    new.custom_details,
                    actor,
                    received_at=self.clock.now(),
                )
                try:
                    result = await self.repository.save(
                        latest, metadata=metadata, idempotency_key=idempotency_key
                    )
                except ConcurrencyError:
                    continue
                assert result is not None
                return Outcome("ALERT_ALREADY_EXISTS", latest, result.last_position)
            stream = keyed_alert_id(source["stream_id"], new.alert_key, generation + 1)
            try:
                alert, position = await self.create(
                    source,
                    new,
                    actor,
                    metadata,
                    stream_id=stream,
                    generation=generation + 1,
                    idempotency_key=idempotency_key,
                )
            except ConcurrencyError:
                continue  # another instance opened it first: it is now the one to join
            return Outcome("NEW_ALERT_CREATED", alert, position)
        raise DomainError("too many concurrent events for this alertKey; try again")

    async def ingest_action(
        self,
        source: asyncpg.Record,
        action: str,
        alert_key: str,
        comments: tuple[dict[str, Any], ...],
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        """ACCEPT, RESOLVE or COMMENT on the latest open alert with this key."""
        async with self._locks.hold((source["id"], normalize_key(alert_key))):
            return await self._ingest_action(
                source, action, alert_key, comments, metadata, idempotency_key
            )

    async def _ingest_action(
        self,
        source: asyncpg.Record,
        action: str,
        alert_key: str,
        comments: tuple[dict[str, Any], ...],
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        actor = {"type": "source", "id": source["id"]}
        for _ in range(MAX_ATTEMPTS):
            _, alert = await self._latest(source, alert_key)
            if alert is None or not alert.is_open:
                return Outcome("NO_OPEN_ALERT", None)
            if action == "ACCEPT":
                if not alert.accept(actor):
                    return Outcome("ALERT_ACCEPTED", alert)
                code = "ALERT_ACCEPTED"
            elif action == "RESOLVE":
                alert.resolve(actor, "EVENT")
                code = "ALERT_RESOLVED"
            else:
                for comment in comments:
                    alert.comment(comment["content"], actor, comment.get("creator"))
                code = "COMMENT_ADDED"
            try:
                result = await self.repository.save(
                    alert, metadata=metadata, idempotency_key=idempotency_key
                )
            except ConcurrencyError:
                continue
            return Outcome(code, alert, result.last_position if result else None)
        raise DomainError("too many concurrent events for this alertKey; try again")


def _default_priority(rule: str | None) -> str:
    """Support hours are not modelled yet: *_DURING_SUPPORT_HOURS takes its named level."""
    return "LOW" if (rule or "HIGH").startswith("LOW") else "HIGH"


def _absorbs(latest: Alert, mode: str, source: asyncpg.Record, now: datetime) -> bool:
    """Does a new ALERT event with the same key join ``latest`` rather than open another?"""
    if mode == PENDING_ALLOWED:
        return latest.status is AlertStatus.PENDING
    if mode == GROUPED:
        window = source["alert_grouping_window_s"] or 0
        if not latest.is_open or latest.created_on is None:
            return False
        return (now - latest.created_on).total_seconds() <= window
    return latest.is_open
