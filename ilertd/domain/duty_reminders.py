"""The reminders one user gets before one of their on-call shifts starts.

One stream per (user, schedule, shift start) (``shift_reminders_id``): a reminder is due
``before_min`` minutes before the shift starts for each of the user's ``duties`` rules, and
each rule's outcome is a fact here: SENT, or FAILED with the time of the next attempt (None:
given up). A shift moved by an edit of its schedule starts at another time, so it is
another stream and reminds again; reading the stream is what keeps a restarted leader from
sending a reminder twice.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

SHIFT_REMINDERS_NAMESPACE = UUID("6d1f3a2e-8c4b-4e7a-9b15-2f0c7e9a4d31")


def shift_reminders_id(user_id: int, schedule_id: int, shift_start: datetime) -> UUID:
    """The stream of the reminders for ``user_id``'s shift in ``schedule_id`` starting at
    ``shift_start`` (an aware datetime; the same instant in any zone names one stream)."""
    return uuid5(SHIFT_REMINDERS_NAMESPACE, f"{user_id}/{schedule_id}/{shift_start.timestamp()}")


class ShiftReminders(Aggregate):
    @event("Opened")
    def __init__(
        self,
        user_id: int,
        schedule_id: int,
        shift_start: datetime,
        shift_end: datetime,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.user_id = user_id
        self.schedule_id = schedule_id
        self.shift_start = shift_start
        self.shift_end = shift_end
        #: rules whose reminder went out or was given up: nothing more is sent for them
        self.done: set[int] = set()
        #: failed attempts so far, by rule
        self.attempts: dict[int, int] = {}
        #: when a failed rule's reminder may be tried again
        self.retry_at: dict[int, datetime] = {}

    def is_due(self, rule_id: int, now: datetime) -> bool:
        """Whether the rule's reminder is still to be sent (and not waiting for a retry)."""
        if rule_id in self.done:
            return False
        retry_at = self.retry_at.get(rule_id)
        return retry_at is None or retry_at <= now

    def sent(self, rule_id: int, method: str, target: str, provider_ref: str) -> None:
        self._sent(
            user_id=self.user_id,
            schedule_id=self.schedule_id,
            shift_start=self.shift_start,
            shift_end=self.shift_end,
            rule_id=rule_id,
            method=method,
            target=target,
            provider_ref=provider_ref,
        )

    @event("Sent")
    def _sent(
        self,
        user_id: int,
        schedule_id: int,
        shift_start: datetime,
        shift_end: datetime,
        rule_id: int,
        method: str,
        target: str,
        provider_ref: str,
    ) -> None:
        self.done.add(rule_id)
        self.retry_at.pop(rule_id, None)

    def failed(
        self,
        rule_id: int,
        method: str,
        target: str,
        error: str,
        retry_at: datetime | None,
    ) -> None:
        """An attempt failed; ``retry_at`` None: given up."""
        self._failed(
            user_id=self.user_id,
            schedule_id=self.schedule_id,
            shift_start=self.shift_start,
            rule_id=rule_id,
            method=method,
            target=target,
            attempt=self.attempts.get(rule_id, 0) + 1,
            error=error,
            retry_at=retry_at,
        )

    @event("Failed")
    def _failed(
        self,
        user_id: int,
        schedule_id: int,
        shift_start: datetime,
        rule_id: int,
        method: str,
        target: str,
        attempt: int,
        error: str,
        retry_at: datetime | None,
    ) -> None:
        self.attempts[rule_id] = attempt
        if retry_at is None:
            self.done.add(rule_id)
            self.retry_at.pop(rule_id, None)
        else:
            self.retry_at[rule_id] = retry_at
