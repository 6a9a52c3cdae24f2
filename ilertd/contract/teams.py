"""A team on the wire (ilert's ``Team`` and ``TeamMember``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..domain.team import MAX_MEMBERS, TeamRole, Visibility
from ..domain.text import MAX_NAME
from .common import ReadOnlyTime, UserRef, trimmed

#: Enum values from the domain, in its order (highest first); the domain checks them, so a
#: wrong one is a 400 naming ``members[i].role``. ilert-go sends "" for an unset role.
TeamRoleName = Annotated[
    str,
    msgspec.Meta(
        description='RESPONDER when left out or ""',
        extra_json_schema={"enum": [*(r.value for r in TeamRole), ""]},
    ),
]
VisibilityName = Annotated[
    str,
    msgspec.Meta(
        description='PUBLIC when left out or ""',
        extra_json_schema={"enum": [*(v.value for v in Visibility), ""]},
    ),
]


class TeamMember(msgspec.Struct, kw_only=True):
    """A member: ``{"user": {"id": n}}`` on input, the user's names added on output."""

    user: Annotated[UserRef, msgspec.Meta(description="a live user")]
    role: TeamRoleName | None = None


class Team(msgspec.Struct, kw_only=True):
    """PUT replaces the whole team: absent fields take their defaults (no members)."""

    name: trimmed(MAX_NAME, "unique among teams")  # type: ignore[valid-type]
    id: (
        Annotated[int, msgspec.Meta(description="read-only (ilert-go sends 0 on create)")] | None
    ) = None
    visibility: (
        Annotated[
            VisibilityName,
            msgspec.Meta(description="PRIVATE: invisible to non-members who are not ADMIN"),
        ]
        | None
    ) = None
    members: Annotated[list[TeamMember], msgspec.Meta(max_length=MAX_MEMBERS)] | None = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
