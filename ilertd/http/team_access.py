"""Resources that belong to teams (escalation policies, alert sources, schedules,
connectors, alert actions): their ``teams`` field on input, who may see them, who may
write them, and the ``team-context`` of their lists.

- ``teams`` names teams the caller can see (else 400 naming ``teams[i].id``); absent or
  null keeps the stored teams, ``[]`` clears them.
- Seeing: a resource whose live teams are all PRIVATE is invisible (404, left out of lists
  and lookups) to users who are in none of them and are not ADMIN.
- Writing: the route's ``role`` (ADMIN) in the account, or ADMIN in one of the resource's
  teams (``team_writer``, checked before the body). Creating: an account ADMIN, or a team
  ADMIN whose new resource belongs only to teams they administer (``team_creator`` before
  the body, ``check_team_change`` once it is read). A team ADMIN who changes a resource's
  teams may add or remove only teams they administer, and may not leave it without a team
  (a resource of no team is the account ADMINs' alone).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web

from projections.team_scope import scope_sql, visible
from projections.teams import teams_of_user

from ..contract.common import spaces
from ..contract.team_refs import TeamRef
from ..domain.team import may_act
from ..domain.user import Role
from .authz import has_role
from .problems import ProblemError
from .routes import Authorizer, Param, Route
from .teams import TEAM_CONTEXT, context_team_ids, team_context, team_role_allows
from .writes import bad, parse_id, pool

#: The header list routes take (ilert's): which teams' resources to answer.
TEAM_CONTEXT_PARAM = Param(
    TEAM_CONTEXT,
    "header",
    {"type": "string", "pattern": spaces(r"^\s*(-1|[0-9]{1,19})?\s*$")},
    "0 (or none, or empty): all teams; -1: the caller's teams; else a team's id (404 if it is "
    "invisible or unknown); a list then answers only resources of those teams",
)


def team_listed(route: Route) -> Route:
    """A list route that takes the ``team-context`` header."""
    return replace(
        route,
        params=(*route.params, TEAM_CONTEXT_PARAM),
        problems=tuple(sorted({*route.problems, 400, 404})),
    )


#: Loads the teams of the resource the request's path names; None when there is none.
TeamsOf = Callable[[web.Request], Awaitable[list[int] | None]]


def sent_teams(refs: Sequence[Any] | None) -> list[int] | None:
    """The body's ``teams`` as ids in the order sent; None when absent or null (keep)."""
    if refs is None:
        return None
    ids = []
    for index, ref in enumerate(refs):
        ident = ref.id if isinstance(ref, TeamRef) else ref
        if isinstance(ident, str):
            ident = parse_id(ident)
        if not isinstance(ident, int) or isinstance(ident, bool) or ident < 1:
            raise bad(f"teams[{index}].id", "must be a team id")
        ids.append(ident)
    return ids


def viewer(user: Any) -> int | None:
    """The user whose visibility applies; None for an ADMIN, who sees everything."""
    return None if has_role(user, Role.ADMIN) else user["id"]


async def check_teams(request: web.Request, user: Any, teams: list[int]) -> None:
    """Every team must be live and visible to ``user``: else 400 naming ``teams[i].id``
    (a PRIVATE team the caller cannot see is as unknown as a missing one)."""
    if not teams:
        return
    rows = await pool(request).fetch(
        "SELECT id, visibility FROM teams WHERE id = ANY($1::bigint[]) AND NOT deleted",
        sorted(set(teams)),
    )
    public = {row["id"] for row in rows if row["visibility"] != "PRIVATE"}
    private = {row["id"] for row in rows} - public
    if private and viewer(user) is not None:
        mine = {m.team_id for m in await teams_of_user(pool(request), user["id"])}
        public |= private & mine
    elif private:
        public |= private
    for index, team in enumerate(teams):
        if team not in public:
            raise bad(f"teams[{index}].id", f"no team {team}")


def kept(sent: list[int] | None, current: Sequence[int]) -> list[int]:
    """The teams a write leaves: those sent, or the current ones when none were."""
    return list(current) if sent is None else sent


async def require_visible(
    request: web.Request, user: Any, teams: Sequence[int], not_found: str
) -> None:
    """404 (``not_found``) unless ``user`` may see a resource of ``teams``."""
    if not await visible(pool(request), viewer(user), teams):
        raise ProblemError(404, "NOT_FOUND", not_found)


async def list_scope(request: web.Request, user: Any) -> tuple[int | None, list[int] | None]:
    """What a list answers: (the viewer, as ``scope_sql`` takes it; the teams of the
    ``team-context`` header, None for all)."""
    only = await context_team_ids(pool(request), user, team_context(request))
    return viewer(user), only


async def _administered(request: web.Request, user: Any, minimum: Role) -> set[int]:
    """The teams in which ``user`` holds ``minimum`` by their team role."""
    return {
        m.team_id
        for m in await teams_of_user(pool(request), user["id"])
        if may_act(user["role"], m.role, minimum)
    }


def _forbidden(message: str) -> ProblemError:
    return ProblemError(403, "FORBIDDEN", message)


