"""The dispatcher: sends what the outbox owes, and records every outcome as an event.

It runs on the engine's leader only. Each round takes the due chain heads from the outbox
(``next_attempt_at`` passed; at most ``concurrency`` in flight), sends each, and appends the
outcome to the delivery's chain stream: succeeded, attempt failed (with the next attempt's
time: exponential backoff with jitter), dead-lettered (out of attempts, or a failure no
retry can fix) or skipped (conditions false, the alert moved on, the action deleted). A
delivery stays "in flight" here until the outbox has applied its outcome, so it is never
picked twice; a crash between sending and recording means it is sent again after the
restart with the same ``X-Ilertd-Delivery`` id (at least once, deduplicable).
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from eventstore import ConcurrencyError, RecordedEvent
from eventstore.repository import AggregateNotFoundError, Repository
from projections import ProjectionRunner
from projections.outbound_config import action_by_id, connector_by_id

from ..alerts.service import AlertCommands
from ..alerts.streams import AlertNotFoundError
from ..alerts.views import snapshot_view
from ..clock import Clock
from ..domain.action_delivery import ActionDelivery
from ..domain.alert import AlertStatus
from ..domain.alert_action import ESCALATION_ENDED, NOT_RESOLVED
from ..domain.conditions import Condition, ConditionError, parse_condition
from ..engine.worker import IDLE_POLL_S, LeaderWorker, Wakeup
from ..incidents.commands import IncidentNotFoundError
from ..incidents.history import incident_state
from ..incidents.views import render
from ..metrics import Metrics
from ..sealing import Sealer
from .channel_posts import attempt_post, context_of
from .guard import NetworkPolicy, make_connector
from .smtp import SmtpSettings
from .targets import Delivery, Sender, SendResult

log = structlog.get_logger(__name__)

#: Chains whose aggregate is kept in memory (the dispatcher is their main writer).
CACHED_CHAINS = 10_000
ACTION_TTL_S = 1.0


@dataclass(frozen=True)
class DispatchSettings:
    concurrency: int = 64
    max_attempts: int = 8
    retry_base_s: float = 2.0
    retry_max_s: float = 600.0
    timeout_s: float = 10.0
    public_url: str = "http://127.0.0.1:8080"
    policy: NetworkPolicy = field(default_factory=NetworkPolicy)
    smtp: SmtpSettings | None = None


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: a send result, or a reason not to send at all."""

    result: SendResult | None = None
    skipped: str | None = None
    action_label: str = ""


