"""The Events API's dedup hot path: an ALERT event joins the latest alert of its
(source, key) or opens the next one; ACCEPT, RESOLVE and COMMENT act on it.

Tuned with profiling; keep its round trips as they are. The latest alert of each recently
seen (source, key) stays in memory after it was saved, so a dedup hit costs one append and
no reads. A stale entry (another instance, or a REST action, moved the alert on) is
harmless: its append fails the version check, the entry is dropped and the alert is read
from the store. Events on one key queue on an in-process lock, so only other instances
race on the version check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from eventstore import ConcurrencyError
from eventstore.repository import Repository

from ..clock import Clock
from ..domain.alert import Alert, AlertStatus, keyed_alert_id, normalize_key
from ..domain.errors import DomainError
from ..keyed_locks import KeyedLocks
from ..maintenance.gate import MaintenanceGate, Suppressed
from .creation import NewAlert
from .known import KnownAlert, KnownAlerts
from .streams import MAX_ATTEMPTS

OPEN_ALLOWED = "ONE_OPEN_ALERT_ALLOWED"
PENDING_ALLOWED = "ONE_PENDING_ALERT_ALLOWED"
GROUPED = "ONE_ALERT_GROUPED_PER_WINDOW"
PER_EMAIL = "ONE_ALERT_PER_EMAIL"


@dataclass(frozen=True)
class Outcome:
    """What an inbound event did: ``code`` is the Events API ``responseCode``."""

    code: str
    alert: Alert | None
    position: int | None = None
    alert_id: int | None = None
    #: the maintenance window that kept the event from opening an alert
    suppressed: Suppressed | None = None


#: ``responseCode`` of an ALERT event a maintenance window held (no alert was created)
SUPPRESSED = "MAINTENANCE_WINDOW_ACTIVE"


#: ``Creation.create``: opens an alert and returns it with its first position.
Create = Callable[..., Awaitable[tuple[Alert, int]]]


class Ingest:
    def __init__(
        self,
        repository: Repository,
        pool: asyncpg.Pool,
        clock: Clock,
        create: Create,
        locks: KeyedLocks,
        maintenance: MaintenanceGate,
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self._create = create
        self._locks = locks
        self._maintenance = maintenance
        self._latest = KnownAlerts(repository, pool)
        self._recent = self._latest.recent  # read on every keyed event: no call
        self._known = self._latest.get
        self._remember = self._latest.remember

    async def ingest_alert(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        """Open an alert or join the open one; a source in an active maintenance window
        opens none (``SUPPRESSED``), though an event joining an open alert still joins."""
        actor = {"type": "source", "id": source["id"]}
        mode = source["alert_creation"]
        try:
            # ONE_ALERT_PER_EMAIL_SUBJECT is keyed (by the subject, ilertd.inbound.email):
            # one open alert per key, as ONE_OPEN_ALERT_ALLOWED
            if not new.alert_key or mode == PER_EMAIL:
                alert, position = await self._create(
                    source, new, actor, metadata, idempotency_key=idempotency_key
                )
                return Outcome("NEW_ALERT_CREATED", alert, position, position)
            async with self._locks.hold((source["id"], normalize_key(new.alert_key))):
                return await self._ingest_keyed(source, new, actor, metadata, idempotency_key)
        except Suppressed as held:
            return Outcome(SUPPRESSED, None, held.position, suppressed=held)

    async def _ingest_keyed(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        actor: dict[str, Any],
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> Outcome:
        key = new.alert_key
        assert key
        mode = source["alert_creation"]
        if (
            idempotency_key is None
            and (source["id"], normalize_key(key)) not in self._recent
            and await self._maintenance.active_window(source["id"]) is None
        ):
            # A key not seen here lately is most often a new one (a storm is new keys):
            # open its first alert straight away. The append expects an empty stream, so
            # if the key has a history it fails and the key is read as before; a new key
            # costs one round trip instead of a probe and then the append. (A request
            # with an idempotency key takes the usual path: a replay must get the answer
            # the first request got. So does a source in maintenance: an event for an
            # alert that is open still joins it, only a new alert is held.)
            opened = await self._open_first(source, new, actor, metadata)
            if opened is not None:
                return opened
        for attempt in range(MAX_ATTEMPTS):
            known = await self._known(source, key, fresh=attempt > 0)
            if known is not None and _absorbs(known.alert, mode, source, self.clock.now()):
                known.alert.add_event(
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
                        known.alert, metadata=metadata, idempotency_key=idempotency_key
                    )
                except ConcurrencyError:
                    self._remember(source, key, None)
                    continue
                except BaseException:
                    self._remember(source, key, None)  # the copy holds an unsaved change
                    raise
                assert result is not None
                # a replayed request changed nothing: the in-memory copy ran ahead
                self._remember(source, key, None if result.duplicate else known)
                return Outcome(
                    "ALERT_ALREADY_EXISTS", known.alert, result.last_position, known.alert_id
                )
            generation = known.generation + 1 if known is not None else 0
            try:
                alert, position = await self._create(
                    source,
                    new,
                    actor,
                    metadata,
                    stream_id=keyed_alert_id(source["stream_id"], key, generation),
                    generation=generation,
                    idempotency_key=idempotency_key,
                )
            except ConcurrencyError:
                self._remember(source, key, None)
                continue  # another instance opened it first: it is now the one to join
            self._remember(source, key, KnownAlert(alert, generation, position))
            return Outcome("NEW_ALERT_CREATED", alert, position, position)
        raise DomainError("too many concurrent events for this alertKey; try again")

    async def _open_first(
        self,
        source: asyncpg.Record,
        new: NewAlert,
        actor: dict[str, Any],
        metadata: dict[str, Any],
    ) -> Outcome | None:
        """Open generation 0 of the key's alerts; None if that stream already exists."""
        key = new.alert_key
        assert key
        try:
            alert, position = await self._create(
                source,
                new,
                actor,
                metadata,
                stream_id=keyed_alert_id(source["stream_id"], key, 0),
                generation=0,
            )
        except ConcurrencyError:
            return None
        self._remember(source, key, KnownAlert(alert, 0, position))
        return Outcome("NEW_ALERT_CREATED", alert, position, position)

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
        for attempt in range(MAX_ATTEMPTS):
            known = await self._known(source, alert_key, fresh=attempt > 0)
            if known is None or not known.alert.is_open:
                return Outcome("NO_OPEN_ALERT", None)
            alert = known.alert
            if action == "ACCEPT":
                if not alert.accept(actor):
                    return Outcome("ALERT_ACCEPTED", alert, None, known.alert_id)
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
                self._remember(source, alert_key, None)
                continue
            except BaseException:
                self._remember(source, alert_key, None)  # the copy holds an unsaved change
                raise
            self._remember(source, alert_key, None if result and result.duplicate else known)
            return Outcome(code, alert, result.last_position if result else None, known.alert_id)
        raise DomainError("too many concurrent events for this alertKey; try again")


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
