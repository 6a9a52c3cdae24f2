"""/api/support-hours: the hours an alert source's ``*_DURING_SUPPORT_HOURS`` priority rule
asks (``domain.support_hours``).

A team resource, as services: any authenticated user reads (support hours whose teams are
all PRIVATE only their members and ADMINs); ADMINs, and ADMINs of one of their teams,
write. A DELETE is refused (409) while an alert source names them, since its priority rule
would have nothing to ask. Ids are integers, as ilert-go's ``SupportHour.ID int64``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
from aiohttp import web

from projections.alert_sources import sources_using_support_hours
from projections.support_hours import (
    list_support_hours,
    row_teams,
    support_hours_by_id,
    support_hours_by_name,
    teams_of,
)
from projections.team_scope import names_for, teams_json

from ..contract.common import ID_PARAM
from ..contract.support_hours import SupportHours as SupportHoursBody
from ..domain.errors import DomainError
from ..domain.support_hours import DAYS, SupportHours
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Resource, Route, crud_routes
from .team_access import (
    check_sent_teams,
    kept,
    list_scope,
    require_visible,
    sent_teams,
    team_creator,
    team_listed,
    team_writer,
    viewer,
)
from .writes import domain_problem, load_live, parse_id, path_id, pool, save

_NOT_FOUND = "no such support hours"


def support_hours_json(row: dict[str, Any], teams: dict[int, str]) -> dict[str, Any]:
    """The support hours as everyone reads them; ``teams``: the names of their teams.
    Every day is answered, null where there is no support (as ilert-go reads them)."""
    settings = row["settings"]
    days = settings.get("support_days", {})
    return {
        "id": row["id"],
        "name": settings["name"],
        "timezone": settings["timezone"],
        "supportDays": {day: days.get(day) for day in DAYS},
        "exceptions": [
            {
                "name": item.get("name"),
                "start": item["start"],
                "end": item["end"],
                "supportStatus": item["support_status"],
            }
            for item in settings.get("exceptions", ())
        ],
        "teams": teams_json(row_teams(row), teams),
    }


async def _present(request: web.Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    teams = await names_for(pool(request), (row_teams(row) for row in rows))
    return [support_hours_json(row, teams) for row in rows]


async def _one(request: web.Request, row: dict[str, Any]) -> dict[str, Any]:
    return (await _present(request, [row]))[0]


def _settings(body: SupportHoursBody, row: dict[str, Any] | None = None) -> dict[str, Any]:
    """Domain settings from a decoded body; absent ``teams`` keep the stored ones."""
    return {
        "name": body.name,
        "timezone": body.timezone,
        "support_days": None if body.supportDays is None else msgspec.to_builtins(body.supportDays),
        "exceptions": [
            {
                "name": item.name,
                "start": item.start,
                "end": item.end,
                "support_status": item.supportStatus,
            }
            for item in body.exceptions or ()
        ],
        "teams": kept(sent_teams(body.teams), row_teams(row) if row is not None else ()),
    }


async def _find(request: web.Request, user: Any) -> dict[str, Any]:
    """The support hours of the path's ``{id}``, when ``user`` may see them; else 404."""
    row = await support_hours_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row_teams(row), _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    if ident is None:
        return None
    return await teams_of(pool(request), ident)


async def _reread(request: web.Request, ident: int) -> dict[str, Any]:
    row = await support_hours_by_id(pool(request), ident)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_all(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_support_hours(pool(request), start, limit, viewer=who, only=only)
    return json_response(await _present(request, rows))


async def create(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    try:
        hours = SupportHours.create(**_settings(call.body))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, caller, call.body.teams, ())
    ident = await save(request, caller, hours)
    assert ident is not None
    return json_response(await _one(request, await _reread(request, ident)), status=201)


async def get_one(request: web.Request, call: Call) -> web.Response:
    return json_response(await _one(request, await _find(request, call.caller)))


async def replace_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    settings = _settings(call.body, row)
    await check_sent_teams(request, caller, call.body.teams, row_teams(row))
    hours: SupportHours = await load_live(request, row, _NOT_FOUND)
    try:
        hours.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, hours)
    return json_response(await _one(request, await _reread(request, row["id"])))


async def delete_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    using = await sources_using_support_hours(pool(request), row["id"])
    if using:
        named = ", ".join(str(ident) for ident in using[:10])
        raise ProblemError(
            409, "CONFLICT", f"alert sources use them (ids {named}); point those elsewhere first"
        )
    hours: SupportHours = await load_live(request, row, _NOT_FOUND)
    try:
        hours.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, hours)
    return web.Response(status=204)


async def get_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchSupportHour (the Terraform data source): the oldest live support
    hours of that name the caller may see."""
    row = await support_hours_by_name(
        pool(request), request.match_info["name"], viewer(call.caller)
    )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _one(request, row))


SUPPORT_HOURS_RESOURCE = Resource(
    base="/api/support-hours",
    tag="Support hours",
    name="SupportHours",
    names="SupportHoursList",
    one="a set of support hours",
    many="support hours",
    type=SupportHoursBody,
    id_param=Param("id", "path", ID_PARAM, "the support hours' id"),
    list_params=PAGING,
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    SUPPORT_HOURS_RESOURCE,
    list_all=list_all,
    create=create,
    get=get_one,
    replace=replace_one,
    delete=delete_one,
)
#: Writes: ADMINs, and ADMINs of one of their teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = "ADMINs, and ADMINs of one of their teams; 403 for others, 404 if invisible"

ROUTES = (
    team_listed(_listed),
    replace(
        _created,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for support hours whose teams are all theirs",
    ),
    Route(
        "GET",
        "/api/support-hours/name/{name}",
        get_by_name,
        "getSupportHoursByName",
        "Support hours",
        "The support hours of that name (the oldest, if several)",
        {200: Answer("The support hours", SupportHoursBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the support hours' name"),),
    ),
    _got,
    replace(_replaced, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(
        _deleted,
        authorize=_TEAM_WRITE,
        description=f"{_TEAM_TEXT}; 409 while an alert source names them",
    ),
)
