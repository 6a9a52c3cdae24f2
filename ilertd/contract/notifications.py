"""Paging on the wire: an alert's notifications, and the forms the SMS and voice provider
posts (Twilio's field names)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.alert_notifications import INCIDENT_PAGE, PAGE, NotificationStatus
from ..domain.user import METHOD_CHANNEL, UPDATE_TYPES
from .common import IdRef, ReadOnlyTime
from .visibility import Masking, secret

NotificationKind = Literal[(PAGE, INCIDENT_PAGE, *UPDATE_TYPES)]  # type: ignore[valid-type]
NotificationMethod = Literal[tuple(METHOD_CHANNEL)]  # type: ignore[valid-type]
NotificationStatusName = Literal[tuple(s.value for s in NotificationStatus)]  # type: ignore[valid-type]

#: an answer to the provider, in its markup
TwiML = Annotated[str, msgspec.Meta(description="TwiML")]
#: a page for people
Html = Annotated[str, msgspec.Meta(description="HTML")]


class Notification(msgspec.Struct, kw_only=True):
    id: str
    type: Annotated[
        NotificationKind,
        msgspec.Meta(
            description=f"{PAGE}, {INCIDENT_PAGE}: a page (into an incident); the others: "
            "status updates"
        ),
    ]
    method: NotificationMethod
    target: Annotated[
        str,
        msgspec.Meta(description="address, number or push topic"),
        secret(Masking.VALUE, "another user's private contact", owner="user.id"),
    ]
    user: IdRef
    notificationTime: Annotated[ReadOnlyTime, msgspec.Meta(description="when it is (or was) due")]
    status: NotificationStatusName
    attempts: int
    error: (
        Annotated[
            str,
            secret(
                Masking.CONTACT_TEXT,
                "a provider's error may quote the contact",
                owner="user.id",
                contact="target",
            ),
        ]
        | None
    )
    updatedAt: ReadOnlyTime


class InboundSms(msgspec.Struct, kw_only=True):
    """The provider's inbound-message webhook; its other fields are signed, not read."""

    From: str = ""
    To: str = ""
    Body: str = ""


class VoiceKeypress(msgspec.Struct, kw_only=True):
    """What the caller pressed on a paging call."""

    Digits: str = ""
    CallSid: str = ""
