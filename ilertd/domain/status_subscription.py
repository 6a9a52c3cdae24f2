"""A visitor's e-mail subscription to one status page, and every mail it was sent.

One stream per (page, address) (``subscription_id``), so subscribing twice is the same
subscription, and the mails it gets are facts on it: nothing sent is forgotten by a restart,
nothing owed is lost. Double opt-in: a visitor's request leaves it PENDING until the link of
the confirmation mail of that same request (its ``round``) confirms it; an ADMIN may add a
subscriber already confirmed (ilert's private subscribers). Unsubscribing (the link in every
mail, or an ADMIN) ends it and is idempotent; subscribing again starts a new round.

Addresses are personal data: they live in this stream and the read models, never in a log
line, and only ADMINs read them back.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError

#: ASCII ``local@domain`` only: non-ASCII addresses need SMTPUTF8 (give IDN as punycode).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_EMAIL = 254
NAMESPACE = UUID("5a0f3c2e-8d4b-4f1a-9c7e-2b6d8e1f4a30")


class SubscriptionStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class SubscriptionEndedError(DomainError):
    """The subscription was ended: an old confirmation link does not revive it."""


class StaleConfirmationError(DomainError):
    """The link belongs to an earlier request: only the latest one's confirms."""


def checked_email(value: Any, field: str = "email") -> str:
    """A bare ASCII address, trimmed and lower-cased (one subscription per mailbox)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(field, "is required: an e-mail address such as ann@example.com")
    text = value.strip()
    if len(text) > MAX_EMAIL or not _EMAIL.fullmatch(text):
        raise InvalidValueError(field, "must be an e-mail address such as ann@example.com")
    return text.lower()


def subscription_id(page_stream: UUID, email: str) -> UUID:
    """The stream of ``email`` (as ``checked_email`` gives it) on the page's stream."""
    return uuid5(NAMESPACE, f"{page_stream}/{email}")


class StatusPageSubscription(Aggregate):
    @classmethod
    def open(cls, page_id: int, page_stream: UUID, email: str) -> StatusPageSubscription:
        """A new subscription's stream (nothing asked yet: ``request`` or ``add`` follows)."""
        address, stream = checked_email(email), UUID(str(page_stream))
        return cls(
            page_id=page_id,
            page_stream=stream,
            email=address,
            id=subscription_id(stream, address),
        )

    @event("Opened")
    def __init__(
        self,
        page_id: int,
        page_stream: UUID,
        email: str,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.page_id = page_id
        self.page_stream = page_stream
        self.email = email
        self.status: SubscriptionStatus | None = None
        self.round = 0
        self.requested_at: datetime | None = None
        self.user_id: int | None = None
        self.private = False

    # -- subscribing -------------------------------------------------------------------

    def request(self, at: datetime, cooldown: timedelta, user_id: int | None = None) -> bool:
        """A visitor (``user_id``: signed in as that user) asked to subscribe: True when a
        confirmation mail is owed. A confirmed address records nothing; a pending one gets a
        new mail only ``cooldown`` after the last, so the form cannot flood a mailbox. Only
        a signed-in visitor's subscription gets the news of a page while it is PRIVATE."""
        if self.status is SubscriptionStatus.CONFIRMED:
            return False
        if (
            self.status is SubscriptionStatus.PENDING
            and self.requested_at is not None
            and at - self.requested_at < cooldown
        ):
            return False
        self._requested(round=self.round + 1, at=at, user_id=user_id)
        return True

    @event("Requested")
    def _requested(self, round: int, at: datetime, user_id: int | None = None) -> None:  # noqa: A002
        self.status = SubscriptionStatus.PENDING
        self.round = round
        self.requested_at = at
        self.user_id = user_id

    def confirm(self, round: int) -> bool:  # noqa: A002 - the token's field
        """The link of request ``round`` was followed: True when this confirmed it now."""
        if self.status is SubscriptionStatus.CONFIRMED:
            return False
        if self.status is not SubscriptionStatus.PENDING:
            raise SubscriptionEndedError("this subscription was cancelled: subscribe again")
        if round != self.round:
            raise StaleConfirmationError("a newer confirmation mail was sent: use its link")
        self._confirmed(round=round)
        return True

    @event("Confirmed")
    def _confirmed(self, round: int) -> None:  # noqa: A002
        self.status = SubscriptionStatus.CONFIRMED

    def add(self) -> bool:
        """An ADMIN added the address, confirmed at once; False if it already was."""
        if self.status is SubscriptionStatus.CONFIRMED:
            return False
        self._added()
        return True

    @event("Added")
    def _added(self) -> None:
        self.status = SubscriptionStatus.CONFIRMED
        self.private = True

    def unsubscribe(self, reason: str) -> bool:
        """End it (``reason``: "link" or "admin"); False when it already had ended."""
        if self.status in (None, SubscriptionStatus.UNSUBSCRIBED):
            return False
        self._unsubscribed(reason=reason)
        return True

    @event("Unsubscribed")
    def _unsubscribed(self, reason: str) -> None:
        self.status = SubscriptionStatus.UNSUBSCRIBED

    # -- mails -------------------------------------------------------------------------

    def mail_sent(self, items: list[str], message_id: str) -> None:
        """One message carried these owed items (``status_mail`` ids)."""
        self._mail_sent(items=list(items), message_id=message_id)

    @event("MailSent")
    def _mail_sent(self, items: list[str], message_id: str) -> None:
        pass

    def mail_failed(
        self, items: list[str], attempts: int, retry_at: datetime | None, code: int | None
    ) -> None:
        """An attempt failed: retried at ``retry_at``, or given up (None). Only the SMTP
        answer code is kept: the server's text may quote the address."""
        self._mail_failed(items=list(items), attempts=attempts, retry_at=retry_at, code=code)

    @event("MailFailed")
    def _mail_failed(
        self, items: list[str], attempts: int, retry_at: datetime | None, code: int | None
    ) -> None:
        pass