def team_writer(teams_of: TeamsOf, not_found: str, minimum: Role = Role.ADMIN) -> Authorizer:
    """Writes of an existing resource: 404 when the path names none the caller can see,
    403 unless they hold ``minimum`` in the account or in one of its teams."""

    async def check(request: web.Request, user: Any) -> None:
        teams = await teams_of(request)
        if teams is None:
            raise ProblemError(404, "NOT_FOUND", not_found)
        await require_visible(request, user, teams, not_found)
        if not await team_role_allows(pool(request), user, teams, minimum):
            raise _forbidden(
                f"this needs the {minimum.value} role, in the account or in one of the "
                f"resource's teams; your role is {user['role']}"
            )

    stated = {"team": {"param": "id", "role": minimum.value}}
    return Authorizer(check, stated, raises_role=True)


def team_creator(minimum: Role = Role.ADMIN) -> Authorizer:
    """Creates: ``minimum`` in the account, or in at least one team (which teams the new
    resource may have is checked once the body is read: ``check_team_change``)."""

    async def check(request: web.Request, user: Any) -> None:
        if has_role(user, minimum) or await _administered(request, user, minimum):
            return
        raise _forbidden(
            f"this needs the {minimum.value} role, in the account or in a team; "
            f"your role is {user['role']}"
        )

    return Authorizer(check, {"team": {"body": "teams", "role": minimum.value}}, raises_role=True)


async def check_sent_teams(
    request: web.Request, user: Any, refs: Sequence[Any] | None, before: Sequence[int]
) -> None:
    """A body's ``teams`` (None keeps ``before``) exist, are visible, and the caller may
    set them: what every team resource's create and replace check."""
    sent = sent_teams(refs)
    if sent is not None:
        await check_teams(request, user, sent)
    await check_team_change(request, user, before, kept(sent, before))


async def check_team_change(
    request: web.Request,
    user: Any,
    before: Sequence[int],
    after: Sequence[int],
    minimum: Role = Role.ADMIN,
) -> None:
    """A caller without ``minimum`` in the account (a team ADMIN) may add or remove only
    teams in which they hold it (a deleted team goes freely), and may not leave the
    resource without a team: else 403."""
    if has_role(user, minimum):
        return
    if not after:
        raise _forbidden(f"teams: only an account {minimum.value} may keep a resource of no team")
    if set(before) == set(after):
        return
    changed = sorted(set(before) ^ set(after))
    live = await pool(request).fetch(
        "SELECT id FROM teams WHERE id = ANY($1::bigint[]) AND NOT deleted", changed
    )
    mine = await _administered(request, user, minimum)
    foreign = sorted({row["id"] for row in live} - mine)
    if foreign:
        raise _forbidden(
            f"teams: you are not {minimum.value} of team {foreign[0]}, so you may not "
            "add it or remove it"
        )


# --- alerts: visible with their alert source ----------------------------------------------


async def _alert_source_teams(request: web.Request) -> list[int] | None:
    """The teams of the alert source of the path's alert; None when there is no alert."""
    alert_id = parse_id(request.match_info["id"])
    if alert_id is None:
        return None
    return await pool(request).fetchval(
        "SELECT s.teams FROM alerts a JOIN alert_sources s ON s.id = a.source_id WHERE a.id = $1",
        alert_id,
    )


async def _check_alert_visible(request: web.Request, user: Any) -> None:
    """404 for an alert whose alert source the caller may not see (its teams are all
    PRIVATE and the caller is in none): the alert is as invisible as its source. An
    unknown id is left to the handler's own 404."""
    if user is None or has_role(user, Role.ADMIN):
        return
    teams = await _alert_source_teams(request)
    if teams:
        await require_visible(request, user, teams, "no such alert")


#: Reads of one alert (``/api/alerts/{id}...``): checked before the handler.
ALERT_VISIBLE = Authorizer(_check_alert_visible, {"alert": "visible when its alert source is"})

#: Acting on one alert: RESPONDER in the account, or in a team of the alert's source (a
#: team role raises a user's rights on that team's alerts); 404 when invisible.
ALERT_RESPONDER = team_writer(_alert_source_teams, "no such alert", Role.RESPONDER)


def alert_routes_of_visible_sources(routes: Sequence[Route]) -> tuple[Route, ...]:
    """``routes`` with their guard on those that name one alert: ``ALERT_RESPONDER`` on
    the RESPONDER ones (actions), ``ALERT_VISIBLE`` on the others (reads)."""

    def guarded(route: Route) -> Route:
        if not route.path.startswith("/api/alerts/{id}") or route.authorize is not None:
            return route
        if route.role is Role.RESPONDER:
            return replace(route, authorize=ALERT_RESPONDER)
        return replace(route, authorize=ALERT_VISIBLE)

    return tuple(guarded(route) for route in routes)


async def invisible_sources(request: web.Request, user: Any) -> list[int]:
    """The alert sources ``user`` may not see (so neither their alerts): nearly always
    none, so an alert list pays one small query, not a check per alert."""
    if has_role(user, Role.ADMIN):
        return []
    rows = await pool(request).fetch(
        f"SELECT id FROM alert_sources s WHERE NOT {scope_sql('s.teams', '$1', 'NULL')}",
        user["id"],
    )
    return [row["id"] for row in rows]
