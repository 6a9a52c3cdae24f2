"""The ``teams`` field resources carry (ilert-go's ``TeamShort``: ``{"id", "name"}``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .common import Id, IdText

#: At most this many teams per resource.
MAX_TEAMS = 100

TEAMS_TEXT = (
    "The teams the resource belongs to, sorted by id. On input each entry is "
    '{"id": n} (a name sent along is ignored; bare ids accepted); every id must be a team '
    "the caller can see, else 400 naming teams[i].id. An explicit [] clears the teams; an "
    "absent or null field keeps them, on PUT too (which otherwise replaces the whole "
    "resource). A team's ADMIN members may create, replace and delete its resources; a "
    "resource whose teams are all PRIVATE is invisible to non-members who are not ADMIN."
)


class TeamRef(msgspec.Struct, kw_only=True):
    """One team of a resource: ``{"id": n}`` on input, its name added on output."""

    id: Id | IdText
    name: Annotated[str, msgspec.Meta(description="read-only")] | None = None


#: The ``teams`` field of a resource's contract type.
Teams = Annotated[
    list[TeamRef | Id | IdText], msgspec.Meta(max_length=MAX_TEAMS, description=TEAMS_TEXT)
]
