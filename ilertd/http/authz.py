"""Role checks: ADMIN > USER > RESPONDER > STAKEHOLDER > GUEST.

The route table applies them before a handler runs (``Route.role``, ``Route.self_param``),
so who may call a route is declared once and stated in the document; they answer 403 with
the role that was needed.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from ..domain.user import Role
from .context import USER
from .problems import ProblemError

#: Higher rank, more rights; each role may do everything the roles below it may.
RANKS: dict[Role, int] = {role: rank for rank, role in enumerate(reversed(Role))}


def has_role(user: asyncpg.Record, minimum: Role) -> bool:
    """Whether a users row holds ``minimum`` or a higher role."""
    try:
        return RANKS[Role(user["role"])] >= RANKS[minimum]
    except ValueError:
        return False  # a role this build does not know grants nothing


def caller(request: web.Request) -> asyncpg.Record:
    """The authenticated caller's users row (401 if the route was not authenticated)."""
    user = request.get(USER)
    if user is None:
        raise ProblemError(401, "UNAUTHORIZED", "missing credentials: send a Bearer API key")
    return user


def require_role(request: web.Request, minimum: Role) -> asyncpg.Record:
    """The caller's users row if their role is ``minimum`` or higher, else 403."""
    user = caller(request)
    if not has_role(user, minimum):
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"this needs the {minimum.value} role or higher; your role is {user['role']}",
        )
    return user


def require_self_or_role(request: web.Request, user_id: int, minimum: Role) -> asyncpg.Record:
    """The caller's row if they are user ``user_id`` themself or hold ``minimum``, else 403."""
    user = caller(request)
    if user["id"] != user_id and not has_role(user, minimum):
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"only the user themself or the {minimum.value} role may do this; "
            f"your role is {user['role']}",
        )
    return user


def names_caller(raw: str, user: asyncpg.Record) -> bool:
    """Whether a path segment names this user: their id, or their username (case ignored),
    as ilert's clients address users by either."""
    return raw == str(user["id"]) or raw.casefold() == user["username"].casefold()


def require_self_or(request: web.Request, raw: str, minimum: Role) -> asyncpg.Record:
    """The caller's row if ``raw`` (a path segment) names them or they hold ``minimum``."""
    user = caller(request)
    if not names_caller(raw, user) and not has_role(user, minimum):
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"only the user themself or the {minimum.value} role may do this; "
            f"your role is {user['role']}",
        )
    return user
