"""Opening an alert, by hand or from an event, on the policy it starts with.

A step due as the alert opens is taken in the same append: the first page does not wait
for a timer to fire and a second command to load the alert again. A source in an active
maintenance window opens none: ``MaintenanceGate.hold`` records the event and raises
``Suppressed`` instead (``ilertd.maintenance.gate``). The priority is the event's own, else
what the source's ``alertPriorityRule`` gives at the arrival time (``alerts.support_hours``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.repository import Repository

from ..clock import Clock
from ..domain.alert import Alert, Priority
from ..engine.escalation import Ended, Policy, Step, first_due, next_step
from ..maintenance.gate import MaintenanceGate
from .escalation import apply_step
from .policies import Policies
from .support_hours import SupportHoursBook


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


class Creation:
    def __init__(
        self,
        repository: Repository,
        policies: Policies,
        clock: Clock,
        gate: MaintenanceGate,
        support_hours: SupportHoursBook,
    ) -> None:
        self.repository = repository
        self.policies = policies
        self.clock = clock
        self.gate = gate
        self.support_hours = support_hours

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
        """Append the new alert (on ``stream_id``: a keyed one expects it empty); returns
        it and its first position. A replayed idempotency key returns the stored one.
        ``Suppressed`` when a maintenance window holds the source."""
        await self.gate.hold(source, new.summary, new.alert_key, metadata, idempotency_key)
        # an event's own priority wins; else the source's rule, at the arrival time
        priority = new.priority or await self.support_hours.priority(source, self.clock.now())
        policy_id = await self.policies.policy_for(
            source, new.escalation_policy_id, new.routing_key
        )
        policy = await self.policies.policy(policy_id)
        now = self.clock.now()
        first = first_due(policy, now) if policy is not None else None
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
            apply_step(alert, step, {"type": "system", "reason": "escalation"})
        result = await self.repository.save(
            alert, metadata=metadata, idempotency_key=idempotency_key
        )
        assert result is not None
        if result.duplicate:
            alert = await self.repository.load(result.stream_id)
        return alert, result.first_position

    async def _first_step(self, policy: Policy, low_priority: bool) -> Step | Ended:
        """The step a new alert takes as it opens (level 0, or the first level with
        somebody on call)."""
        return next_step(
            policy,
            0,
            0,
            self.clock.now(),
            (await self.policies.on_call(policy)).get,
            low_priority=low_priority,
        )
