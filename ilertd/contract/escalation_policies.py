"""An escalation policy on the wire (ilert's ``EscalationPolicy``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..domain.escalation_policy import MAX_RULES
from .common import Id, IdRef, IdText, UserRef

TIMEOUT_TEXT = (
    "On input integer minutes (as ilert) or an ISO-8601 duration such as PT30S. On output "
    "integer minutes when the timeout is a whole number of minutes, else the ISO-8601 "
    "duration (PT30S, PT1M30S), so sub-minute timeouts survive a round trip."
)


class EscalationRule(msgspec.Struct, kw_only=True):
    """One level. At least one user or schedule."""

    escalationTimeout: Annotated[int | str, msgspec.Meta(description=TIMEOUT_TEXT)]
    users: (
        Annotated[
            list[UserRef | Id | IdText],
            msgspec.Meta(description="existing users; bare ids accepted on input"),
        ]
        | None
    ) = None
    schedules: (
        Annotated[list[IdRef | Id | IdText], msgspec.Meta(description="not checked on input")]
        | None
    ) = None


class EscalationPolicy(msgspec.Struct, kw_only=True):
    """PUT replaces the whole policy: absent fields take their defaults."""

    escalationRules: Annotated[
        list[EscalationRule],
        msgspec.Meta(max_length=MAX_RULES, description="the levels, level 0 first; at least one"),
    ]
    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    repeating: (
        Annotated[bool, msgspec.Meta(description="after the last level start again")] | None
    ) = None
    frequency: Annotated[int, msgspec.Meta(description="rounds when repeating")] | None = None
    delayMin: Annotated[int, msgspec.Meta(description="minutes before level 0 is paged")] | None = (
        None
    )
    routingKey: (
        Annotated[str, msgspec.Meta(max_length=255, description="unique among live policies")]
        | None
    ) = None
    teams: Annotated[list[IdRef | Id | IdText], msgspec.Meta(description="stored only")] | None = (
        None
    )
