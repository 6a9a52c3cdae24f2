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

from ..domain.alert_source import AlertSource
from ..domain.durations import DurationError, parse_duration
from ..domain.errors import DomainError
from ..domain.user import Role
from .authz import require_role
from .body import base_url, read_json
from .paging import page
from .problems import ProblemError, json_response
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


def _policy_id(value: Any) -> Any:
    """``{"id": n}`` as ilert, or a bare id; the domain checks the number itself."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and (ident := parse_id(value.strip())) is not None:
        return ident
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad("escalationPolicy", 'must be {"id": <integer>} or null')
    return value


def _settings(body: Any) -> dict[str, Any]:
    """Domain settings from a request body; absent fields take their defaults (PUT replaces
    the whole resource). ilert's older ``incident*`` names are read when the new are absent."""
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "body: must be a JSON object", field="body")
    settings: dict[str, Any] = {
        "name": body.get("name"),
        "escalation_policy_id": _policy_id(body.get("escalationPolicy")),
        "alert_grouping_window_s": _duration_seconds(
            "alertGroupingWindow", body.get("alertGroupingWindow")
        ),
        "auto_resolution_timeout_s": _duration_seconds(
            "autoResolutionTimeout", body.get("autoResolutionTimeout")
        ),
    }
    optional = {
        "integration_type": body.get("integrationType"),
        "alert_creation": body.get("alertCreation", body.get("incidentCreation")),
        "alert_priority_rule": body.get("alertPriorityRule", body.get("incidentPriorityRule")),
        "active": body.get("active"),
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


async def _reread(request: web.Request, source_id: int) -> asyncpg.Record:
    row = await source_by_id(pool(request), source_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_alert_sources(request: web.Request) -> web.Response:
    start, limit = page(request)
    rows = await list_sources(pool(request), start, limit)
    return json_response([_present(request, row) for row in rows])


async def create_alert_source(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
    settings = _settings(await read_json(request))
    try:
        source = AlertSource.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    source_id = await _save(request, caller, source)
    assert source_id is not None  # a new aggregate always has its Created event
    row = await _reread(request, source_id)
    return json_response(_present(request, row), status=201)


async def get_alert_source(request: web.Request) -> web.Response:
    return json_response(_present(request, await _find(request)))


async def replace_alert_source(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
    row = await _find(request)
    settings = _settings(await read_json(request))
    source: AlertSource = await load_live(request, row, _NOT_FOUND)
    try:
        source.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _save(request, caller, source)  # nothing to save when nothing changed
    return json_response(_present(request, await _reread(request, row["id"])))


async def delete_alert_source(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
    source: AlertSource = await load_live(request, await _find(request), _NOT_FOUND)
    try:
        source.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _save(request, caller, source)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/alert-sources", list_alert_sources)
    app.router.add_post("/api/alert-sources", create_alert_source)
    app.router.add_get("/api/alert-sources/{id}", get_alert_source)
    app.router.add_put("/api/alert-sources/{id}", replace_alert_source)
    app.router.add_delete("/api/alert-sources/{id}", delete_alert_source)
