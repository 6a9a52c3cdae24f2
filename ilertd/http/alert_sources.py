"""/api/alert-sources: list, create, read, replace, delete.

Any authenticated user reads; only ADMINs write. Every write waits until the projections
have applied it, so the answer and the caller's next GET already show it. Validation
happens before anything is appended: a 4xx writes nothing.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from projections.alert_sources import list_sources, source_by_id, source_by_key, source_json
from projections.escalation_policies import policy_by_id

from ..contract.alert_sources import AlertSource as AlertSourceBody
from ..contract.common import IdRef
from ..domain.alert_source import AlertSource
from ..domain.durations import DurationError, parse_duration
from ..domain.errors import DomainError
from ..domain.user import Role
from .body import base_url
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .writes import bad, domain_problem, load_live, parse_id, pool, save

_NOT_FOUND = "no such alert source"


def _duration_seconds(field: str, value: Any) -> int | None:
    """An ISO-8601 duration or whole seconds, as ilert's clients send either."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise bad(field, str(exc)) from None
    raise bad(field, "must be an ISO-8601 duration such as PT5M, or whole seconds")


def _policy_id(value: IdRef | int | str | None) -> Any:
    """``{"id": n}`` as ilert, or a bare id; the domain checks the number itself."""
    if isinstance(value, IdRef):
        value = value.id
        field = "escalationPolicy.id"
    else:
        field = "escalationPolicy"
    if isinstance(value, str):
        ident = parse_id(value.strip())
        if ident is None:
            raise bad(field, 'must be an id: {"id": <integer>}, or null')
        return ident
    return value


def _settings(body: AlertSourceBody) -> dict[str, Any]:
    """Domain settings from a request body; absent fields take their defaults (PUT replaces
    the whole resource). ilert's older ``incident*`` names are read when the new are absent."""
    settings: dict[str, Any] = {
        "name": body.name,
        "escalation_policy_id": _policy_id(body.escalationPolicy),
        "alert_grouping_window_s": _duration_seconds(
            "alertGroupingWindow", body.alertGroupingWindow
        ),
        "auto_resolution_timeout_s": _duration_seconds(
            "autoResolutionTimeout", body.autoResolutionTimeout
        ),
    }
    optional = {
        "integration_type": body.integrationType,
        "alert_creation": body.alertCreation or body.incidentCreation,
        "alert_priority_rule": body.alertPriorityRule or body.incidentPriorityRule,
        "active": body.active,
    }
    settings.update({key: value for key, value in optional.items() if value is not None})
    return settings


def _present(request: web.Request, row: asyncpg.Record) -> dict[str, Any]:
    body = source_json(row)
    body["integrationUrl"] = base_url(request) + body["integrationUrl"]
    return body


async def _find(request: web.Request) -> asyncpg.Record:
    """The live source named by the path: its API id, or (as ilert allows) its key."""
    ident = request.match_info["id"]
    source_id = parse_id(ident)
    if source_id is not None:
        row = await source_by_id(pool(request), source_id)
    else:
        row = await source_by_key(pool(request), ident)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _save(request: web.Request, caller: asyncpg.Record, source: AlertSource) -> int | None:
    """As ``writes.save``; alert sources' events have never carried the request id."""
    return await save(request, caller, source)


async def _check_policy(request: web.Request, settings: dict[str, Any]) -> None:
    """A source must name a policy that exists, or its alerts would page nobody, silently
    (a policy deleted later leaves the reference behind, as in ilert)."""
    policy_id = settings.get("escalation_policy_id")
    if isinstance(policy_id, int) and await policy_by_id(pool(request), policy_id) is None:
        field = "escalationPolicy.id"
        raise bad(field, f"there is no escalation policy with id {policy_id}")


async def _reread(request: web.Request, source_id: int) -> asyncpg.Record:
    row = await source_by_id(pool(request), source_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_alert_sources(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    rows = await list_sources(pool(request), start, limit)
    return json_response([_present(request, row) for row in rows])


async def create_alert_source(request: web.Request, call: Call) -> web.Response:
    caller, settings = call.caller, _settings(call.body)
    try:
        source = AlertSource.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_policy(request, settings)
    source_id = await _save(request, caller, source)
    assert source_id is not None  # a new aggregate always has its Created event
    row = await _reread(request, source_id)
    return json_response(_present(request, row), status=201)


async def get_alert_source(request: web.Request, call: Call) -> web.Response:
    return json_response(_present(request, await _find(request)))


async def replace_alert_source(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request)
    settings = _settings(call.body)
    source: AlertSource = await load_live(request, row, _NOT_FOUND)
    try:
        source.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_policy(request, settings)
    await _save(request, caller, source)  # nothing to save when nothing changed
    return json_response(_present(request, await _reread(request, row["id"])))


async def delete_alert_source(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    source: AlertSource = await load_live(request, await _find(request), _NOT_FOUND)
    try:
        source.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _save(request, caller, source)
    return web.Response(status=204)


_TAG = "Alert sources"
_SOURCE_ID = Param(
    "id",
    "path",
    {"type": "string", "pattern": "^[^/]+$"},
    "the source's id, or (reads and writes alike) its integration key",
)
_ONE = Answer("The alert source", AlertSourceBody)

ROUTES = (
    Route(
        "GET",
        "/api/alert-sources",
        list_alert_sources,
        "listAlertSources",
        _TAG,
        "List alert sources",
        {200: Answer("Alert sources", list[AlertSourceBody])},
        problems=(400,),
        params=PAGING,
    ),
    Route(
        "POST",
        "/api/alert-sources",
        create_alert_source,
        "createAlertSource",
        _TAG,
        "Create an alert source",
        {201: _ONE},
        role=Role.ADMIN,
        body=AlertSourceBody,
        problems=(400, 409),
    ),
    Route(
        "GET",
        "/api/alert-sources/{id}",
        get_alert_source,
        "getAlertSource",
        _TAG,
        "One alert source",
        {200: _ONE},
        problems=(404,),
        params=(_SOURCE_ID,),
    ),
    Route(
        "PUT",
        "/api/alert-sources/{id}",
        replace_alert_source,
        "replaceAlertSource",
        _TAG,
        "Replace an alert source",
        {200: _ONE},
        role=Role.ADMIN,
        body=AlertSourceBody,
        problems=(400, 404, 409),
        params=(_SOURCE_ID,),
    ),
    Route(
        "DELETE",
        "/api/alert-sources/{id}",
        delete_alert_source,
        "deleteAlertSource",
        _TAG,
        "Delete an alert source",
        {204: Answer("Deleted")},
        role=Role.ADMIN,
        problems=(404, 409),
        params=(_SOURCE_ID,),
    ),
)
