"""The alert: PENDING -> ACCEPTED -> RESOLVED, every change a past-tense event.

Commands check the rules and raise DomainError (answered 409) when one is broken; the
``@event`` handlers only change state. Every event carries the actor who caused it: a user
(``{"type": "user", "id": 7}``), an integration key's source (``{"type": "source", "id":
3}``) or the system (``{"type": "system", "reason": "auto-resolve"}``).

An alert's stream id is derived from (source, alert key, generation) when it has a key: the
n-th alert ever opened for that key on that source always has the same id, so two ilertd
instances that race to open "the" alert for a key both append version 1 of the same stream
and the store lets exactly one win. The loser reloads and finds the alert open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError

ALERT_KEY_NAMESPACE = UUID("1b6d2f0e-4c8a-4d8e-9a61-7f0c2e5b9d34")
MAX_ALERT_KEY = 512

Actor = dict[str, Any]


class AlertStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    RESOLVED = "RESOLVED"


class Priority(StrEnum):
    HIGH = "HIGH"
    LOW = "LOW"


class ResolveReason(StrEnum):
    USER = "USER"
    EVENT = "EVENT"
    AUTO_RESOLVE = "AUTO_RESOLVE"


def normalize_key(alert_key: str) -> str:
    """Keys are trimmed and compared case-insensitively (API.md, Events API)."""
    return alert_key.strip().casefold()


def keyed_alert_id(source_stream: UUID, alert_key: str, generation: int) -> UUID:
    """The stream id of the ``generation``-th alert opened for this key on this source."""
    return uuid5(ALERT_KEY_NAMESPACE, f"{source_stream}/{normalize_key(alert_key)}/{generation}")


class Alert(Aggregate):
    @event("Created")
    def __init__(
        self,
        source_id: int,
        summary: str,
        details: str,
        priority: str,
        severity: int | None,
        alert_key: str,
        generation: int,
        escalation_policy_id: int | None,
        routing_key: str | None,
        images: list[dict[str, Any]],
        links: list[dict[str, Any]],
        labels: dict[str, str],
        custom_details: dict[str, Any] | None,
        responders: list[int],
        actor: Actor,
        auto_resolve_after_s: int | None = None,
        next_escalation_at: datetime | None = None,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.source_id = source_id
        self.summary = summary
        self.details = details
        self.priority = Priority(priority)
        self.severity = severity
        self.alert_key = alert_key
        self.generation = generation
        self.escalation_policy_id = escalation_policy_id
        self.routing_key = routing_key
        self.images = images
        self.links = links
        self.labels = labels
        self.custom_details = custom_details
        self.responders: dict[int, str] = dict.fromkeys(responders, "PENDING")
        self.status = AlertStatus.PENDING
        self.escalation_level = 0
        self.channels: dict[str, dict[str, Any]] = {}
        self.events_received = 1
        #: Resolve by itself this long after the last event received (the source's
        #: autoResolutionTimeout when the alert opened); None: never.
        self.auto_resolve_after_s = auto_resolve_after_s
        self.last_received_at: datetime | None = None  # None: only the creating event
        #: When the engine pages the next level (None: nothing scheduled), and which.
        self.next_escalation_at = next_escalation_at
        self.next_level = 0
        self.next_round = 0

    # -- rules -------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status is not AlertStatus.RESOLVED

    def _require_open(self, what: str) -> None:
        if not self.is_open:
            raise DomainError(f"cannot {what}: the alert is resolved, and never reopens")

    # -- commands ----------------------------------------------------------------------

    def add_event(
        self,
        summary: str,
        details: str,
        images: list[dict[str, Any]],
        links: list[dict[str, Any]],
        labels: dict[str, str],
        custom_details: dict[str, Any] | None,
        actor: Actor,
        received_at: datetime | None = None,
    ) -> None:
        """A deduplicated ALERT event: logged on the open alert, no new alert."""
        self._require_open("add an event")
        self._event_received(
            summary=summary,
            details=details,
            images=images,
            links=links,
            labels=labels,
            custom_details=custom_details,
            actor=actor,
            received_at=received_at,
        )

    @event("EventReceived")
    def _event_received(
        self,
        summary: str,
        details: str,
        images: list[dict[str, Any]],
        links: list[dict[str, Any]],
        labels: dict[str, str],
        custom_details: dict[str, Any] | None,
        actor: Actor,
        received_at: datetime | None = None,
    ) -> None:
        self.events_received += 1
        self.last_received_at = received_at
        if details:
            self.details = details
        self.images = images or self.images
        self.links = links or self.links
        self.labels = {**self.labels, **labels}
        if custom_details is not None:
            self.custom_details = custom_details

    def auto_resolve_due_at(self) -> datetime | None:
        """When this alert resolves by itself, if it is open and has a timeout."""
        if not self.is_open or self.auto_resolve_after_s is None:
            return None
        last = self.last_received_at or self.created_on
        return last + timedelta(seconds=self.auto_resolve_after_s)

    def accept(self, actor: Actor, user_id: int | None = None) -> bool:
        """Accept; False (and no event) when it already is accepted."""
        self._require_open("accept")
        if self.status is AlertStatus.ACCEPTED:
            return False
        self._accepted(actor=actor, user_id=user_id)
        return True

    @event("Accepted")
    def _accepted(self, actor: Actor, user_id: int | None) -> None:
        self.status = AlertStatus.ACCEPTED
        self.next_escalation_at = None
        if user_id is not None and user_id in self.responders:
            self.responders[user_id] = "ACCEPTED"

    def resolve(self, actor: Actor, reason: str = ResolveReason.USER) -> None:
        self._require_open("resolve")
        self._resolved(actor=actor, reason=ResolveReason(reason).value)

    @event("Resolved")
    def _resolved(self, actor: Actor, reason: str) -> None:
        self.status = AlertStatus.RESOLVED
        self.next_escalation_at = None

    def comment(self, content: str, actor: Actor, creator: str | None = None) -> None:
        if not content.strip():
            raise DomainError("a comment needs content")
        self._commented(content=content, creator=creator, actor=actor)

    @event("Commented")
    def _commented(self, content: str, creator: str | None, actor: Actor) -> None:
        pass

    def reroute(
        self,
        actor: Actor,
        *,
        user_id: int | None = None,
        policy_id: int | None = None,
        schedule_id: int | None = None,
        next_escalation_at: datetime | None = None,
    ) -> None:
        """Assign to a user, an escalation policy or a schedule (exactly one); a new policy
        starts again at its level 0, due at ``next_escalation_at`` (set by the caller)."""
        self._require_open("re-route")
        targets = [t for t in (user_id, policy_id, schedule_id) if t is not None]
        if len(targets) != 1:
            raise DomainError("re-route to exactly one of a user, a policy or a schedule")
        self._rerouted(
            actor=actor,
            user_id=user_id,
            policy_id=policy_id,
            schedule_id=schedule_id,
            next_escalation_at=next_escalation_at if policy_id is not None else None,
        )

    @event("Rerouted")
    def _rerouted(
        self,
        actor: Actor,
        user_id: int | None,
        policy_id: int | None,
        schedule_id: int | None,
        next_escalation_at: datetime | None = None,
    ) -> None:
        self.escalation_level = 0
        self.next_level = self.next_round = 0
        self.next_escalation_at = next_escalation_at
        if policy_id is not None:
            self.escalation_policy_id = policy_id
            self.responders = {}
        elif user_id is not None:
            self.escalation_policy_id = None
            self.responders = {user_id: "PENDING"}
        else:
            self.escalation_policy_id = None
            self.responders = {}
        if self.status is AlertStatus.ACCEPTED:
            self.status = AlertStatus.PENDING

    def add_responder(self, user_id: int, actor: Actor) -> None:
        self._require_open("add a responder")
        if user_id in self.responders:
            raise DomainError(f"user {user_id} already is a responder")
        self._responder_added(user_id=user_id, actor=actor)

    @event("ResponderAdded")
    def _responder_added(self, user_id: int, actor: Actor) -> None:
        self.responders[user_id] = "PENDING"

    def remove_responder(self, user_id: int, actor: Actor) -> None:
        self._require_open("remove a responder")
        if user_id not in self.responders:
            raise DomainError(f"user {user_id} is not a responder")
        self._responder_removed(user_id=user_id, actor=actor)

    @event("ResponderRemoved")
    def _responder_removed(self, user_id: int, actor: Actor) -> None:
        del self.responders[user_id]

    def raise_priority(self, actor: Actor) -> None:
        self._require_open("raise the priority")
        if self.priority is Priority.HIGH:
            raise DomainError("the alert already has HIGH priority")
        self._priority_raised(actor=actor)

    @event("PriorityRaised")
    def _priority_raised(self, actor: Actor) -> None:
        self.priority = Priority.HIGH

    def escalate(
        self,
        level: int,
        actor: Actor,
        responders: list[int] | None = None,
        *,
        round: int = 0,  # noqa: A002 - the policy's repeat round
        next_escalation_at: datetime | None = None,
        skipped: list[int] | None = None,
    ) -> None:
        """Page escalation ``level`` (the engine, or a person by hand)."""
        self._require_open("escalate")
        if self.status is AlertStatus.ACCEPTED:
            raise DomainError("an accepted alert does not escalate")
        if level < 0:
            raise DomainError("escalation levels start at 0")
        self._escalated(
            level=level,
            responders=list(responders or []),
            actor=actor,
            round=round,
            next_escalation_at=next_escalation_at,
            skipped=list(skipped or []),
        )

    @event("Escalated")
    def _escalated(
        self,
        level: int,
        responders: list[int],
        actor: Actor,
        round: int = 0,  # noqa: A002
        next_escalation_at: datetime | None = None,
        skipped: list[int] | None = None,
    ) -> None:
        self.escalation_level = level
        self.next_level, self.next_round = level + 1, round
        self.next_escalation_at = next_escalation_at
        for user_id in responders:
            self.responders.setdefault(user_id, "PENDING")

    def end_escalation(self, reason: str, actor: Actor, skipped: list[int] | None = None) -> None:
        """Nobody left to page: said on the timeline, and no timer remains."""
        self._require_open("end the escalation")
        self._escalation_ended(reason=reason, actor=actor, skipped=list(skipped or []))

    @event("EscalationEnded")
    def _escalation_ended(self, reason: str, actor: Actor, skipped: list[int]) -> None:
        self.next_escalation_at = None

    def record_response(self, user_id: int, channel: str, answer: str, actor: Actor) -> None:
        """A responder answered a page (a link, an SMS reply, a key pressed on a call); the
        command it asks for follows in the same append."""
        self._user_responded(user_id=user_id, channel=channel, answer=answer, actor=actor)

    @event("UserResponded")
    def _user_responded(self, user_id: int, channel: str, answer: str, actor: Actor) -> None:
        pass

    def attach_channel(
        self, channel_id: str, channel_type: str, name: str, url: str, actor: Actor
    ) -> None:
        self._require_open("attach a channel")
        if channel_id in self.channels:
            raise DomainError(f"channel {channel_id} is already attached")
        self._channel_attached(
            channel_id=channel_id, channel_type=channel_type, name=name, url=url, actor=actor
        )

    @event("ChannelAttached")
    def _channel_attached(
        self, channel_id: str, channel_type: str, name: str, url: str, actor: Actor
    ) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "type": channel_type,
            "name": name,
            "url": url,
        }

    def detach_channel(self, channel_id: str, actor: Actor) -> None:
        if channel_id not in self.channels:
            raise DomainError(f"channel {channel_id} is not attached")
        self._channel_detached(channel_id=channel_id, actor=actor)

    @event("ChannelDetached")
    def _channel_detached(self, channel_id: str, actor: Actor) -> None:
        del self.channels[channel_id]
