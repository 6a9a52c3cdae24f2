"""The pages one user gets about one alert: what was scheduled, sent, failed or skipped.

One stream per (alert, user) (``notifications_id``), so paging never contends with the
alert's own stream and each notification is a fact: SCHEDULED when the user became a
responder (one per notification rule, due after the rule's delay) or when an alert they
respond to changes (a status update per ``updates`` rule), then SUCCESS or ERROR with the
reason. A muted user's page is SKIPPED, and that is a fact on the timeline too.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

#: The kind of a notification that pages (asks to act); the others are ilert's status
#: updates: ``ALERT_ACCEPTED``, ``ALERT_RESOLVED``, ``ALERT_ESCALATED``.
PAGE = "ALERT"
#: A page into an incident (a responder asked to join). Its stream is (incident, user) and
#: its ``alert_id`` the incident's id: the subject paged about, in the same id space (both
#: are positions of the event that began them), so one pipeline pages for both.
INCIDENT_PAGE = "INCIDENT"
#: Kinds that page (follow the user's ``alerts`` rules) rather than tell of a change.
PAGE_KINDS = frozenset({PAGE, INCIDENT_PAGE})


class NotificationStatus(StrEnum):
    """A notification row's state: due, sent, failed for good, or no longer owed."""

    SCHEDULED = "SCHEDULED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


NOTIFICATIONS_NAMESPACE = UUID("0b7e4f5c-2d1a-4c3b-9e8f-7a6b5c4d3e2f")


def notifications_id(alert_stream: UUID, user_id: int) -> UUID:
    return uuid5(NOTIFICATIONS_NAMESPACE, f"{alert_stream}/{user_id}")


class AlertNotifications(Aggregate):
    @event("Opened")
    def __init__(
        self,
        alert_id: int,
        alert_stream: UUID,
        user_id: int,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.alert_id = alert_id
        self.alert_stream = alert_stream
        self.user_id = user_id
        self.planned: set[str] = set()

    def schedule(
        self,
        page: str,
        notification: str,
        method: str,
        target: str,
        due_at: datetime,
        rule_id: int | None,
        kind: str = PAGE,
    ) -> None:
        """One notification of page ``page`` (the event that paged the user, or the status
        update ``kind`` for them)."""
        self._scheduled(
            alert_id=self.alert_id,
            user_id=self.user_id,
            page=page,
            notification_id=notification,
            method=method,
            target=target,
            due_at=due_at,
            rule_id=rule_id,
            kind=kind,
        )

    @event("Scheduled")
    def _scheduled(
        self,
        alert_id: int,
        user_id: int,
        page: str,
        notification_id: str,
        method: str,
        target: str,
        due_at: datetime,
        rule_id: int | None,
        kind: str = PAGE,
    ) -> None:
        self.planned.add(page)

    def skip(self, page: str, reason: str) -> None:
        """The page is not sent at all (the user is muted, has no way to be reached)."""
        self._skipped(alert_id=self.alert_id, user_id=self.user_id, page=page, reason=reason)

    @event("Skipped")
    def _skipped(self, alert_id: int, user_id: int, page: str, reason: str) -> None:
        self.planned.add(page)

    def sent(
        self,
        notification: str,
        method: str,
        target: str,
        provider_ref: str,
        message: str = "",
        covers: int = 1,
    ) -> None:
        """Sent by the message ``message`` (an e-mail's Message-ID), which covered
        ``covers`` alerts: in a storm one message pages a person about many alerts."""
        self._sent(
            alert_id=self.alert_id,
            user_id=self.user_id,
            notification_id=notification,
            method=method,
            target=target,
            provider_ref=provider_ref,
            message=message,
            covers=covers,
        )

    @event("Sent")
    def _sent(
        self,
        alert_id: int,
        user_id: int,
        notification_id: str,
        method: str,
        target: str,
        provider_ref: str,
        message: str = "",
        covers: int = 1,
    ) -> None:
        pass

    def failed(
        self,
        notification: str,
        method: str,
        target: str,
        attempt: int,
        error: str,
        retry_at: datetime | None,
    ) -> None:
        """An attempt failed; ``retry_at`` None: given up (the user's later rules remain)."""
        self._failed(
            alert_id=self.alert_id,
            user_id=self.user_id,
            notification_id=notification,
            method=method,
            target=target,
            attempt=attempt,
            error=error,
            retry_at=retry_at,
        )

    @event("Failed")
    def _failed(
        self,
        alert_id: int,
        user_id: int,
        notification_id: str,
        method: str,
        target: str,
        attempt: int,
        error: str,
        retry_at: datetime | None,
    ) -> None:
        pass
