"""/api/maintenance-windows: spans of time in which alert sources raise no alerts and
services show UNDER_MAINTENANCE.

Any authenticated caller reads; RESPONDERs and above write (windows belong to no team, as
in ilert). Referenced alert sources must exist and be visible to the caller, services must
exist: else a 400 naming ``alertSources[i].id`` or ``services[i].id``. Whether a window is
active is decided by the clock at each event (``maintenance.gate``), never by a timer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from projections.maintenance_windows import list_windows, suppressions_of, window_by_id
from projections.team_scope import scope_sql

from ..contract.maintenance_windows import MaintenanceWindow as WindowBody
from ..contract.maintenance_windows import Reference, SuppressedEvent
from ..domain.errors import DomainError
from ..domain.maintenance_window import MaintenanceWindow, is_active
from ..domain.user import Role
from ..domain.wire_time import wire_time
from .body import int64
from .context import SERVICES
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Resource, Route, crud_routes
from .team_access import viewer
from .writes import bad, domain_problem, load_live, path_id, pool, save

_NOT_FOUND = "no such maintenance window"
STATES = ("OPEN", "CLOSED")


def _now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock.now()


def _ref_ids(field: str, refs: list[Any] | None) -> list[Any] | None:
    """The ids of ``[{"id": n}]`` (or bare ids, numbers or digit strings), for the domain,
    which checks them and names ``field[i].id``; None when absent."""
    if refs is None:
        return None
    ids: list[Any] = []
    for index, ref in enumerate(refs):
        ident = ref.id if isinstance(ref, Reference) else ref
        if isinstance(ident, str):
            value = int64(ident)
            if value is None:
                raise bad(f"{field}[{index}].id", "must be a positive integer id")
            ident = value
        ids.append(ident)
    return ids


def _settings(body: WindowBody) -> dict[str, Any]:
    notifications = body.notifications
    return {
        "summary": body.summary,
        "description": body.description,
        "start": body.start,
        "end": body.end,
        "timezone": body.timezone,
        "alert_sources": _ref_ids("alertSources", body.alertSources),
        "services": _ref_ids("services", body.services),
        "notifications": None
        if notifications is None
        else {
            "at_creation": notifications.atCreation,
            "at_start": notifications.atStart,
            "at_end": notifications.atEnd,
        },
    }


async def _check_references(request: web.Request, user: Any, window: MaintenanceWindow) -> None:
    """Every alert source exists and ``user`` may see it; every service exists."""
    settings = window.settings
    sources = settings["alert_sources"]
    if sources:
        rows = await pool(request).fetch(
            "SELECT id FROM alert_sources s WHERE id = ANY($1::bigint[]) AND NOT deleted "
            f"AND {scope_sql('s.teams', '$2', 'NULL')}",
            sources,
            viewer(user),
        )
        found = {row["id"] for row in rows}
        for index, source_id in enumerate(sources):
            if source_id not in found:
                raise bad(f"alertSources[{index}].id", f"no alert source {source_id}")
    services = settings["services"]
    if services:
        rows = await pool(request).fetch(
            "SELECT id FROM services WHERE id = ANY($1::bigint[]) AND NOT deleted", services
        )
        found = {row["id"] for row in rows}
        for index, service_id in enumerate(services):
            if service_id not in found:
                raise bad(f"services[{index}].id", f"no service {service_id}")


async def _names(
    request: web.Request, user: Any, rows: list[dict[str, Any]]
) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Names of the rows' sources the caller may see, of their services, of their
    creators: one query each."""
    db = pool(request)
    sources = sorted({i for r in rows for i in r["settings"]["alert_sources"]})
    services = sorted({i for r in rows for i in r["settings"]["services"]})
    users = sorted({r["settings"]["created_by"] for r in rows} - {None})
    source_names: dict[int, str] = {}
    service_names: dict[int, str] = {}
    user_names: dict[int, str] = {}
    if sources:
        found = await db.fetch(
            "SELECT id, name FROM alert_sources s WHERE id = ANY($1::bigint[]) "
            f"AND {scope_sql('s.teams', '$2', 'NULL')}",
            sources,
            viewer(user),
        )
        source_names = {row["id"]: row["name"] for row in found}
    if services:
        found = await db.fetch(
            "SELECT id, settings->>'name' AS name FROM services WHERE id = ANY($1::bigint[])",
            services,
        )
        service_names = {row["id"]: row["name"] for row in found}
    if users:
        found = await db.fetch("SELECT id, username FROM users WHERE id = ANY($1::bigint[])", users)
        user_names = {row["id"]: row["username"] for row in found}
    return source_names, service_names, user_names


