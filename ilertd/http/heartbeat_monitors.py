"""/api/heartbeat-monitors: list, create, read (by id or name), replace, delete.

Team resources as services are: anyone signed in reads (a monitor whose teams are all
PRIVATE only their members and ADMINs), ADMINs and ADMINs of one of its teams write.
``integrationKey`` and ``integrationUrl`` are answered with ``include=`` (the create answer
always carries them, so whoever made the monitor can use it) and only to those who may
read the key (``field_access``, as the alert source's key). ``alertSource`` absent on
create: an alert source of integrationType HEARTBEAT2 is created for the monitor, with its
name and teams. A name already taken answers 409: on create with the monitor that has it
(as ilert), on a rename as a problem naming ``name``. Names are compared among the monitors
the caller can see, so a 409 never tells of an invisible one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import asyncpg
from aiohttp import web

from projections.alert_sources import source_by_id
from projections.heartbeat_monitors import (
    list_monitors,
    monitor_by_id,
    monitor_by_name,
    teams_of,
)
from projections.team_scope import names_for, teams_json

from ..contract.common import ID_PARAM
from ..contract.heartbeat_monitors import HeartbeatMonitor as MonitorBody
from ..domain.alert_source import AlertSource
from ..domain.errors import DomainError
from ..domain.heartbeat_monitor import HeartbeatMonitor, state_at
from ..domain.wire_time import wire_time
from ..inbound.heartbeats import ping_time
from .body import base_url
from .context import SERVICES, runtime
from .field_access import shown, viewer_of
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
from .writes import bad, domain_problem, load_live, parse_id, path_id, pool, save

_NOT_FOUND = "no such heartbeat monitor"
#: ilert-go's ``HeartbeatMonitorInclude`` values
INCLUDES = frozenset({"integrationKey", "integrationUrl", "alertSource"})


def _include(request: web.Request) -> frozenset[str]:
    """``?include=`` (repeatable or comma-separated); unknown names are ignored."""
    named = {
        part.strip() for value in request.query.getall("include", []) for part in value.split(",")
    }
    return frozenset(named & INCLUDES)


def ping_path(key: str) -> str:
    return f"/api/heartbeats/{key}"


async def _present_all(
    request: web.Request, call: Call, rows: Sequence[asyncpg.Record], include: frozenset[str]
) -> list[dict[str, Any]]:
    db = pool(request)
    names = await names_for(db, (row["teams"] for row in rows))
    watcher = await viewer_of(request, call.caller)
    now = request.app[SERVICES].clock.now()
    answers = []
    for row in rows:
        body: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "intervalSec": row["interval_s"],
            "alertSummary": row["alert_summary"],
            "state": state_at(now, ping_time(row), row["overdue"], row["interval_s"]).value,
            "createdAt": wire_time(row["created_at"]),
            "updatedAt": wire_time(row["updated_at"]),
            "teams": teams_json(row["teams"], names),
        }
        source_id = row["alert_source_id"]
        if source_id is not None:
            body["alertSource"] = {"id": source_id}
            if "alertSource" in include:  # cached: a page of monitors shares few sources
                source = await runtime(request).source_with_id(source_id)
                if source is not None:
                    body["alertSource"].update(
                        name=source["name"], integrationType=source["integration_type"]
                    )
        if "integrationKey" in include or "integrationUrl" in include:
            # the URL is masked from the key: both go in, the unasked one comes out after
            body["integrationKey"] = row["integration_key"]
            body["integrationUrl"] = base_url(request) + ping_path(row["integration_key"])
        answer = shown(MonitorBody, body, watcher)
        for field in ("integrationKey", "integrationUrl"):
            if field not in include:
                answer.pop(field, None)
        answers.append(answer)
    return answers


async def _one(
    request: web.Request, call: Call, row: asyncpg.Record, include: frozenset[str] | None = None
) -> dict[str, Any]:
    return (
        await _present_all(request, call, [row], _include(request) if include is None else include)
    )[0]


def _source_id(body: MonitorBody) -> int | None:
    if body.alertSource is None:
        return None
    ident = body.alertSource.id
    return int(ident) if isinstance(ident, str) else ident


def _settings(body: MonitorBody, row: asyncpg.Record | None = None) -> dict[str, Any]:
    source = _source_id(body)
    return {
        "name": body.name,
        "interval_s": body.intervalSec,
        "alert_summary": body.alertSummary,
        "alert_source_id": source if source is not None or row is None else row["alert_source_id"],
        "teams": kept(sent_teams(body.teams), row["teams"] if row is not None else ()),
    }


async def _find(request: web.Request, user: Any) -> asyncpg.Record:
    row = await monitor_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row["teams"], _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    return None if ident is None else await teams_of(pool(request), ident)


async def _check(request: web.Request, user: Any, body: MonitorBody, before: Sequence[int]) -> None:
    """The sent teams exist and may be set by the caller; the named source is visible."""
    await check_sent_teams(request, user, body.teams, before)
    source_id = _source_id(body)
    if source_id is not None:
        source = await source_by_id(pool(request), source_id)
        invisible = source is None or not await _visible(request, user, source["teams"])
        if invisible:
            raise bad("alertSource.id", f"there is no alert source with id {source_id}")


async def _visible(request: web.Request, user: Any, teams: Sequence[int]) -> bool:
    try:
        await require_visible(request, user, teams, _NOT_FOUND)
    except ProblemError:
        return False
    return True


async def _reread(request: web.Request, monitor_id: int) -> asyncpg.Record:
    row = await monitor_by_id(pool(request), monitor_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_all(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_monitors(pool(request), start, limit, viewer=who, only=only)
    return json_response(await _present_all(request, call, rows, _include(request)))


async def create(request: web.Request, call: Call) -> web.Response:
    caller, body = call.caller, call.body
    settings = _settings(body)
    try:
        HeartbeatMonitor.check_settings(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check(request, caller, body, ())
    taken = await monitor_by_name(pool(request), settings["name"].strip(), viewer(caller))
    if taken is not None:
        return json_response(await _one(request, call, taken), status=409)
    if settings["alert_source_id"] is None:  # a source of its own, as ilert makes one
        source = AlertSource.create(
            name=settings["name"], integration_type="HEARTBEAT2", teams=settings["teams"]
        )
        settings["alert_source_id"] = await save(request, caller, source)
    monitor = HeartbeatMonitor.create(**settings)
    monitor_id = await save(request, caller, monitor)
    assert monitor_id is not None
    row = await _reread(request, monitor_id)
    answer = await _one(
        request, call, row, _include(request) | {"integrationKey", "integrationUrl"}
    )
    return json_response(answer, status=201)


async def get_one(request: web.Request, call: Call) -> web.Response:
    return json_response(await _one(request, call, await _find(request, call.caller)))


async def get_by_name(request: web.Request, call: Call) -> web.Response:
    """The Terraform data source's lookup: the oldest visible monitor of that name."""
    row = await monitor_by_name(pool(request), request.match_info["name"], viewer(call.caller))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _one(request, call, row))


