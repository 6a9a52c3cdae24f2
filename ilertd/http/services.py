"""/api/services and /api/service-outages: the services incidents affect and status pages
show.

Any authenticated user reads (a service whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of its teams, write. ``status`` is
derived (``projections.service_status``): one query for a whole page of services, never one
per service. ``include=uptime`` adds the last 90 days' outages and uptime percentages
(``domain.service.uptime``: PARTIAL_OUTAGE and MAJOR_OUTAGE count as down), again one
query for the page. Ids are integers, as ilert-go's ``Service.ID int64``.
``include=incidents`` adds the open incidents that affect each service; a DELETE is refused
(409) while one does, since the incident would name nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from projections.service_status import current_statuses, status_intervals
from projections.services import (
    list_services,
    row_teams,
    service_by_id,
    service_by_name,
    teams_of,
    visible_names,
)
from projections.team_scope import names_for, teams_json

from ..contract.common import ID_PARAM, INT64_MAX
from ..contract.services import Service as ServiceBody
from ..contract.services import ServiceOutageOf
from ..domain.errors import DomainError
from ..domain.service import UPTIME_RANGE, Interval, Segment, Service, outages, uptime
from ..domain.wire_time import wire_time, wire_time_or_none
from ..incidents.views import open_incident_affecting, open_incidents_by_service
from .context import SERVICES
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

_NOT_FOUND = "no such service"
#: the optional fields ``?include=`` names (ilert-go's ``ServiceIncludeAll``)
INCLUDES = frozenset({"subscribed", "uptime", "incidents"})
#: at most this many ids in the ``services`` filter
MAX_FILTER_IDS = 100


def _now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock.now()


def _include(request: web.Request) -> frozenset[str]:
    """``?include=`` (repeatable or comma-separated); other names are ignored, as ilert
    adds include values over time."""
    named = {
        part.strip() for value in request.query.getall("include", []) for part in value.split(",")
    }
    return frozenset(named & INCLUDES)


def _segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "status": segment.status.value,
        "from": wire_time(segment.since),
        "until": wire_time_or_none(segment.until),
    }


def service_json(row: dict[str, Any], teams: dict[int, str], status: str) -> dict[str, Any]:
    """The service as everyone reads it; ``teams``: the names of its teams."""
    settings = row["settings"]
    return {
        "id": row["id"],
        "name": settings["name"],
        "alias": settings.get("alias") or "",
        "description": settings.get("description") or "",
        "status": status,
        "oneOpenIncidentOnly": settings["one_open_incident_only"],
        "showUptimeHistory": settings["show_uptime_history"],
        "teams": teams_json(row_teams(row), teams),
    }


def _intervals_by_service(found: Sequence[Any]) -> dict[int, list[Interval]]:
    grouped: dict[int, list[Interval]] = {}
    for item in found:
        grouped.setdefault(item.service_id, []).append(
            Interval(item.status, item.since, item.until)
        )
    return grouped


async def _present(
    request: web.Request, rows: list[dict[str, Any]], include: frozenset[str]
) -> list[dict[str, Any]]:
    """Answers for ``rows``: the teams' names, the statuses, and what ``include`` asks
    for, each one query for all the rows."""
    db = pool(request)
    now = _now(request)
    ids = [row["id"] for row in rows]
    teams = await names_for(db, (row_teams(row) for row in rows))
    statuses = await current_statuses(db, ids, now)
    bodies = [service_json(row, teams, statuses[row["id"]]) for row in rows]
    if "subscribed" in include:
        for body in bodies:
            body["subscribed"] = False  # subscriptions to services are not built yet
    if "uptime" in include and ids:
        history = _intervals_by_service(await status_intervals(db, ids, now - UPTIME_RANGE, now))
        for body in bodies:
            figures = uptime(history.get(body["id"], []), now)
            body["uptime"] = {
                "rangeStart": wire_time(figures.range_start),
                "rangeEnd": wire_time(figures.range_end),
                "outages": [_segment_json(s) for s in figures.outages],
                "uptimePercentage": figures.percentages,
            }
    if "incidents" in include:
        found = await open_incidents_by_service(db, ids, now)
        for body in bodies:
            body["incidents"] = found.get(body["id"], [])
    return bodies


async def _one(request: web.Request, row: dict[str, Any]) -> dict[str, Any]:
    return (await _present(request, [row], _include(request)))[0]


def _settings(body: ServiceBody, row: dict[str, Any] | None = None) -> dict[str, Any]:
    """Domain settings from a decoded body; absent ``teams`` keep the stored ones. The
    read-only fields (``id``, ``status``, ``uptime``...) are ignored."""
    return {
        "name": body.name,
        "alias": body.alias,
        "description": body.description,
        "teams": kept(sent_teams(body.teams), row_teams(row) if row is not None else ()),
        "one_open_incident_only": body.oneOpenIncidentOnly,
        "show_uptime_history": body.showUptimeHistory,
    }


async def _find(request: web.Request, user: Any) -> dict[str, Any]:
    """The service of the path's ``{id}``, when ``user`` may see it; else 404."""
    row = await service_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row_teams(row), _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    if ident is None:
        return None
    return await teams_of(pool(request), ident)


