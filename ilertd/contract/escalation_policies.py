"""An escalation policy on the wire (ilert's ``EscalationPolicy``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..domain.escalation_policy import MAX_RULES, MAX_TIMEOUT_S
from .common import DURATION_PATTERN, Id, IdRef, IdText, Name, UserRef
from .team_refs import Teams

#: integer minutes, as ilert
MAX_TIMEOUT_MIN = MAX_TIMEOUT_S // 60

TIMEOUT_TEXT = (
    "On input integer minutes (as ilert) or an ISO-8601 duration such as PT30S. On output "
    "integer minutes when the timeout is a whole number of minutes, else the ISO-8601 "
    "duration (PT30S, PT1M30S), so sub-minute timeouts survive a round trip."
)


class EscalationRule(msgspec.Struct, kw_only=True):
    """One level. At least one user or schedule."""

    escalationTimeout: Annotated[
        Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 1, "maximum": MAX_TIMEOUT_MIN})]
        | Annotated[str, msgspec.Meta(extra_json_schema={"pattern": DURATION_PATTERN})],
        msgspec.Meta(description=TIMEOUT_TEXT),
    ]
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


#: A rule names at least one user or schedule.
Rule = Annotated[
    EscalationRule,
    msgspec.Meta(
        extra_json_schema={
            "anyOf": [
                {"required": [field], "properties": {field: {"type": "array", "minItems": 1}}}
                for field in ("users", "schedules")
            ]
        }
    ),
]


class EscalationPolicy(msgspec.Struct, kw_only=True):
    """PUT replaces the whole policy: absent fields take their defaults, except ``teams``,
    which an absent or null field keeps (``[]`` clears them)."""

    escalationRules: Annotated[
        list[Rule],
        msgspec.Meta(
            max_length=MAX_RULES,
            description="the levels, level 0 first; at least one",
            extra_json_schema={"minItems": 1},
        ),
    ]
    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Name
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
    teams: Teams | None = None
