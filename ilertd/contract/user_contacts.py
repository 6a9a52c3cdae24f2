"""A user's contacts and notification rules on the wire (ilert's ``UserEmailContact``,
``UserPhoneNumberContact`` and the alert, duty and update notification preferences)."""

from __future__ import annotations

import copy
from typing import Annotated, Literal

import msgspec

from ..domain.user import (
    MAX_BEFORE_MIN,
    MAX_DELAY_MIN,
    MAX_TEXT,
    PRIORITY_TYPES,
    RULE_METHODS,
    UPDATE_TYPES,
    RuleKind,
)
from .common import Id, spaces, trimmed
from .users import EMAIL_PATTERN

CONTACT_TEXT = (
    "The user themself or an ADMIN reads and writes contacts; PUT replaces the whole contact. "
    "At most 20 contacts per user; the same target twice is a 409. At most one contact per "
    "channel is primary: making one primary makes the others not. A contact a notification "
    "rule uses cannot be removed (409)."
)
RULE_TEXT = (
    "The user themself or an ADMIN reads and writes notification rules; PUT replaces the "
    "whole rule. EMAIL needs an email contact, SMS and VOICE a phone number, PUSH none "
    "(contact absent or null). At most 50 rules per user."
)
#: The one type ilert gives a duty rule; ilert-go sends it (or "" when left unset).
DUTY_TYPE = "ON_CALL"

ItemId = Annotated[
    int,
    msgspec.Meta(description="read-only; the user's item id: contacts and rules share one counter"),
]
#: What the domain takes as a phone number: once trimmed and stripped of spaces, dashes and
#: parentheses, + and 8 to 15 digits (document only: the domain checks and names the field).
PHONE_PATTERN = spaces(r"^\s*[ \-()]*\+[ \-()]*(?:[0-9][ \-()]*){8,15}\s*$")
PhoneNumber = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEXT,
        description="international: + and 8 to 15 digits; spaces, dashes and parentheses "
        "are dropped",
        extra_json_schema={"pattern": PHONE_PATTERN},
    ),
]
EmailAddress = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEXT,
        description="an email address; trimmed",
        extra_json_schema={"pattern": EMAIL_PATTERN},
    ),
]
Primary = Annotated[bool, msgspec.Meta(description="the channel's primary contact; null: false")]


class ContactRef(msgspec.Struct, kw_only=True):
    """The contact to send to: ``{id}`` on input, the target added on output."""

    id: Id
    target: Annotated[str, msgspec.Meta(description="read-only")] | None = None


#: ``contact`` of a rule: ``{id}`` (a bare id too), or null for PUSH
Contact = (
    Annotated[ContactRef | Id, msgspec.Meta(description="{id}, or a bare id; null for PUSH")] | None
)


class EmailContact(msgspec.Struct, kw_only=True, omit_defaults=False):
    __doc__ = CONTACT_TEXT

    target: EmailAddress
    id: ItemId | None = None
    primary: Primary | None = None


class PhoneContact(msgspec.Struct, kw_only=True, omit_defaults=False):
    __doc__ = CONTACT_TEXT

    target: PhoneNumber
    id: ItemId | None = None
    regionCode: (
        Annotated[str, msgspec.Meta(description="two letters, such as DE; blank is none")] | None
    ) = None
    primary: Primary | None = None


class ContactSearch(msgspec.Struct, kw_only=True):
    """What ilert-go's ``SearchUser*Contact`` sends: the target to look for (other fields,
    such as its empty ``regionCode``, are ignored)."""

    target: trimmed(MAX_TEXT)  # type: ignore[valid-type]


class EmailSearch(ContactSearch, kw_only=True):
    """The email address to look for (ilert-go's ``SearchUserEmailContact``)."""

    target: EmailAddress


class PhoneSearch(ContactSearch, kw_only=True):
    """The phone number to look for (ilert-go's ``SearchUserPhoneNumberContact``)."""

    target: PhoneNumber


def _methods(kind: RuleKind) -> object:
    return Literal[RULE_METHODS[kind]]  # type: ignore[valid-type]


AlertMethod = _methods(RuleKind.ALERTS)
DutyMethod = _methods(RuleKind.DUTIES)
UpdateMethod = _methods(RuleKind.UPDATES)
PriorityType = Literal[PRIORITY_TYPES]  # type: ignore[valid-type]
UpdateType = Literal[UPDATE_TYPES]  # type: ignore[valid-type]


#: A rule's contact, stated where the rule's method is: PUSH takes none, every other
#: method one (of the channel the method sends to: a rule JSON Schema cannot see).
CONTACT_BY_METHOD = {
    "if": {"properties": {"method": {"const": "PUSH"}}},
    "then": {"properties": {"contact": {"type": "null"}}},
    "else": {"required": ["contact"], "properties": {"contact": {"not": {"type": "null"}}}},
}


def _rule(kind: type) -> object:
    """``kind`` with its contact rule, as bodies and answers carry it."""
    return Annotated[kind, msgspec.Meta(extra_json_schema=copy.deepcopy(CONTACT_BY_METHOD))]


class AlertNotificationRule(msgspec.Struct, kw_only=True, omit_defaults=False):
    __doc__ = RULE_TEXT

    method: AlertMethod  # type: ignore[valid-type]
    type: Annotated[PriorityType, msgspec.Meta(description="the alerts' priority")]  # type: ignore[valid-type]
    id: ItemId | None = None
    contact: Contact = None
    delayMin: (
        Annotated[
            int, msgspec.Meta(ge=0, le=MAX_DELAY_MIN, description="minutes after the alert; 0")
        ]
        | None
    ) = None


class DutyNotificationRule(msgspec.Struct, kw_only=True, omit_defaults=False):
    __doc__ = RULE_TEXT

    method: DutyMethod  # type: ignore[valid-type]
    id: ItemId | None = None
    contact: Contact = None
    beforeMin: (
        Annotated[
            int,
            msgspec.Meta(ge=0, le=MAX_BEFORE_MIN, description="minutes before a shift starts; 0"),
        ]
        | None
    ) = None
    type: (
        Annotated[
            Literal[DUTY_TYPE, ""],  # type: ignore[valid-type]
            msgspec.Meta(description=f"always {DUTY_TYPE} (as ilert); ignored on input"),
        ]
        | None
    ) = None


class UpdateNotificationRule(msgspec.Struct, kw_only=True, omit_defaults=False):
    __doc__ = RULE_TEXT

    method: UpdateMethod  # type: ignore[valid-type]
    type: UpdateType  # type: ignore[valid-type]
    id: ItemId | None = None
    contact: Contact = None


AlertRule = _rule(AlertNotificationRule)
DutyRule = _rule(DutyNotificationRule)
UpdateRule = _rule(UpdateNotificationRule)
