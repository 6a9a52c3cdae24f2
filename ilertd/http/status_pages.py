"""/api/status-pages: the status pages ilertd serves at ``/status/<slug>``, and their groups.

Any authenticated user reads (a page whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of its teams, write. The subdomain's
slug and the custom domain are unique among live pages: 409 naming the field (checked
under one lock per application, so two concurrent creates on one instance cannot both
take a slug). Services must be live services (400 naming ``services[i].id``). Every
answer carries ``groups`` and ``structure`` (the Terraform provider reads both back);
``include=subscribed`` adds ``subscribed`` (always false: an API user does not subscribe to
a page; visitors subscribe by e-mail on the served page, ``status_site.subscribe``), the
other include values are accepted and change nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import msgspec
from aiohttp import web

from projections.status_pages import (
    TEAMS_SQL,
    list_pages,
    page_by_id,
    page_by_name,
    row_teams,
    service_names,
    taken,
)
from projections.team_scope import names_for, teams_json

from ..alerts.views import iso
from ..contract.common import ID_PARAM
from ..contract.status_pages import StatusPage as StatusPageBody
from ..contract.status_pages import StatusPageGroup as GroupBody
from ..domain.errors import DomainError
from ..domain.status_page import GroupNotFoundError, StatusPage, slug_of
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Resource, Route, crud_routes
from .team_access import (
    check_team_change,
    check_teams,
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

TAG = "Status pages"
_NOT_FOUND = "no such status page"
_NO_GROUP = "no such group"
_WRITES = web.AppKey("status_page_writes", asyncio.Lock)
INCLUDES = frozenset({"subscribed", "uptime", "groups", "structure"})


def setup(app: web.Application, config: Any) -> None:
    del config
    app[_WRITES] = asyncio.Lock()


def _include(request: web.Request) -> frozenset[str]:
    named = {
        part.strip() for value in request.query.getall("include", []) for part in value.split(",")
    }
    return frozenset(named & INCLUDES)


def _structure_json(elements: list[dict[str, Any]]) -> dict[str, Any]:
    def element(item: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": item["id"], "type": item["type"], "options": item["options"]}
        if "children" in item:
            out["children"] = [element(child) for child in item["children"]]
        return out

    return {"elements": [element(item) for item in elements]}


def page_json(
    row: dict[str, Any], teams: dict[int, str], services: dict[int, str], include: frozenset[str]
) -> dict[str, Any]:
    s = row["settings"]
    body: dict[str, Any] = {
        "id": row["id"],
        "name": s["name"],
        "subdomain": s["subdomain"],
        "domain": s["domain"] or "",
        "timezone": s["timezone"],
        "visibility": s["visibility"],
        "hiddenFromSearch": s["hidden_from_search"],
        "showSubscribeAction": s["show_subscribe_action"],
        "showIncidentHistoryOption": s["show_incident_history_option"],
        "pageTitle": s["page_title"] or "",
        "pageDescription": s["page_description"] or "",
        "pageLayout": s["page_layout"],
        "logoUrl": s["logo_url"] or "",
        "faviconUrl": s["favicon_url"] or "",
        "appearance": s["appearance"],
        "announcement": s["announcement"] or "",
        "services": [{"id": ident, "name": services.get(ident, "")} for ident in s["services"]],
        "groups": [{"id": g["id"], "name": g["name"]} for g in row["groups"]],
        "structure": _structure_json(s["structure"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "teams": teams_json(row_teams(row), teams),
    }
    if "subscribed" in include:
        body["subscribed"] = False
    return body


async def _answers(request: web.Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    teams = await names_for(pool(request), (row_teams(row) for row in rows))
    ids = sorted({ident for row in rows for ident in row["settings"]["services"]})
    services = await service_names(pool(request), ids)
    include = _include(request)
    return [page_json(row, teams, services, include) for row in rows]


async def _answer(request: web.Request, row: dict[str, Any], status: int = 200) -> web.Response:
    return json_response((await _answers(request, [row]))[0], status=status)


def _ids(refs: Sequence[Any] | None, field: str) -> list[int] | None:
    if refs is None:
        return None
    ids = []
    for index, ref in enumerate(refs):
        ident = ref.id if not isinstance(ref, int | str) else ref
        ident = parse_id(ident) if isinstance(ident, str) else ident
        if not isinstance(ident, int) or ident < 1:
            raise bad(f"{field}[{index}].id", "must be a service id")
        ids.append(ident)
    return ids


def _settings(body: StatusPageBody, row: dict[str, Any] | None) -> dict[str, Any]:
    """Domain settings from the body; absent ``teams`` keep the stored ones."""
    structure = None
    if body.structure is not None:
        structure = msgspec.to_builtins(body.structure)["elements"]
    return {
        "name": body.name,
        "subdomain": body.subdomain,
        "domain": body.domain,
        "timezone": body.timezone,
        "visibility": body.visibility,
        "hidden_from_search": body.hiddenFromSearch,
        "show_subscribe_action": body.showSubscribeAction,
        "show_incident_history_option": body.showIncidentHistoryOption,
        "page_title": body.pageTitle,
        "page_description": body.pageDescription,
        "page_layout": body.pageLayout,
        "logo_url": body.logoUrl,
        "favicon_url": body.faviconUrl,
        "appearance": body.appearance or body.themeMode,
        "announcement": body.announcement,
        "services": _ids(body.services, "services") or [],
        "structure": structure,
        "teams": kept(sent_teams(body.teams), row_teams(row) if row is not None else ()),
    }


async def _check_references(request: web.Request, user: Any, page: StatusPage, body: Any) -> None:
    """The services exist; the sent teams exist, are visible, and the caller may set them."""
    services = page.settings["services"]
    known = await service_names(pool(request), services)
    for index, ident in enumerate(services):
        if ident not in known:
            raise bad(f"services[{index}].id", f"no service {ident}")
    sent = sent_teams(body.teams)
    if sent is not None:
        await check_teams(request, user, sent)


async def _check_free(request: web.Request, page: StatusPage, except_id: int | None) -> None:
    settings = page.settings
    found = await taken(
        pool(request), slug_of(settings["subdomain"]), settings["domain"], except_id
    )
    if found is not None:
        field, holder = found
        value = settings["subdomain"] if field == "subdomain" else settings["domain"]
        raise ProblemError(
            409,
            "CONFLICT",
            f"{field}: {value!r} is already taken by status page {holder}",
            field=field,
        )


async def _find(request: web.Request, user: Any) -> dict[str, Any]:
    row = await page_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row_teams(row), _NOT_FOUND)
    return row


async def _reread(request: web.Request, page_id: int) -> dict[str, Any]:
    row = await page_by_id(pool(request), page_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    if ident is None:
        return None
    teams = await pool(request).fetchval(
        f"SELECT {TEAMS_SQL} FROM status_pages r WHERE id = $1 AND NOT deleted", ident
    )
    return None if teams is None else list(teams)


# -- pages -------------------------------------------------------------------------------


async def list_status_pages(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_pages(pool(request), start, limit, viewer=who, only=only)
    return json_response(await _answers(request, rows))


async def create_status_page(request: web.Request, call: Call) -> web.Response:
    caller, body = call.caller, call.body
    try:
        status_page = StatusPage.create(**_settings(body, None))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, caller, status_page, body)
    await check_team_change(request, caller, (), status_page.settings["teams"])
    async with request.app[_WRITES]:
        await _check_free(request, status_page, None)
        page_id = await save(request, caller, status_page)
    assert page_id is not None
    return await _answer(request, await _reread(request, page_id), 201)


async def get_status_page(request: web.Request, call: Call) -> web.Response:
    return await _answer(request, await _find(request, call.caller))


async def replace_status_page(request: web.Request, call: Call) -> web.Response:
    caller, body = call.caller, call.body
    row = await _find(request, caller)
    status_page: StatusPage = await load_live(request, row, _NOT_FOUND)
    try:
        status_page.update(**_settings(body, row))
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, caller, status_page, body)
    await check_team_change(request, caller, row_teams(row), status_page.settings["teams"])
    async with request.app[_WRITES]:
        await _check_free(request, status_page, row["id"])
        await save(request, caller, status_page)
    return await _answer(request, await _reread(request, row["id"]))


async def delete_status_page(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    status_page: StatusPage = await load_live(request, row, _NOT_FOUND)
    try:
        status_page.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, call.caller, status_page)
    return web.Response(status=204)


async def status_page_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchStatusPage (the Terraform data source): the oldest live page of
    that name the caller may see."""
    row = await page_by_name(pool(request), request.match_info["name"], viewer(call.caller))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return await _answer(request, row)


