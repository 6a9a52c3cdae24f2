"""Role checks for API handlers: ADMIN > USER > RESPONDER > STAKEHOLDER > GUEST.

Call them first thing in a handler on a Bearer-authenticated route (every /api route but the
inbound integration ones); they answer 403 with the role that was needed::

    caller = require_role(request, Role.RESPONDER)   # the caller's users row
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
