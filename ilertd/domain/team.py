"""Teams: a name, a visibility and members with a team role, as ilert has them.

A member is ``{"user": int, "role": str}``: the user's API id and their role in this team.
Whether a user is live and whether a name is free are facts of the read model: the HTTP
layer checks them before appending. Errors name the field as the API spells it
(``members[2].role``), because the HTTP layer hands them straight back.

A team role raises a user's rights within that team's resources, never lowers them:
``raised_role`` is the one rule for it, so every resource that belongs to a team asks it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError
from .lifecycle import Replaceable
from .text import checked_name
from .user import Role

MAX_MEMBERS = 500
MAX_ID = 2**63 - 1


class TeamRole(StrEnum):
    """ilert-go's ``TeamMemberRolesAll`` (ADMIN, USER, RESPONDER, STAKEHOLDER) plus VIEWER,
    which ilert added later (Terraform provider 2.23); highest first."""

    ADMIN = "ADMIN"
    USER = "USER"
    RESPONDER = "RESPONDER"
    STAKEHOLDER = "STAKEHOLDER"
    VIEWER = "VIEWER"


class Visibility(StrEnum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


#: The account role a team role is worth inside the team (VIEWER: read only, as GUEST).
TEAM_ROLE_RIGHTS: dict[TeamRole, Role] = {
    TeamRole.ADMIN: Role.ADMIN,
    TeamRole.USER: Role.USER,
    TeamRole.RESPONDER: Role.RESPONDER,
    TeamRole.STAKEHOLDER: Role.STAKEHOLDER,
    TeamRole.VIEWER: Role.GUEST,
}
DEFAULT_ROLE = TeamRole.RESPONDER  # the Terraform provider's default


class NotAMemberError(DomainError):
    """The team has no such member (the HTTP layer answers 404)."""


def _rank(role: Role) -> int:
    """Higher is more: Role lists the roles highest first."""
    return len(Role) - list(Role).index(role)


def raised_role(account_role: str, team_role: str | None) -> Role | None:
    """The role a user acts with on a team's resources: their account role, raised to what
    their team role is worth when that is more. None when neither is a role this build
    knows (an unknown role grants nothing)."""
    candidates = []
    if account_role in Role.__members__:
        candidates.append(Role(account_role))
    if team_role in TeamRole.__members__:
        candidates.append(TEAM_ROLE_RIGHTS[TeamRole(team_role)])
    return max(candidates, key=_rank, default=None)


def may_act(account_role: str, team_role: str | None, minimum: Role) -> bool:
    """Whether a user with these roles holds ``minimum`` or more within the team."""
    role = raised_role(account_role, team_role)
    return role is not None and _rank(role) >= _rank(minimum)


def _user_id(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidValueError(field, "must be a positive integer user id")
    return value


def checked_role(field: str, value: Any) -> str:
    """A team role's name; None (left out) is the default, RESPONDER."""
    if value is None:
        return DEFAULT_ROLE.value
    if not isinstance(value, str) or value not in TeamRole.__members__:
        allowed = ", ".join(TeamRole)
        raise InvalidValueError(field, f"must be one of {allowed}")
    return value


def checked_member(member: Any, prefix: str = "") -> dict[str, Any]:
    """``{"user": id, "role": name}`` checked; ``prefix`` (``members[2].``) names it."""
    if not isinstance(member, dict):
        raise InvalidValueError(prefix.rstrip(".") or "body", "must be a member object")
    return {
        "user": _user_id(f"{prefix}user", member.get("user")),
        "role": checked_role(f"{prefix}role", member.get("role")),
    }


def checked_settings(*, name: Any, visibility: Any = None, members: Any = ()) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field."""
    if visibility is None:
        visibility = Visibility.PUBLIC.value
    if not isinstance(visibility, str) or visibility not in Visibility.__members__:
        raise InvalidValueError("visibility", "must be PUBLIC or PRIVATE")
    if not isinstance(members, list | tuple):
        raise InvalidValueError("members", "must be a list of members")
    if len(members) > MAX_MEMBERS:
        raise InvalidValueError("members", f"must hold at most {MAX_MEMBERS} members")
    checked: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, member in enumerate(members):
        one = checked_member(member, f"members[{index}].")
        if one["user"] in seen:
            raise InvalidValueError(f"members[{index}].user", f"user {one['user']} is listed twice")
        seen.add(one["user"])
        checked.append(one)
    return {"name": checked_name(name), "visibility": visibility, "members": checked}


class Team(Replaceable, Aggregate):
    """A team. Deleted teams stay in the stream (history, ids) but refuse commands."""

    label = "team"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, *, id: UUID | None = None, **settings: Any) -> Team:  # noqa: A002
        """A new team; settings as ``checked_settings``."""
        return cls(**checked_settings(**settings), id=id)

    @event("Created")
    def __init__(
        self,
        name: str,
        visibility: str,
        members: list[dict[str, Any]],
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.deleted = False
        self._assign(name, visibility, members)

    def _assign(self, name: str, visibility: str, members: list[dict[str, Any]]) -> None:
        self.name = name
        self.visibility = visibility
        self.members: list[dict[str, Any]] = [dict(member) for member in members]

    @property
    def settings(self) -> dict[str, Any]:
        """Everything a PUT replaces, as ``checked_settings`` gives it."""
        return {
            "name": self.name,
            "visibility": self.visibility,
            "members": [dict(member) for member in self.members],
        }

    @event("Updated")
    def _updated(self, name: str, visibility: str, members: list[dict[str, Any]]) -> None:
        self._assign(name, visibility, members)

    def role_of(self, user: int) -> str | None:
        return next((m["role"] for m in self.members if m["user"] == user), None)

    def add_member(self, member: Any) -> bool:
        """Add a member, or give a member the role sent; False when nothing changed."""
        self._require_live()
        checked = checked_member(member)
        current = self.role_of(checked["user"])
        if current == checked["role"]:
            return False
        if current is None:
            if len(self.members) >= MAX_MEMBERS:
                raise InvalidValueError("user", f"a team holds at most {MAX_MEMBERS} members")
            self._member_added(user=checked["user"], role=checked["role"])
        else:
            self._member_role_changed(user=checked["user"], role=checked["role"])
        return True

    @event("MemberAdded")
    def _member_added(self, user: int, role: str) -> None:
        self.members.append({"user": user, "role": role})

    @event("MemberRoleChanged")
    def _member_role_changed(self, user: int, role: str) -> None:
        for member in self.members:
            if member["user"] == user:
                member["role"] = role

    def remove_member(self, user: int) -> None:
        self._require_live()
        if self.role_of(user) is None:
            raise NotAMemberError(f"user {user} is not a member of team {self.id}")
        self._member_removed(user=user)

    @event("MemberRemoved")
    def _member_removed(self, user: int) -> None:
        self.members = [m for m in self.members if m["user"] != user]

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