async def _reread(request: web.Request, service_id: int) -> dict[str, Any]:
    row = await service_by_id(pool(request), service_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_all(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_services(pool(request), start, limit, viewer=who, only=only)
    return json_response(await _present(request, rows, _include(request)))


async def create(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    try:
        service = Service.create(**_settings(call.body))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, caller, call.body.teams, ())
    service_id = await save(request, caller, service)
    assert service_id is not None
    return json_response(await _one(request, await _reread(request, service_id)), status=201)


async def get_one(request: web.Request, call: Call) -> web.Response:
    return json_response(await _one(request, await _find(request, call.caller)))


async def replace_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    settings = _settings(call.body, row)
    await check_sent_teams(request, caller, call.body.teams, row_teams(row))
    service: Service = await load_live(request, row, _NOT_FOUND)
    try:
        service.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, service)
    return json_response(await _one(request, await _reread(request, row["id"])))


async def delete_one(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    blocking = await open_incident_affecting(pool(request), row["id"])
    if blocking is not None:
        raise ProblemError(
            409, "CONFLICT", f"the open incident {blocking} affects it; resolve it first"
        )
    service: Service = await load_live(request, row, _NOT_FOUND)
    try:
        service.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, service)
    return web.Response(status=204)


async def get_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchService (the Terraform data source): the oldest live service of
    that name the caller may see."""
    row = await service_by_name(pool(request), request.match_info["name"], viewer(call.caller))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _one(request, row))


# --- /api/service-outages -----------------------------------------------------------------


def _query_ids(request: web.Request, name: str) -> list[int] | None:
    """A repeatable (or comma-separated) list of ids; None when not given."""
    raws = [p.strip() for v in request.query.getall(name, []) for p in v.split(",") if p.strip()]
    if not raws:
        return None
    ids = []
    for raw in raws:
        value = parse_id(raw)
        if value is None or value < 1:
            raise bad(name, f"must be service ids, got {raw[:20]!r}")
        ids.append(value)
    if len(set(ids)) > MAX_FILTER_IDS:
        raise bad(name, f"at most {MAX_FILTER_IDS} ids")
    return sorted(set(ids))


def _query_time(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad(name, "must be an ISO-8601 time such as 2026-12-01T08:00:00Z") from None
    if value.tzinfo is None:
        raise bad(name, "give a UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past what a datetime holds in UTC
        raise bad(name, "must be a time between the years 1 and 9999 in UTC") from None


def _minus(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment - span
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


async def list_outages(request: web.Request, call: Call) -> web.Response:
    """The outages of the services the caller may see (of ``services`` if given) within
    ``[from, until)`` (default: the last 90 days), oldest first."""
    now = _now(request)
    wanted = _query_ids(request, "services")
    until = _query_time(request, "until", now)
    since = _query_time(request, "from", _minus(until, UPTIME_RANGE))
    db = pool(request)
    names = await visible_names(db, viewer(call.caller), wanted)
    ids = list(names)
    if not ids or until <= since:
        return json_response([])
    history = _intervals_by_service(await status_intervals(db, ids, since, until))
    # an outage going on at ``until`` shows null if it still goes on, else ``until``
    found = [
        {"service": {"id": service_id, "name": names[service_id]}, **_segment_json(segment)}
        for service_id in ids
        for segment in outages(history.get(service_id, []), since, until)
    ]
    found.sort(key=lambda item: (item["from"], item["service"]["id"]))
    return json_response(found)


SERVICES_RESOURCE = Resource(
    base="/api/services",
    tag="Services",
    name="Service",
    names="Services",
    one="a service",
    many="services",
    type=ServiceBody,
    id_param=Param("id", "path", ID_PARAM, "the service's id"),
    list_params=PAGING,
)

_INCLUDE = Param(
    "include",
    "query",
    {"type": "array", "items": {"anyOf": [{"enum": sorted(INCLUDES)}, {"type": "string"}]}},
    "optional fields to answer, repeatable or comma-separated: uptime (the last 90 days' "
    "outages and uptime percentages; PARTIAL_OUTAGE and MAJOR_OUTAGE count as down), "
    "incidents (the open incidents affecting it), subscribed; other values are ignored",
    explode=True,
)
_TIME = {"type": "string", "format": "date-time"}

_listed, _created, _got, _replaced, _deleted = crud_routes(
    SERVICES_RESOURCE,
    list_all=list_all,
    create=create,
    get=get_one,
    replace=replace_one,
    delete=delete_one,
)
#: Writes of a service: ADMINs, and ADMINs of one of its teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the service's teams; 403 for others, 404 if it is invisible"
)

ROUTES = (
    team_listed(replace(_listed, params=(*_listed.params, _INCLUDE))),
    replace(
        _created,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a service whose teams are all theirs",
    ),
    Route(
        "GET",
        "/api/services/name/{name}",
        get_by_name,
        "getServiceByName",
        "Services",
        "The service of that name (the oldest, if several)",
        {200: Answer("The service", ServiceBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the service's name"), _INCLUDE),
    ),
    replace(_got, params=(*_got.params, _INCLUDE)),
    replace(_replaced, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(
        _deleted,
        authorize=_TEAM_WRITE,
        description=f"{_TEAM_TEXT}; 409 while an open incident affects it",
    ),
    Route(
        "GET",
        "/api/service-outages",
        list_outages,
        "listServiceOutages",
        "Services",
        "Outages of the services (PARTIAL_OUTAGE or MAJOR_OUTAGE), oldest first",
        {200: Answer("The outages", list[ServiceOutageOf])},
        problems=(400,),
        params=(
            Param(
                "services",
                "query",
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                    "maxItems": MAX_FILTER_IDS,
                },
                "service ids, repeatable or comma-separated (default: every service the "
                "caller may see)",
                explode=True,
            ),
            Param("from", "query", _TIME, "outages until at or after (default: until - 90 days)"),
            Param("until", "query", _TIME, "outages from before (default: now)"),
        ),
    ),
)
