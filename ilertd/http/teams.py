"""/api/teams: list, create, read (by id or name), replace, delete, add and remove members;
and what other resources need of teams: the team-role check and the ``team-context`` header.

Any authenticated user reads PUBLIC teams; a PRIVATE team is invisible (404) to non-members
who are not ADMIN. ADMINs create teams; ADMINs and the team's own ADMIN members replace it,
delete it and change its members (``require_team_role``: a team role raises a user's rights
within that team's resources). Names are unique among live teams (409 naming ``name``);
members must be live users (400 naming ``members[i].user``). Every write waits until the
projections applied it, so the answer and the caller's next GET already show it; a 4xx
writes nothing.

ilert-go sends ``"id": 0`` on create, ``"members": null`` when it has none and ``""`` for an
unset visibility or role: those count as absent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, Literal

import asyncpg
from aiohttp import web

from projections.teams import (
    list_teams,
    members_of,
    team_by_id,
    team_by_name,
    team_ids_of_user,
    team_json,
    team_role_of,
    teams_of_user,
)

from ..contract.teams import Team as TeamBody
from ..contract.teams import TeamMember
from ..domain.errors import DomainError
from ..domain.team import NotAMemberError, Team, Visibility, may_act
from ..domain.user import Role
from ..keyed_locks import KeyedLocks
from .authz import caller, has_role
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Authorizer, Call, Param, Resource, Route, crud_routes
from .writes import bad, domain_problem, load_live, parse_id, pool, save

BASE = "/api/teams"
_NOT_FOUND = "no such team"
#: Writes that set a name check and append under one in-process lock per name, so two
#: requests to one instance cannot both take it (instances sharing a database still can).
_NAMES = KeyedLocks()


# -- what other resources use -----------------------------------------------------------


async def team_role_allows(
    conn: asyncpg.Connection | asyncpg.Pool,
    user: Any,
    teams: int | Collection[int],
    minimum: Role,
) -> bool:
    """Whether ``user`` (a users row) holds ``minimum`` on a resource of ``teams`` (a team
    id, or the ids of the teams a resource belongs to): their account role, raised by
    their role in one of those teams (``domain.team.raised_role``)."""
    if has_role(user, minimum):
        return True
    wanted = {teams} if isinstance(teams, int) else set(teams)
    return any(
        may_act(user["role"], membership.role, minimum)
        for membership in await teams_of_user(conn, user["id"])
        if membership.team_id in wanted
    )


async def require_team_role(
    request: web.Request, teams: int | Collection[int], minimum: Role
) -> asyncpg.Record:
    """The caller's users row when ``team_role_allows`` them ``minimum`` on a resource of
    ``teams``; else 403. The one check for "may this user do that to this team's
    resource"."""
    user = caller(request)
    if not await team_role_allows(pool(request), user, teams, minimum):
        where = f"team {teams}" if isinstance(teams, int) else "one of the resource's teams"
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"this needs the {minimum.value} role, in the account or in {where}; "
            f"your role is {user['role']}",
        )
    return user


TEAM_CONTEXT = "team-context"


@dataclass(frozen=True)
class TeamContext:
    """Which teams' resources a request asks for, from ilert's ``team-context`` header:
    ``0`` (or no header) all teams, ``-1`` the caller's teams, else one team's id."""

    kind: Literal["all", "mine", "team"]
    team_id: int | None = None


ALL_TEAMS = TeamContext("all")
MY_TEAMS = TeamContext("mine")


def parse_team_context(value: str | None) -> TeamContext:
    """The header's value as a TeamContext; anything else is a 400 naming the header."""
    text = (value or "").strip()
    if text in ("", "0"):
        return ALL_TEAMS
    if text == "-1":
        return MY_TEAMS
    team_id = parse_id(text)
    if team_id is None or team_id == 0:
        raise bad(
            TEAM_CONTEXT, f"must be 0 (all teams), -1 (my teams) or a team id, got {text[:20]!r}"
        )
    return TeamContext("team", team_id)


def team_context(request: web.Request) -> TeamContext:
    """The request's ``team-context`` header, parsed."""
    return parse_team_context(request.headers.get(TEAM_CONTEXT))


async def context_team_ids(
    conn: asyncpg.Connection | asyncpg.Pool, user: Any, context: TeamContext
) -> list[int] | None:
    """The team ids a context stands for (None: no filter, all teams); one team the user
    cannot see is a 404 naming the header."""
    if context.kind == "all":
        return None
    if context.kind == "mine":
        return await team_ids_of_user(conn, user["id"])
    assert context.team_id is not None
    row = await team_by_id(conn, context.team_id)
    if row is None or not await _visible(conn, user, row):
        raise ProblemError(
            404, "NOT_FOUND", f"{TEAM_CONTEXT}: no team {context.team_id}", field=TEAM_CONTEXT
        )
    return [context.team_id]