def _refs(ids: list[int], names: dict[int, str]) -> list[dict[str, Any]]:
    return [{"id": i, "name": names[i]} if i in names else {"id": i} for i in ids]


def window_json(
    row: dict[str, Any],
    now: datetime,
    names: tuple[dict[int, str], dict[int, str], dict[int, str]],
) -> dict[str, Any]:
    settings = row["settings"]
    source_names, service_names, user_names = names
    notifications = settings["notifications"]
    creator = settings.get("created_by")
    return {
        "id": row["id"],
        "summary": settings["summary"],
        "description": settings["description"],
        "start": wire_time(row["starts_at"]),
        "end": wire_time(row["ends_at"]),
        "timezone": settings["timezone"],
        "alertSources": _refs(settings["alert_sources"], source_names),
        "services": _refs(settings["services"], service_names),
        "createdBy": user_names.get(creator) if creator is not None else None,
        "notifications": {
            "atCreation": notifications["at_creation"],
            "atStart": notifications["at_start"],
            "atEnd": notifications["at_end"],
        },
        "state": "OPEN" if row["ends_at"] > now else "CLOSED",
        "active": is_active(row["starts_at"], row["ends_at"], now),
        "suppressedEvents": row["suppressed"],
        "createdAt": wire_time(row["created_at"]),
        "updatedAt": wire_time(row["updated_at"]),
    }


async def _shown(request: web.Request, user: Any, rows: list[dict[str, Any]]) -> list[Any]:
    names = await _names(request, user, rows)
    now = _now(request)
    return [window_json(row, now, names) for row in rows]


async def _find(request: web.Request) -> dict[str, Any]:
    row = await window_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _reread(request: web.Request, window_id: int) -> dict[str, Any]:
    row = await window_by_id(pool(request), window_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


def _query_ids(request: web.Request, name: str) -> list[int] | None:
    values: list[int] = []
    given = False
    for raw in request.query.getall(name, []):
        for part in raw.split(","):
            if not part.strip():
                continue
            given = True
            value = int64(part.strip())
            if value is None:
                raise bad(name, f"{part[:20]!r} is not an id")
            values.append(value)
    return values if given else None


def _query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad(name, "must be an ISO-8601 time such as 2026-12-01T08:00:00Z") from None
    if value.tzinfo is None:
        raise bad(name, "give a UTC offset (Z or +hh:mm)")
    return value


async def list_maintenance_windows(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    state = request.query.get("state")
    if state is not None and state.strip().upper() not in STATES:
        raise bad("state", f"must be OPEN or CLOSED, got {state[:20]!r}")
    rows = await list_windows(
        pool(request),
        start,
        limit,
        now=_now(request),
        state=None if state is None else state.strip().upper(),
        services=_query_ids(request, "services"),
        sources=_query_ids(request, "sources"),
        since=_query_time(request, "from"),
        until=_query_time(request, "until"),
    )
    return json_response(await _shown(request, call.caller, rows))


async def create_maintenance_window(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    try:
        window = MaintenanceWindow.create(created_by=caller["id"], **_settings(call.body))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, caller, window)
    window_id = await save(request, caller, window)
    assert window_id is not None
    row = await _reread(request, window_id)
    return json_response((await _shown(request, caller, [row]))[0], status=201)


async def get_maintenance_window(request: web.Request, call: Call) -> web.Response:
    return json_response((await _shown(request, call.caller, [await _find(request)]))[0])


async def replace_maintenance_window(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request)
    window: MaintenanceWindow = await load_live(request, row, _NOT_FOUND)
    try:
        window.update(**_settings(call.body))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, caller, window)
    await save(request, caller, window)
    row = await _reread(request, row["id"])
    return json_response((await _shown(request, caller, [row]))[0])


async def delete_maintenance_window(request: web.Request, call: Call) -> web.Response:
    row = await _find(request)
    window: MaintenanceWindow = await load_live(request, row, _NOT_FOUND)
    try:
        window.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, call.caller, window)
    return web.Response(status=204)


