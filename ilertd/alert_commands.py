"""Alert commands: load the aggregate, apply, append with the version it was loaded at.

A ConcurrencyError means someone else changed the alert in between: reload and apply the
command again (the rules are re-checked on the fresh state). Inbound events find "the"
alert for a key through keyed stream ids (see ilertd.domain.alert), so the dedup rule holds
in the store even with several ilertd instances racing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore import ConcurrencyError, RecordedEvent
from eventstore.repository import Repository
from projections.escalation_policies import policy_by_id, policy_by_routing_key, policy_rules
from projections.schedules import oncall_schedule, schedule_by_id

from .clock import Clock, SystemClock
from .domain.alert import Alert, AlertStatus, Priority, keyed_alert_id, normalize_key
from .domain.errors import DomainError
from .engine.escalation import Ended, Level, Policy, Step, first_due, next_step
from .keyed_locks import KeyedLocks
from .oncall import on_call_at
from .oncall.model import Schedule as OnCallSchedule

MAX_ATTEMPTS = 8
#: Escalation steps taken per round (one read, one group commit).
DUE_ROUND = 500
#: (source, key) pairs whose latest alert is kept in memory, least recently used out.
RECENT_ALERTS = 20_000
#: How long a looked-up escalation policy is trusted: edits reach new steps within this
#: time, and a burst of alerts on one policy costs one query, not one each.
POLICY_TTL_S = 2.0

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
    alert_id: int | None = None


@dataclass
class KnownAlert:
    """The latest alert of a (source, key) as this process last saw it."""

    alert: Alert
    generation: int
    alert_id: int


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
        self._recent: OrderedDict[tuple[int, str], KnownAlert] = OrderedDict()
        self._policies: dict[int, tuple[float, Policy | None]] = {}
        self._schedules: dict[int, tuple[float, OnCallSchedule | None]] = {}
        self._locks = KeyedLocks()
        #: Steps whose timers fired, waiting for the next escalation round.
        self._due: list[tuple[UUID, asyncio.Future[bool]]] = []
        self._due_task: asyncio.Task[None] | None = None

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
        return await self.snapshot_of(await self.stream_of(alert_id), alert_id, at=at)

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
        try:
            alert, result = await self.repository.change(
                stream, command, metadata=metadata, attempts=MAX_ATTEMPTS
            )
        except ConcurrencyError:
            raise DomainError("the alert is changing too fast; try again") from None
        return alert, result.last_position if result else None

    async def respond(self, alert_id: int, user_id: int, channel: str, answer: str) -> Alert:
        """A responder answered a page (``answer`` accept, resolve or escalate by
        ``channel``): the answer and what it asks for are appended together."""
        actor: dict[str, Any] = {"type": "user", "id": user_id, "via": channel}
        metadata = {"actor": f"user:{user_id}", "via": channel}

        def command(alert: Alert) -> None:
            if answer == "accept" and alert.status is AlertStatus.ACCEPTED:
                raise DomainError("the alert is already accepted")
            alert.record_response(user_id, channel, answer, actor)
            if answer == "accept":
                alert.accept(actor, user_id)
            elif answer == "resolve":
                alert.resolve(actor)
            elif not alert.is_open:
                raise DomainError("cannot escalate: the alert is resolved")

        alert, _ = await self.act(alert_id, command, metadata)
        if answer == "escalate":
            await self.escalate(await self.stream_of(alert_id), by=actor)
        return alert

    # -- escalation --------------------------------------------------------------------

    async def policy(self, policy_id: int | None) -> Policy | None:
        """The live escalation policy as the pure engine model (None: none or deleted)."""
        if policy_id is None:
            return None
        now = time.monotonic()
        cached = self._policies.get(policy_id)
        if cached is not None and now - cached[0] < POLICY_TTL_S:
            return cached[1]
        row = await policy_by_id(self.pool, policy_id)
        policy = None
        if row is not None:
            levels = tuple(
                Level(r["escalation_timeout_s"], tuple(r["users"]), tuple(r["schedules"]))
                for r in policy_rules(row)
            )
            policy = Policy(levels, row["repeating"], row["frequency"], row["delay_min"])
        if len(self._policies) > 10_000:
            self._policies.clear()
        self._policies[policy_id] = (now, policy)
        return policy

    async def _policy_for(self, source: asyncpg.Record, new: NewAlert) -> int | None:
        """The policy an alert starts on: given by hand, picked by the event's routingKey
        (the live policy with that routing key), else the source's."""
        if new.escalation_policy_id is not None:
            return new.escalation_policy_id
        if new.routing_key:
            routed = await policy_by_routing_key(self.pool, new.routing_key)
            if routed is not None:
                return routed["id"]
        return source["escalation_policy_id"]

    async def _schedule(self, schedule_id: int) -> OnCallSchedule | None:
        """A schedule as the on-call model, trusted for ``POLICY_TTL_S`` like policies: a
        storm of alerts on one policy reads each schedule once, and who is on call is still
        computed for the very moment of each step."""
        now = time.monotonic()
        cached = self._schedules.get(schedule_id)
        if cached is not None and now - cached[0] < POLICY_TTL_S:
            return cached[1]
        row = await schedule_by_id(self.pool, schedule_id)
        schedule = oncall_schedule(row) if row is not None else None
        if len(self._schedules) > 10_000:
            self._schedules.clear()
        self._schedules[schedule_id] = (now, schedule)
        return schedule

    async def _on_call(self, policy: Policy) -> dict[int, int]:
        """Who is on call now in each schedule the policy names."""
        now = self.clock.now()
        found: dict[int, int] = {}
        for schedule_id in {s for level in policy.levels for s in level.schedules}:
            schedule = await self._schedule(schedule_id)
            shift = on_call_at(schedule, now) if schedule is not None else None
            if shift is not None:
                found[schedule_id] = shift.user_id
        return found

    async def _first_step(self, policy: Policy, low_priority: bool) -> Step | Ended:
        """The step a new alert takes as it opens (level 0, or the first level with
        somebody on call)."""
        return next_step(
            policy,
            0,
            0,
            self.clock.now(),
            (await self._on_call(policy)).get,
            low_priority=low_priority,
        )

    async def escalate(self, stream: UUID, *, by: dict[str, Any] | None = None) -> bool:
        """Page the alert's next escalation level.

        The engine calls it when an escalation timer fires (``by`` None): it acts only if
        that step is still due on the alert's current version, so an alert accepted a
        moment earlier, or a step another instance already took, does nothing. A person
        (``by``) escalates at once, and a broken rule is a DomainError.
        """
        actor = by or {"type": "system", "reason": "escalation"}
        async with self._locks.hold(stream):
            for _ in range(MAX_ATTEMPTS):
                alert: Alert = await self.repository.load(stream)
                if by is None and not _escalation_due(alert, self.clock.now()):
                    return False
                await self._take_next_step(alert, actor, by)
                try:
                    await self.repository.save(alert, metadata={"actor": _actor_tag(actor)})
                except ConcurrencyError:
                    continue
                return True
        raise DomainError("the alert is changing too fast; try again")

    async def _take_next_step(
        self, alert: Alert, actor: dict[str, Any], by: dict[str, Any] | None
    ) -> None:
        """Apply the alert's next escalation step (or its end) to the aggregate."""
        policy = await self.policy(alert.escalation_policy_id)
        if policy is None:
            if by is not None:
                raise DomainError("the alert has no escalation policy to escalate on")
            alert.end_escalation("the escalation policy no longer exists", actor)
            return
        on_call = await self._on_call(policy)
        step = next_step(
            policy,
            alert.next_level,
            alert.next_round,
            self.clock.now(),
            on_call.get,
            low_priority=by is None and alert.priority is Priority.LOW,
        )
        if isinstance(step, Ended) and by is not None:
            raise DomainError(f"cannot escalate: {step.reason}")
        _apply_step(alert, step, actor)

    async def escalate_due(self, stream: UUID) -> bool:
        """A timer says the alert's next step is due: taken together with every other step
        falling due at the same moment (a storm's level-1 steps), in rounds of one read of
        all their streams and one group-committed append; True if it escalated."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._due.append((stream, done))
        if self._due_task is None or self._due_task.done():
            self._due_task = loop.create_task(self._escalate_rounds())
        return await done

    async def _escalate_rounds(self) -> None:
        while self._due:
            await asyncio.sleep(0)  # timers firing in this same instant join the round
            round_, self._due = self._due[:DUE_ROUND], self._due[DUE_ROUND:]
            try:
                results = await self._escalate_round(list(dict.fromkeys(s for s, _ in round_)))
            except Exception as exc:
                for _, done in round_:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for stream, done in round_:
                if not done.done():
                    done.set_result(results.get(stream, False))

    async def _escalate_round(self, streams: list[UUID]) -> dict[UUID, bool]:
        actor = {"type": "system", "reason": "escalation"}
        alerts = await self.repository.load_many(streams)
        now = self.clock.now()
        taking = [a for a in alerts.values() if _escalation_due(a, now)]
        for alert in taking:
            await self._take_next_step(alert, actor, None)
        saved = await asyncio.gather(
            *(self.repository.save(a, metadata={"actor": _actor_tag(actor)}) for a in taking),
            return_exceptions=True,
        )
        results = dict.fromkeys(streams, False)
        for alert, outcome in zip(taking, saved, strict=True):
            if isinstance(outcome, ConcurrencyError):
                results[alert.id] = await self.escalate(alert.id)  # re-checked on a reload
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results[alert.id] = True
        return results

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
        policy_id = await self._policy_for(source, new)
        policy = await self.policy(policy_id)
        now = self.clock.now()
        first = first_due(policy, now) if policy is not None else None
        # A step due as the alert opens is taken in the same append: the first page does
        # not wait for a timer to fire and a second command to load the alert again.
        step = None
        if policy is not None and first is not None and first <= now:
            step = await self._first_step(policy, priority == Priority.LOW)
            first = None
        alert = Alert(
            source_id=source["id"],
            summary=new.summary,
            details=new.details,
            priority=priority,
            severity=new.severity,
            alert_key=new.alert_key or uuid.uuid4().hex,
            generation=generation,
            escalation_policy_id=policy_id,
            routing_key=new.routing_key,
            images=list(new.images),
            links=list(new.links),
            labels=dict(new.labels or {}),
            custom_details=new.custom_details,
            responders=list(new.responders),
            actor=actor,
            auto_resolve_after_s=source["auto_resolution_timeout_s"],
            next_escalation_at=first,
            id=stream_id or uuid.uuid4(),
        )
        if step is not None:
            _apply_step(alert, step, {"type": "system", "reason": "escalation"})
        result = await self.repository.save(
            alert, metadata=metadata, idempotency_key=idempotency_key
        )
        assert result is not None
        if result.duplicate:
            alert = await self.repository.load(result.stream_id)
        return alert, result.first_position

    # -- inbound events ----------------------------------------------------------------
    #
    # The hot path. The latest alert of each recently seen (source, key) stays in memory
    # after it was saved, so a dedup hit costs one append and no reads. A stale entry
    # (another instance, or a REST action, moved the alert on) is harmless: its append
    # fails the version check, the entry is dropped and the alert is read from the store.

    async def _load_latest(self, source: asyncpg.Record, key: str) -> KnownAlert | None:
        """The latest generation for this key, from the store (the projection only gives a
        starting hint for the probe; anything newer is found in the store)."""
        # one round trip answers the common case, a key never seen: no hint, no first stream
        hint, first_exists = await self.pool.fetchrow(
            "SELECT (SELECT max(generation) FROM alerts WHERE source_id = $1 "
            "AND alert_key_norm = $2), EXISTS (SELECT 1 FROM events WHERE stream_id = $3)",
            source["id"],
            normalize_key(key),
            keyed_alert_id(source["stream_id"], key, 0),
        )
        if hint is None and not first_exists:
            return None
        generation = hint if hint is not None else 0
        store = self.repository.store
        while await store.stream_version(keyed_alert_id(source["stream_id"], key, generation + 1)):
            generation += 1
        rows = await store.read_stream(keyed_alert_id(source["stream_id"], key, generation))
        alert: Alert | None = None
        for row in rows:
            alert = self.repository.mapper.to_domain_event(row).mutate(alert)
        assert alert is not None
        return KnownAlert(alert, generation, rows[0].position)

    async def _known(self, source: asyncpg.Record, key: str, fresh: bool) -> KnownAlert | None:
        cache_key = (source["id"], normalize_key(key))
        known = None if fresh else self._recent.get(cache_key)
        if known is None:
            known = await self._load_latest(source, key)
        return known

    def _remember(self, source: asyncpg.Record, key: str, known: KnownAlert | None) -> None:
        cache_key = (source["id"], normalize_key(key))
        self._recent.pop(cache_key, None)
        if known is not None:
            self._recent[cache_key] = known
            while len(self._recent) > RECENT_ALERTS:
                self._recent.popitem(last=False)

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
            return Outcome("NEW_ALERT_CREATED", alert, position, position)
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
        key = new.alert_key
        assert key
        mode = source["alert_creation"]
        if idempotency_key is None and (source["id"], normalize_key(key)) not in self._recent:
            # A key not seen here lately is most often a new one (a storm is new keys):
            # open its first alert straight away. The append expects an empty stream, so
            # if the key has a history it fails and the key is read as before; a new key
            # costs one round trip instead of a probe and then the append. (A request
            # with an idempotency key takes the usual path: a replay must get the answer
            # the first request got.)
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
                alert, position = await self.create(
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
            alert, position = await self.create(
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


def _apply_step(alert: Alert, step: Step | Ended, actor: dict[str, Any]) -> None:
    """Page the step's level, or record that escalation ended, on the aggregate."""
    if isinstance(step, Step):
        alert.escalate(
            step.level,
            actor,
            list(step.responders),
            round=step.round,
            next_escalation_at=step.next_at,
            skipped=list(step.skipped),
        )
    else:
        alert.end_escalation(step.reason, actor, list(step.skipped))


def _escalation_due(alert: Alert, now: datetime) -> bool:
    due = alert.next_escalation_at
    return alert.is_open and alert.status is AlertStatus.PENDING and due is not None and due <= now


def _actor_tag(actor: dict[str, Any]) -> str:
    return f"{actor.get('type', 'system')}:{actor.get('id', actor.get('reason', ''))}"


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