def backoff(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from ``base_s``, capped, with
    "equal jitter" (between half and all of it) so retries of a burst spread out."""
    delay = min(max_s, base_s * 2 ** (attempt - 1))
    return delay * (0.5 + rng.random() / 2)


class Dispatcher(LeaderWorker):
    projection = "outbox"

    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: Repository,
        alerts: AlertCommands,
        runner: ProjectionRunner,
        clock: Clock,
        settings: DispatchSettings,
        metrics: Metrics | None = None,
        *,
        woken_by: Wakeup,
        sealer: Sealer,
    ) -> None:
        super().__init__(runner, settings.concurrency, woken_by)
        self.pool = pool
        self.sealer = sealer
        self.repository = repository
        self.alerts = alerts
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self._rng = random.Random()
        self._actions: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self._source_names: dict[int, tuple[float, str | None]] = {}
        self._chains: OrderedDict[Any, ActionDelivery] = OrderedDict()
        self._conditions: dict[str, Condition | None] = {}
        self._session: aiohttp.ClientSession | None = None
        self._sender: Sender | None = None

    async def _open(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=make_connector(self.settings.policy, limit=self.settings.concurrency)
        )
        self._sender = Sender(
            self._session, self.settings.policy, self.settings.smtp, self.settings.timeout_s
        )

    async def _close(self) -> None:
        self._chains.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _round(self) -> float:
        now = self.clock.now()
        busy = self._busy()
        if self.free > 0:
            rows = await self.pool.fetch(
                "SELECT * FROM deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 "
                "AND NOT (id = ANY($2::text[])) ORDER BY next_attempt_at LIMIT $3",
                now,
                busy,
                self.free,
            )
            # every due delivery's alert stream in one query, not one read per delivery
            streams = await self.repository.store.read_streams(
                list({row["alert_stream"] for row in rows})
            )
            for row in rows:
                events = streams.get(row["alert_stream"], [])
                self._start([row["id"]], lambda row=row, e=events: self._deliver(row, e))
        upcoming = await self.pool.fetchval(
            "SELECT min(next_attempt_at) FROM deliveries "
            "WHERE status = 'PENDING' AND next_attempt_at > $1",
            now,
        )
        if upcoming is None:
            return IDLE_POLL_S
        return max(0.0, min(IDLE_POLL_S, (upcoming - now).total_seconds()))

    async def _deliver(self, row: asyncpg.Record, events: list[RecordedEvent]) -> int:
        """Attempt one delivery and append its outcome; the outcome's position. ``events``:
        the alert's stream, read with the other deliveries of the round."""
        return await self._record(row, await self._attempt(row, events))

    # -- one attempt -------------------------------------------------------------------

    async def _action(self, action_id: int) -> dict[str, Any] | None:
        """The action's current settings, trusted for ACTION_TTL_S: edits reach deliveries
        within that time, and a burst costs one query per action, not per delivery."""
        now = asyncio.get_running_loop().time()
        hit = self._actions.get(action_id)
        if hit is not None and now - hit[0] < ACTION_TTL_S:
            return hit[1]
        action = await action_by_id(self.pool, action_id, self.sealer)
        if len(self._actions) > 10_000:
            self._actions.clear()
        self._actions[action_id] = (now, action)
        return action

    async def _source_name(self, source_id: int) -> str | None:
        """Source names change rarely; trusted for ACTION_TTL_S like actions."""
        now = asyncio.get_running_loop().time()
        hit = self._source_names.get(source_id)
        if hit is not None and now - hit[0] < ACTION_TTL_S:
            return hit[1]
        name = await self.pool.fetchval("SELECT name FROM alert_sources WHERE id = $1", source_id)
        if len(self._source_names) > 10_000:
            self._source_names.clear()
        self._source_names[source_id] = (now, name)
        return name

    async def _attempt(self, row: asyncpg.Record, events: list[RecordedEvent]) -> Outcome:
        if row["kind"] == "channel":
            return await self._channel_attempt(row, events)
        action = await self._action(row["action_id"])
        if action is None:
            return Outcome(skipped="the alert action was deleted")
        settings = action["settings"]
        label = f"{settings['name']} ({settings['connector_type']})"
        if row["kind"] == "incident":
            return await self._incident_attempt(row, events, action, label)
        event_type = row["event_type"]
        delayed = event_type == NOT_RESOLVED or (
            event_type == ESCALATION_ENDED and row["due_at"] > row["created_at"]
        )
        try:
            snap = await self.alerts.snapshot_of(
                row["alert_stream"],
                row["alert_id"],
                version=None if delayed else row["alert_version"],
                events=events,
            )
        except AlertNotFoundError:
            return Outcome(skipped="the alert does not exist", action_label=label)
        status = snap.alert.status
        if event_type == NOT_RESOLVED and status is AlertStatus.RESOLVED:
            return Outcome(skipped="the alert was resolved in time", action_label=label)
        if delayed and event_type == ESCALATION_ENDED and status is not AlertStatus.PENDING:
            return Outcome(skipped="the alert was accepted or resolved", action_label=label)
        alert = await snapshot_view(
            self.pool, snap, source_name=await self._source_name(snap.alert.source_id)
        )
        condition = self._condition(settings.get("conditions"))
        subject = {**alert, "eventType": event_type}
        if condition is not None and not row["manual"] and not condition.evaluate(subject):
            return Outcome(skipped="its conditions are not met", action_label=label)
        connector = None
        if settings.get("connector_id"):
            found = await connector_by_id(self.pool, settings["connector_id"], self.sealer)
            if found is None:
                failure = SendResult(False, error="its connector was deleted", permanent=True)
                return Outcome(result=failure, action_label=label)
            connector = {
                "connector_type": found["settings"]["connector_type"],
                "params": found["settings"]["params"],
            }
        # a Jira chain's earlier issue key matters before sending: never presumed new
        chain = await self._chain(
            row,
            presume_new=row["attempts"] == 0
            and not row["manual"]
            and settings["connector_type"] != "jira",
        )
        assert self._sender is not None
        result = await self._sender.send(
            Delivery(
                delivery_id=row["id"],
                event_type=event_type,
                action=settings,
                signing_secret=action["signing_secret"],
                connector=connector,
                alert=alert,
                alert_url=f"{self.settings.public_url}/api/alerts/{row['alert_id']}",
                external_ref=chain.external_ref,
            )
        )
        if self.metrics is not None:
            outcome = "success" if result.ok else "failure"
            self.metrics.deliveries.labels(settings["connector_type"], outcome).inc()
            if result.ok:
                lag = (self.clock.now() - row["next_attempt_at"]).total_seconds()
                self.metrics.delivery_lag.observe(max(lag, 0.0))
        log.info(
            "delivery attempted",
            delivery=row["id"],
            action=row["action_id"],
            alert=row["alert_id"],
            event_type=event_type,
            ok=result.ok,
            status=result.status_code,
            error=result.error or None,
            ms=result.duration_ms,
        )
        return Outcome(result=result, action_label=label)

    async def _incident_attempt(
        self,
        row: asyncpg.Record,
        events: list[RecordedEvent],
        action: dict[str, Any],
        label: str,
    ) -> Outcome:
        """An incident event to a webhook: the Incident object as of the event (its
        ``eventType`` added, ``id`` a string, as alert webhooks have). Conditions are about
        alerts, so they do not apply; other targets take alerts only."""
        settings = action["settings"]
        if settings["connector_type"] != "webhook":
            return Outcome(skipped="incident events go to webhooks only", action_label=label)
        try:
            state = incident_state(
                self.repository.mapper, events, row["alert_id"], version=row["alert_version"]
            )
        except IncidentNotFoundError:
            return Outcome(skipped="the incident does not exist", action_label=label)
        [incident] = await render(self.pool, [state], self.clock.now())
        assert self._sender is not None
        result = await self._sender.send(
            Delivery(
                delivery_id=row["id"],
                event_type=row["event_type"],
                action=settings,
                signing_secret=action["signing_secret"],
                connector=None,
                alert=incident,
                alert_url=f"{self.settings.public_url}/api/incidents/{row['alert_id']}",
                external_ref=None,
            )
        )
        log.info(
            "delivery attempted",
            delivery=row["id"],
            action=row["action_id"],
            incident=row["alert_id"],
            event_type=row["event_type"],
            ok=result.ok,
            status=result.status_code,
            error=result.error or None,
            ms=result.duration_ms,
        )
        return Outcome(result=result, action_label=label)

    async def _channel_attempt(self, row: asyncpg.Record, events: list[RecordedEvent]) -> Outcome:
        """A post of an incident's event to one of its chat channels (``channel_posts``)."""
        assert self._sender is not None
        attempt = await attempt_post(
            row,
            events,
            pool=self.pool,
            sealer=self.sealer,
            mapper=self.repository.mapper,
            sender=self._sender,
            now=self.clock.now(),
            public_url=self.settings.public_url,
        )
        return Outcome(**context_of(attempt))

    def _condition(self, text: str | None) -> Condition | None:
        if not text:
            return None
        if text not in self._conditions:
            if len(self._conditions) > 1000:
                self._conditions.clear()
            try:
                self._conditions[text] = parse_condition(text)
            except ConditionError:  # stored conditions were checked; a newer rule refuses
                log.error("stored alert action condition no longer parses", condition=text)
                self._conditions[text] = None
        return self._conditions[text]

    # -- recording ---------------------------------------------------------------------

    async def _chain(self, row: asyncpg.Record, *, presume_new: bool = False) -> ActionDelivery:
        """The chain's aggregate: cached, loaded, or (``presume_new``, for the first attempt
        of an automatic delivery) opened without a read; if the stream exists after all,
        the append fails on its version and ``_record`` loads it and tries again."""
        chain_id = row["chain"]
        cached = self._chains.get(chain_id)
        if cached is not None:
            self._chains.move_to_end(chain_id)
            return cached
        try:
            if presume_new:
                raise AggregateNotFoundError(chain_id)
            chain = await self.repository.load(chain_id)
        except AggregateNotFoundError:
            chain = ActionDelivery(
                alert_id=row["alert_id"],
                alert_stream=UUID(str(row["alert_stream"])),  # asyncpg's UUID is not stored
                action_id=row["action_id"],
                id=UUID(str(chain_id)),
            )
        self._remember(chain_id, chain)
        return chain

    def _remember(self, chain_id: Any, chain: ActionDelivery) -> None:
        self._chains[chain_id] = chain
        self._chains.move_to_end(chain_id)
        while len(self._chains) > CACHED_CHAINS:
            self._chains.popitem(last=False)

    def _apply(self, chain: ActionDelivery, row: asyncpg.Record, outcome: Outcome) -> None:
        delivery, event_type = row["id"], row["event_type"]
        if outcome.skipped is not None:
            chain.skip(delivery, event_type, outcome.skipped)
            return
        result = outcome.result
        assert result is not None
        attempt = row["attempts"] + 1
        if result.ok:
            chain.succeed(
                delivery,
                outcome.action_label,
                event_type,
                attempt,
                result.status_code,
                result.response,
                result.external_ref,
            )
            return
        next_at: datetime | None = None
        if not result.permanent and attempt < self.settings.max_attempts:
            wait = backoff(
                attempt, self.settings.retry_base_s, self.settings.retry_max_s, self._rng
            )
            next_at = self.clock.now() + timedelta(seconds=wait)
        chain.fail(
            delivery,
            outcome.action_label,
            event_type,
            attempt,
            result.error or "failed",
            result.status_code,
            next_at,
        )

    async def _record(self, row: asyncpg.Record, outcome: Outcome) -> int:
        """Append the outcome to the chain; reload and re-apply if someone else (a manual
        run, a retry request) appended meanwhile."""
        for _ in range(5):
            chain = await self._chain(row)
            self._apply(chain, row, outcome)
            try:
                result = await self.repository.save(chain, metadata={"actor": "system:outbound"})
            except ConcurrencyError:
                self._chains.pop(row["chain"], None)
                continue
            assert result is not None
            return result.last_position
        raise RuntimeError(f"could not record the outcome of delivery {row['id']}")