# -- the resource --------------------------------------------------------------------------


async def _visible(conn: Any, user: Any, row: Any) -> bool:
    """PUBLIC teams are visible to everyone; PRIVATE ones to ADMINs and their members."""
    if row["visibility"] != Visibility.PRIVATE or has_role(user, Role.ADMIN):
        return True
    return await team_role_of(conn, row["id"], user["id"]) is not None


def _blank_is_none(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value


def _member(member: TeamMember, prefix: str) -> dict[str, Any]:
    """One API member to the domain's shape; the domain checks the values."""
    ident: Any = member.user.id
    if isinstance(ident, str):
        ident = parse_id(ident)
        if ident is None:
            raise bad(f"{prefix}user", 'must be {"id": <integer>}')
    return {"user": ident, "role": _blank_is_none(member.role)}


def _settings(body: TeamBody) -> dict[str, Any]:
    return {
        "name": body.name,
        "visibility": _blank_is_none(body.visibility),
        "members": [
            _member(member, f"members[{index}].") for index, member in enumerate(body.members or ())
        ],
    }


async def _check_users(request: web.Request, members: list[dict[str, Any]], prefix: str) -> None:
    """Every member must be a live user: else 400 naming the entry (``prefix`` formatted
    with its index: ``members[{index}].``; empty for a member sent on its own)."""
    wanted = sorted({member["user"] for member in members})
    if not wanted:
        return
    live = {
        row["id"]
        for row in await pool(request).fetch(
            "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL", wanted
        )
    }
    for index, member in enumerate(members):
        if member["user"] not in live:
            raise bad(f"{prefix.format(index=index)}user", f"no user {member['user']}")


async def _check_name(request: web.Request, name: str, except_id: int | None) -> None:
    taken = await team_by_name(pool(request), name)
    if taken is not None and taken["id"] != except_id:
        raise ProblemError(
            409,
            "CONFLICT",
            f"name: {name!r} is already the name of team {taken['id']}",
            field="name",
        )


async def _present(request: web.Request, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    members = await members_of(pool(request), [row["id"] for row in rows])
    return [team_json(row, members[row["id"]]) for row in rows]


async def _present_id(request: web.Request, team_id: int) -> dict[str, Any]:
    row = await team_by_id(pool(request), team_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return (await _present(request, [row]))[0]


async def _find(request: web.Request, user: Any) -> asyncpg.Record:
    """The team of the path's ``{id}``, when the caller may see it; else 404."""
    team_id = parse_id(request.match_info["id"])
    row = None if team_id is None else await team_by_id(pool(request), team_id)
    if row is None or not await _visible(pool(request), user, row):
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _check_team_admin(request: web.Request, user: Any) -> None:
    """404 for a team the caller may not see, 403 unless they are ADMIN (globally or in
    the team): the route table runs it before the body is read."""
    row = await _find(request, user)
    await require_team_role(request, row["id"], Role.ADMIN)


#: Writes of a team other than create: ADMINs and the team's own ADMIN members.
TEAM_ADMIN = Authorizer(_check_team_admin, {"team": {"param": "id", "role": Role.ADMIN.value}})


async def _writable(request: web.Request, call: Call) -> tuple[asyncpg.Record, Team]:
    """The team the caller may write (``TEAM_ADMIN`` checked it) and its aggregate."""
    row = await _find(request, call.caller)
    return row, await load_live(request, row, _NOT_FOUND)


async def list_teams_handler(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    visible_to = None if has_role(call.caller, Role.ADMIN) else call.caller["id"]
    rows = await list_teams(pool(request), start, limit, visible_to=visible_to)
    return json_response(await _present(request, rows))


async def create_team(request: web.Request, call: Call) -> web.Response:
    settings = _settings(call.body)
    try:
        team = Team.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_users(request, team.members, "members[{index}].")
    async with _NAMES.hold(team.name):
        await _check_name(request, team.name, None)
        team_id = await save(request, call.caller, team)
    assert team_id is not None  # a new aggregate always has its Created event
    return json_response(await _present_id(request, team_id), status=201)


async def get_team(request: web.Request, call: Call) -> web.Response:
    return json_response((await _present(request, [await _find(request, call.caller)]))[0])


async def get_team_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchTeam (the Terraform data source)."""
    row = await team_by_name(pool(request), request.match_info["name"])
    if row is None or not await _visible(pool(request), call.caller, row):
        raise ProblemError(404, "NOT_FOUND", "no team has this name")
    return json_response((await _present(request, [row]))[0])


async def replace_team(request: web.Request, call: Call) -> web.Response:
    row, team = await _writable(request, call)
    try:
        team.update(**_settings(call.body))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_users(request, team.members, "members[{index}].")
    async with _NAMES.hold(team.name):
        await _check_name(request, team.name, row["id"])
        await save(request, call.caller, team)  # nothing to save when nothing changed
    return json_response(await _present_id(request, row["id"]))


async def delete_team(request: web.Request, call: Call) -> web.Response:
    _, team = await _writable(request, call)
    team.delete()
    await save(request, call.caller, team)
    return web.Response(status=204)


async def add_team_member(request: web.Request, call: Call) -> web.Response:
    """Add a member (201), or give a member the role sent (200; 200 too when unchanged)."""
    row, team = await _writable(request, call)
    member = _member(call.body, "")
    added = team.role_of(member["user"]) is None
    try:
        team.add_member(member)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_users(request, [member], "")
    await save(request, call.caller, team)
    return json_response(await _present_id(request, row["id"]), status=201 if added else 200)


async def remove_team_member(request: web.Request, call: Call) -> web.Response:
    row, team = await _writable(request, call)
    user_id = parse_id(request.match_info["user_id"])
    # the read model is the truth about membership: a deleted user has left already
    if user_id is None or await team_role_of(pool(request), row["id"], user_id) is None:
        raise ProblemError(404, "NOT_FOUND", f"user is not a member of team {row['id']}")
    try:
        team.remove_member(user_id)
    except DomainError as exc:
        raise domain_problem(exc, not_found=(NotAMemberError,)) from None
    await save(request, call.caller, team)
    return web.Response(status=204)


TEAMS = Resource(
    base=BASE,
    tag="Teams",
    name="Team",
    names="Teams",
    one="a team",
    many="teams",
    type=TeamBody,
    id_param=Param("id", "path", {"type": "integer", "format": "int64"}, "the team's id"),
    create_problems=(400, 409),
    list_params=PAGING,
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    TEAMS,
    list_all=list_teams_handler,
    create=create_team,
    get=get_team,
    replace=replace_team,
    delete=delete_team,
)
_TEAM_ADMIN = "ADMINs and the team's own ADMIN members; 403 for others, 404 if it is invisible"
_ONE = Answer("The team", TeamBody)
_USER_ID = Param("user_id", "path", {"type": "integer", "format": "int64"}, "the member's id")

#: ``/name/{name}`` comes before ``{id}``. Writes other than create are for team ADMINs
#: (``TEAM_ADMIN``, checked before the body).
ROUTES = (
    _listed,
    _created,
    Route(
        "GET",
        BASE + "/name/{name}",
        get_team_by_name,
        "getTeamByName",
        TEAMS.tag,
        "The team with this name (ilert-go's SearchTeam)",
        {200: _ONE},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the exact name"),),
    ),
    _got,
    replace(
        _replaced,
        role=None,
        authorize=TEAM_ADMIN,
        summary="Replace a team (team ADMIN)",
        description=_TEAM_ADMIN,
    ),
    replace(
        _deleted,
        role=None,
        authorize=TEAM_ADMIN,
        summary="Delete a team (team ADMIN)",
        description=_TEAM_ADMIN,
    ),
    Route(
        "POST",
        BASE + "/{id}/members",
        add_team_member,
        "addTeamMember",
        TEAMS.tag,
        "Add a member, or change a member's role (team ADMIN); answers the team",
        {
            201: Answer("Added; the team", TeamBody),
            200: Answer("Already a member; the team", TeamBody),
        },
        body=TeamMember,
        problems=(400, 404, 409),
        params=(TEAMS.id_param,),
        authorize=TEAM_ADMIN,
        description=_TEAM_ADMIN,
    ),
    Route(
        "DELETE",
        BASE + "/{id}/members/{user_id}",
        remove_team_member,
        "removeTeamMember",
        TEAMS.tag,
        "Remove a member (team ADMIN)",
        {204: Answer("Removed")},
        problems=(404, 409),
        params=(TEAMS.id_param, _USER_ID),
        authorize=TEAM_ADMIN,
        description=_TEAM_ADMIN,
    ),
)

__all__ = [
    "ALL_TEAMS",
    "MY_TEAMS",
    "ROUTES",
    "TeamContext",
    "context_team_ids",
    "parse_team_context",
    "require_team_role",
    "team_context",
    "team_role_allows",
]
