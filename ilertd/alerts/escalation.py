"""Taking an alert's next escalation step: when a timer fires, or at once when a person
escalates.

Timers that fall due together (a storm's level-1 steps) are taken in rounds: one read of
all their streams, pure rules, one group-committed append. Every step is re-checked on the
alert's current version, so an alert accepted a moment earlier, or a step another instance
already took, does nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

from eventstore import ConcurrencyError
from eventstore.repository import Repository

from ..clock import Clock
from ..domain.alert import Alert, AlertStatus, Priority
from ..domain.errors import DomainError
from ..engine.escalation import Ended, Step, next_step
from ..keyed_locks import KeyedLocks
from .policies import Policies
from .streams import MAX_ATTEMPTS

#: Escalation steps taken per round (one read, one group commit).
DUE_ROUND = 500


class Escalation:
    def __init__(
        self, repository: Repository, policies: Policies, clock: Clock, locks: KeyedLocks
    ) -> None:
        self.repository = repository
        self.policies = policies
        self.clock = clock
        self._locks = locks
        #: Steps whose timers fired, waiting for the next escalation round.
        self._due: list[tuple[UUID, asyncio.Future[bool]]] = []
        self._due_task: asyncio.Task[None] | None = None

    async def escalate(self, stream: UUID, *, by: dict[str, Any] | None = None) -> bool:
        """Page the alert's next escalation level.

        The engine calls it when an escalation timer fires (``by`` None): it acts only if
        that step is still due on the alert's current version. A person (``by``) escalates
        at once, and a broken rule is a DomainError.
        """
        actor = by or {"type": "system", "reason": "escalation"}
        async with self._locks.hold(stream):
            for _ in range(MAX_ATTEMPTS):
                alert: Alert = await self.repository.load(stream)
                if by is None and not escalation_due(alert, self.clock.now()):
                    return False
                await self._take_next_step(alert, actor, by)
                try:
                    await self.repository.save(alert, metadata={"actor": actor_tag(actor)})
                except ConcurrencyError:
                    continue
                return True
        raise DomainError("the alert is changing too fast; try again")

    async def _take_next_step(
        self, alert: Alert, actor: dict[str, Any], by: dict[str, Any] | None
    ) -> None:
        """Apply the alert's next escalation step (or its end) to the aggregate."""
        policy = await self.policies.policy(alert.escalation_policy_id)
        if policy is None:
            if by is not None:
                raise DomainError("the alert has no escalation policy to escalate on")
            alert.end_escalation("the escalation policy no longer exists", actor)
            return
        on_call = await self.policies.on_call(policy)
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
        apply_step(alert, step, actor)

    async def escalate_due(self, stream: UUID) -> bool:
        """A timer says the alert's next step is due: taken together with every other step
        falling due at the same moment, in rounds; True if it escalated."""
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
        taking = [a for a in alerts.values() if escalation_due(a, now)]
        for alert in taking:
            await self._take_next_step(alert, actor, None)
        saved = await asyncio.gather(
            *(self.repository.save(a, metadata={"actor": actor_tag(actor)}) for a in taking),
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


def apply_step(alert: Alert, step: Step | Ended, actor: dict[str, Any]) -> None:
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


def escalation_due(alert: Alert, now: datetime) -> bool:
    due = alert.next_escalation_at
    return alert.is_open and alert.status is AlertStatus.PENDING and due is not None and due <= now


def actor_tag(actor: dict[str, Any]) -> str:
    return f"{actor.get('type', 'system')}:{actor.get('id', actor.get('reason', ''))}"