# -- groups ------------------------------------------------------------------------------


def _group_id(request: web.Request) -> int:
    ident = parse_id(request.match_info["group_id"])
    if ident is None:
        raise ProblemError(404, "NOT_FOUND", _NO_GROUP)
    return ident


def _group_of(row: dict[str, Any], group_id: int) -> dict[str, Any]:
    for group in row["groups"]:
        if group["id"] == group_id:
            return {"id": group["id"], "name": group["name"]}
    raise ProblemError(404, "NOT_FOUND", _NO_GROUP)


async def list_groups(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    start, limit = page(request)
    groups = row["groups"][start : start + limit]
    return json_response([{"id": g["id"], "name": g["name"]} for g in groups])


async def _group_write(request: web.Request, call: Call, command: Any) -> tuple[int, Any]:
    row = await _find(request, call.caller)
    status_page: StatusPage = await load_live(request, row, _NOT_FOUND)
    try:
        result = command(status_page)
    except DomainError as exc:
        raise domain_problem(exc, not_found=(GroupNotFoundError,)) from None
    await save(request, call.caller, status_page)
    return row["id"], result


async def create_group(request: web.Request, call: Call) -> web.Response:
    page_id, group_id = await _group_write(request, call, lambda p: p.add_group(call.body.name))
    return json_response(_group_of(await _reread(request, page_id), group_id), status=201)


async def get_group(request: web.Request, call: Call) -> web.Response:
    return json_response(_group_of(await _find(request, call.caller), _group_id(request)))


async def replace_group(request: web.Request, call: Call) -> web.Response:
    group_id = _group_id(request)
    page_id, _ = await _group_write(
        request, call, lambda p: p.rename_group(group_id, call.body.name)
    )
    return json_response(_group_of(await _reread(request, page_id), group_id))


async def delete_group(request: web.Request, call: Call) -> web.Response:
    group_id = _group_id(request)
    await _group_write(request, call, lambda p: p.remove_group(group_id))
    return web.Response(status=204)


async def group_by_name(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    for group in row["groups"]:
        if group["name"] == request.match_info["name"]:
            return json_response({"id": group["id"], "name": group["name"]})
    raise ProblemError(404, "NOT_FOUND", _NO_GROUP)


# -- routes ------------------------------------------------------------------------------

PAGE_ID = Param("id", "path", ID_PARAM, "the status page's id")
GROUP_ID = Param("group_id", "path", ID_PARAM, "the group's id (per page, from 1)")
INCLUDE = Param(
    "include",
    "query",
    {"type": "array", "items": {"anyOf": [{"enum": sorted(INCLUDES)}, {"type": "string"}]}},
    "subscribed adds subscribed; groups and structure are always answered; other values "
    "are ignored",
    explode=True,
)

STATUS_PAGES = Resource(
    base="/api/status-pages",
    tag=TAG,
    name="StatusPage",
    names="StatusPages",
    one="a status page",
    many="status pages",
    type=StatusPageBody,
    id_param=PAGE_ID,
    create_problems=(400, 409),
    list_params=(*PAGING, INCLUDE),
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    STATUS_PAGES,
    list_all=list_status_pages,
    create=create_status_page,
    get=get_status_page,
    replace=replace_status_page,
    delete=delete_status_page,
)
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the status page's teams; 403 for others, 404 if it is invisible"
)
_GROUPS = "/api/status-pages/{id}/groups"
_GROUP = Answer("The group", GroupBody)

ROUTES = (
    team_listed(_listed),
    replace(
        _created,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a page whose teams are all theirs",
    ),
    replace(_got, params=(*_got.params, INCLUDE)),
    replace(_replaced, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    Route(
        "GET",
        "/api/status-pages/name/{name}",
        status_page_by_name,
        "getStatusPageByName",
        TAG,
        "The status page of that name (the oldest, if several)",
        {200: Answer("The status page", StatusPageBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the page's name"), INCLUDE),
    ),
    Route(
        "GET",
        _GROUPS,
        list_groups,
        "listStatusPageGroups",
        TAG,
        "The page's groups",
        {200: Answer("Groups", list[GroupBody])},
        problems=(400, 404),
        params=(PAGE_ID, *PAGING),
    ),
    Route(
        "POST",
        _GROUPS,
        create_group,
        "createStatusPageGroup",
        TAG,
        "Add a group to the page",
        {201: _GROUP},
        role=STATUS_PAGES.write_role,
        authorize=_TEAM_WRITE,
        body=GroupBody,
        problems=(400, 404, 409),
        params=(PAGE_ID,),
        description=_TEAM_TEXT,
    ),
    Route(
        "GET",
        _GROUPS + "/name/{name}",
        group_by_name,
        "getStatusPageGroupByName",
        TAG,
        "The page's group of that name",
        {200: _GROUP},
        problems=(404,),
        params=(PAGE_ID, Param("name", "path", {"type": "string"}, "the group's name")),
    ),
    Route(
        "GET",
        _GROUPS + "/{group_id}",
        get_group,
        "getStatusPageGroup",
        TAG,
        "One group of the page",
        {200: _GROUP},
        problems=(404,),
        params=(PAGE_ID, GROUP_ID),
    ),
    Route(
        "PUT",
        _GROUPS + "/{group_id}",
        replace_group,
        "replaceStatusPageGroup",
        TAG,
        "Rename a group",
        {200: _GROUP},
        role=STATUS_PAGES.write_role,
        authorize=_TEAM_WRITE,
        body=GroupBody,
        problems=(400, 404),
        params=(PAGE_ID, GROUP_ID),
        description=_TEAM_TEXT,
    ),
    Route(
        "DELETE",
        _GROUPS + "/{group_id}",
        delete_group,
        "deleteStatusPageGroup",
        TAG,
        "Remove a group (and it, with its services, from the page's structure)",
        {204: Answer("Removed")},
        role=STATUS_PAGES.write_role,
        authorize=_TEAM_WRITE,
        problems=(404,),
        params=(PAGE_ID, GROUP_ID),
        description=_TEAM_TEXT,
    ),
)