async def replace_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    settings = _settings(call.body, row)
    await _check(request, caller, call.body, row["teams"])
    taken = await monitor_by_name(pool(request), call.body.name.strip(), viewer(caller))
    if taken is not None and taken["id"] != row["id"]:
        raise ProblemError(
            409, "CONFLICT", f"name: the heartbeat monitor {taken['id']} has it", field="name"
        )
    monitor: HeartbeatMonitor = await load_live(request, row, _NOT_FOUND)
    try:
        monitor.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, monitor)
    return json_response(await _one(request, call, await _reread(request, row["id"])))


async def delete_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    monitor: HeartbeatMonitor = await load_live(request, await _find(request, caller), _NOT_FOUND)
    try:
        monitor.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, monitor)
    return web.Response(status=204)


MONITORS = Resource(
    base="/api/heartbeat-monitors",
    tag="Heartbeat monitors",
    name="HeartbeatMonitor",
    names="HeartbeatMonitors",
    one="a heartbeat monitor",
    many="heartbeat monitors",
    type=MonitorBody,
    id_param=Param("id", "path", ID_PARAM, "the monitor's id"),
    create_problems=(400,),
    list_params=PAGING,
)
_INCLUDE = Param(
    "include",
    "query",
    {"type": "array", "items": {"anyOf": [{"enum": sorted(INCLUDES)}, {"type": "string"}]}},
    "optional fields, repeatable or comma-separated: integrationKey, integrationUrl (to "
    "those who may read the key), alertSource (its name and type); others are ignored",
    explode=True,
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    MONITORS, list_all=list_all, create=create, get=get_one, replace=replace_one, delete=delete_one
)
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the monitor's teams; 403 for others, 404 if it is invisible"
)

ROUTES = (
    team_listed(replace(_listed, params=(*_listed.params, _INCLUDE))),
    replace(
        _created,
        params=(*_created.params, _INCLUDE),
        answers={
            **_created.answers,
            409: Answer("The name is taken: the monitor that has it", MonitorBody),
        },
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a monitor whose teams are all theirs; 409 "
        "with the existing monitor when the name is taken",
    ),
    Route(
        "GET",
        "/api/heartbeat-monitors/name/{name}",
        get_by_name,
        "getHeartbeatMonitorByName",
        "Heartbeat monitors",
        "The heartbeat monitor of that name",
        {200: Answer("The monitor", MonitorBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the monitor's name"), _INCLUDE),
    ),
    replace(_got, params=(*_got.params, _INCLUDE)),
    replace(
        _replaced,
        params=(*_replaced.params, _INCLUDE),
        authorize=_TEAM_WRITE,
        description=_TEAM_TEXT,
    ),
    replace(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
)
