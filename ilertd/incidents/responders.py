"""Who a responder reference names, resolved at the moment it is given.

``{"user": {"id"}}`` names that user; ``{"schedule": {"id"}}`` whoever is on call in it now
(through ``ilertd.oncall``); ``{"escalationPolicy": {"id"}}`` the users of its first rule,
its schedules resolved to who is on call now; ``{"team": {"id"}}`` its members. Each user
becomes a responder of their own, recording ``via`` (what kind of thing was named) and
``named`` (its id), and is paged. Resolution happens once: a later shift change does not
move a page, as with ilert's "assign to schedule".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from projections.escalation_policies import policy_by_id, policy_rules
from projections.schedules import oncall_schedule, schedule_by_id, schedules_by_ids
from projections.teams import members_of, team_by_id

from ..domain.errors import InvalidValueError
from ..oncall import on_call_at

#: The wire's reference fields, the ``via`` they record.
KINDS = ("user", "schedule", "escalationPolicy", "team")


@dataclass(frozen=True)
class Named:
    """The users one reference resolved to."""

    via: str
    named: int | None
    users: tuple[int, ...]


def inside(field: str, name: str) -> str:
    """``name`` inside ``field`` ("" for the request body itself)."""
    return f"{field}.{name}" if field else name


def _which(item: Any, field: str) -> tuple[str, Any]:
    given = [(kind, getattr(item, kind)) for kind in KINDS if getattr(item, kind) is not None]
    if len(given) != 1:
        raise InvalidValueError(field or "user", f"name exactly one of {', '.join(KINDS)}")
    return given[0]


async def _live_users(pool: asyncpg.Pool, ids: list[int]) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL", ids
    )
    found = {r["id"] for r in rows}
    return [i for i in dict.fromkeys(ids) if i in found]


def _on_call(rows: list[asyncpg.Record], now: datetime) -> list[int]:
    users = []
    for row in rows:
        shift = on_call_at(oncall_schedule(row), now)
        if shift is not None:
            users.append(shift.user_id)
    return users


async def resolve(pool: asyncpg.Pool, item: Any, ref_id: int, field: str, now: datetime) -> Named:
    """The users ``item`` (an ``IncidentResponderIn``) names, ``ref_id`` being the id it
    gives; InvalidValueError naming ``field``'s part that is wrong."""
    kind, _ = _which(item, field)
    where = inside(field, f"{kind}.id")
    if kind == "user":
        if not await _live_users(pool, [ref_id]):
            raise InvalidValueError(where, "no such user")
        return Named("user", None, (ref_id,))
    if kind == "schedule":
        row = await schedule_by_id(pool, ref_id)
        if row is None:
            raise InvalidValueError(where, "no such schedule")
        users = _on_call([row], now)
    elif kind == "escalationPolicy":
        row = await policy_by_id(pool, ref_id)
        if row is None:
            raise InvalidValueError(where, "no such escalation policy")
        rules = policy_rules(row)
        first = rules[0] if rules else {"users": [], "schedules": []}
        users = [*first["users"], *_on_call(await schedules_by_ids(pool, first["schedules"]), now)]
    else:
        team = await team_by_id(pool, ref_id)
        if team is None:
            raise InvalidValueError(where, "no such team")
        users = [m["user_id"] for m in (await members_of(pool, [ref_id]))[ref_id]]
    live = await _live_users(pool, users)
    if not live:
        raise InvalidValueError(where, f"{kind} {ref_id} names nobody to page now")
    return Named(kind, ref_id, tuple(live))
