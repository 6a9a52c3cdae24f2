"""The deliveries of one alert action for one alert: a chain, in event order.

Each chain is its own stream (``chain_id``), so the outcomes of sending (succeeded, attempt
failed, dead-lettered, skipped) and the requests to send (a manual run, a retry of a dead
letter) are facts in the store, yet never contend with the alert's own stream. The outbox
read model and the alert's timeline are built from these events; a restart loses no
pending delivery because "pending" is simply "planned and no outcome yet".

A delivery id is ``<position of the triggering event>-<action id>``: stable across retries
and restarts, so receivers can deduplicate on ``X-Ilertd-Delivery``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError

CHAIN_NAMESPACE = UUID("6f4b1c2a-9d3e-4e7f-8a5b-0c1d2e3f4a5b")

Actor = dict[str, Any]


class DeliveryStatus(StrEnum):
    """Where a delivery stands in the outbox: planned and not yet closed, or its outcome."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    DEAD = "DEAD"
    SKIPPED = "SKIPPED"


#: What a retry answers at once: the dead letter, its retry recorded (the outbox turns it
#: PENDING when it applies the request).
RETRY_REQUESTED = "RETRY_REQUESTED"


def chain_id(alert_stream: UUID, action_id: int, lane: str = "") -> UUID:
    """The stream of an action's deliveries for an alert; delayed kinds (not-resolved,
    escalation-ended) get a lane of their own so a timer hours away holds nothing up."""
    return uuid5(CHAIN_NAMESPACE, f"{alert_stream}/{action_id}/{lane}")


def delivery_id(position: int, action_id: int) -> str:
    return f"{position}-{action_id}"


class ActionDelivery(Aggregate):
    @event("Opened")
    def __init__(
        self,
        alert_id: int,
        alert_stream: UUID,
        action_id: int,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.alert_id = alert_id
        self.alert_stream = alert_stream
        self.action_id = action_id
        #: What the target gave back on the first success (a Jira issue key): later
        #: deliveries of the chain comment on it instead of opening another.
        self.external_ref: str | None = None
        self.dead: set[str] = set()

    def _base(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "action_id": self.action_id}

    # -- requests ----------------------------------------------------------------------

    def request_run(self, alert_version: int, event_type: str, actor: Actor) -> None:
        """Someone ran a manual action on the alert."""
        self._requested(
            **self._base(), alert_version=alert_version, event_type=event_type, actor=actor
        )

    @event("Requested")
    def _requested(
        self, alert_id: int, action_id: int, alert_version: int, event_type: str, actor: Actor
    ) -> None:
        pass

    def request_retry(self, delivery: str, actor: Actor) -> None:
        """Send a dead letter again, from attempt 1."""
        if delivery not in self.dead:
            raise DomainError(f"delivery {delivery} is not dead-lettered; only those are retried")
        self._retry_requested(**self._base(), delivery_id=delivery, actor=actor)

    @event("RetryRequested")
    def _retry_requested(
        self, alert_id: int, action_id: int, delivery_id: str, actor: Actor
    ) -> None:
        self.dead.discard(delivery_id)

    # -- outcomes ----------------------------------------------------------------------

    def succeed(
        self,
        delivery: str,
        action: str,
        event_type: str,
        attempt: int,
        status_code: int | None,
        response: str,
        external_ref: str | None = None,
    ) -> None:
        self._succeeded(
            **self._base(),
            delivery_id=delivery,
            action=action,
            event_type=event_type,
            attempt=attempt,
            status_code=status_code,
            response=response,
            external_ref=external_ref,
        )

    @event("Succeeded")
    def _succeeded(
        self,
        alert_id: int,
        action_id: int,
        delivery_id: str,
        action: str,
        event_type: str,
        attempt: int,
        status_code: int | None,
        response: str,
        external_ref: str | None,
    ) -> None:
        if external_ref and self.external_ref is None:
            self.external_ref = external_ref

    def fail(
        self,
        delivery: str,
        action: str,
        event_type: str,
        attempt: int,
        error: str,
        status_code: int | None,
        next_attempt_at: datetime | None,
    ) -> None:
        """One attempt failed; ``next_attempt_at`` None means no attempt is left."""
        if next_attempt_at is None:
            self._dead_lettered(
                **self._base(),
                delivery_id=delivery,
                action=action,
                event_type=event_type,
                attempts=attempt,
                error=error,
                status_code=status_code,
            )
        else:
            self._attempt_failed(
                **self._base(),
                delivery_id=delivery,
                action=action,
                event_type=event_type,
                attempt=attempt,
                error=error,
                status_code=status_code,
                next_attempt_at=next_attempt_at,
            )

    @event("AttemptFailed")
    def _attempt_failed(
        self,
        alert_id: int,
        action_id: int,
        delivery_id: str,
        action: str,
        event_type: str,
        attempt: int,
        error: str,
        status_code: int | None,
        next_attempt_at: datetime,
    ) -> None:
        pass

    @event("DeadLettered")
    def _dead_lettered(
        self,
        alert_id: int,
        action_id: int,
        delivery_id: str,
        action: str,
        event_type: str,
        attempts: int,
        error: str,
        status_code: int | None,
    ) -> None:
        self.dead.add(delivery_id)

    def skip(self, delivery: str, event_type: str, reason: str) -> None:
        """Not sent, on purpose (its condition is false, the alert moved on...)."""
        self._skipped(**self._base(), delivery_id=delivery, event_type=event_type, reason=reason)

    @event("Skipped")
    def _skipped(
        self, alert_id: int, action_id: int, delivery_id: str, event_type: str, reason: str
    ) -> None:
        pass