async def list_suppressed_events(request: web.Request, call: Call) -> web.Response:
    """What the window held, so no suppressed event is silent."""
    row = await _find(request)
    start, limit = page(request)
    rows = await suppressions_of(pool(request), row["id"], start, limit)
    sources = sorted({r["source_id"] for r in rows})
    names: dict[int, str] = {}
    if sources:
        found = await pool(request).fetch(
            "SELECT id, name FROM alert_sources s WHERE id = ANY($1::bigint[]) "
            f"AND {scope_sql('s.teams', '$2', 'NULL')}",
            sources,
            viewer(call.caller),
        )
        names = {r["id"]: r["name"] for r in found}
    return json_response(
        [
            {
                "id": r["id"],
                "time": wire_time(r["recorded_at"]),
                "alertSource": _refs([r["source_id"]], names)[0],
                "alertKey": r["alert_key"],
                "summary": r["summary"],
                "via": r["via"],
            }
            for r in rows
        ]
    )


_INT64 = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
_TIME = {"type": "string", "format": "date-time"}

FILTERS = (
    Param(
        "state",
        "query",
        {"type": "string", "enum": list(STATES)},
        "OPEN: not ended yet (upcoming or active); CLOSED: ended",
    ),
    Param(
        "services",
        "query",
        {"type": "array", "items": _INT64},
        "windows listing one of these services; repeatable or comma-separated",
        explode=True,
    ),
    Param(
        "sources",
        "query",
        {"type": "array", "items": _INT64},
        "windows listing one of these alert sources; repeatable or comma-separated",
        explode=True,
    ),
    Param("from", "query", _TIME, "windows ending after this time (give an offset)"),
    Param("until", "query", _TIME, "windows starting before this time (give an offset)"),
)

MAINTENANCE_WINDOWS = Resource(
    base="/api/maintenance-windows",
    tag="Maintenance windows",
    name="MaintenanceWindow",
    names="MaintenanceWindows",
    one="a maintenance window",
    many="maintenance windows",
    type=WindowBody,
    id_param=Param("id", "path", _INT64, "the window's id"),
    write_role=Role.RESPONDER,
    replace_problems=(400, 404),
    delete_problems=(404,),
    list_params=(*FILTERS, *PAGING),
)

ROUTES = (
    *crud_routes(
        MAINTENANCE_WINDOWS,
        list_all=list_maintenance_windows,
        create=create_maintenance_window,
        get=get_maintenance_window,
        replace=replace_maintenance_window,
        delete=delete_maintenance_window,
    ),
    Route(
        "GET",
        "/api/maintenance-windows/{id}/suppressed-events",
        list_suppressed_events,
        "listMaintenanceWindowSuppressedEvents",
        "Maintenance windows",
        "The events the window kept from opening alerts, newest first",
        {200: Answer("Suppressed events", list[SuppressedEvent])},
        problems=(400, 404),
        params=(MAINTENANCE_WINDOWS.id_param, *PAGING),
    ),
)
