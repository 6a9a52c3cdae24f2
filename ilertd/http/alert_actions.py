"""/api/alert-actions: what to tell the outside world when an alert changes.

Any authenticated user reads; only ADMINs write and see the signing secret receivers verify
``X-Ilertd-Signature`` with. Referenced alert sources and connectors must exist (a 400
naming the field otherwise); a jira action needs a jira connector. ilert's structured
``alertFilter`` is accepted and stored as the equivalent ``conditions`` expression.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from projections.alert_sources import source_by_id
from projections.outbound_config import action_by_id, connector_by_id, list_rows

from ..alert_views import iso
from ..domain.alert_action import AlertAction, connector_mismatch
from ..domain.errors import DomainError
from ..domain.user import Role
from ..outbound.conditions import ConditionError, condition_from_alert_filter
from .authz import caller, has_role, require_role
from .body import read_json
from .paging import page
from .problems import ProblemError, json_response
from .writes import bad, domain_problem, load_live, parse_id, path_id, pool, save

_NOT_FOUND = "no such alert action"


def action_json(row: dict[str, Any], *, with_secret: bool) -> dict[str, Any]:
    settings = row["settings"]
    params = {k: v for k, v in settings["params"].items() if v not in (None, [])}
    body: dict[str, Any] = {
        "id": row["id"],
        "name": settings["name"],
        "alertSources": [{"id": i} for i in settings["alert_source_ids"]],
        "connectorId": settings["connector_id"],
        "connectorType": settings["connector_type"],
        "triggerMode": settings["trigger_mode"],
        "triggerTypes": settings["trigger_types"],
        "conditions": settings["conditions"],
        "escalationEndedDelaySec": settings["escalation_ended_delay_s"] or 0,
        "delaySec": settings["escalation_ended_delay_s"] or 0,
        "notResolvedDelaySec": settings["not_resolved_delay_s"] or 0,
        "params": params,
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }
    if with_secret:
        body["signingSecret"] = row["signing_secret"]
    return body


def _reference(field: str, value: Any) -> Any:
    """``{"id": n}``, a bare id, or ilert's string ids; the domain checks the number."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str):
        if not value.strip():
            return None
        parsed = parse_id(value.strip())
        if parsed is None:
            raise bad(field, "must be an integer id")
        return parsed
    return value


def _sources(body: dict[str, Any]) -> Any:
    sources = body.get("alertSources")
    if sources is None:
        sources = body.get("alertSourceIds")  # ilert's deprecated spelling
    if not isinstance(sources, list):
        return sources
    return [_reference(f"alertSources[{i}].id", item) for i, item in enumerate(sources)]


def _conditions(body: dict[str, Any]) -> Any:
    conditions = body.get("conditions")
    if isinstance(conditions, str) and not conditions.strip():
        conditions = None
    if conditions is not None and body.get("alertFilter") is not None:
        raise bad("alertFilter", "give conditions or alertFilter, not both")
    if conditions is None and body.get("alertFilter") is not None:
        try:
            return condition_from_alert_filter(body["alertFilter"])
        except ConditionError as exc:
            raise bad("alertFilter", exc.message) from None
    return conditions


def _first_set(body: dict[str, Any], *names: str) -> Any:
    """The first of several spellings that is present and not null."""
    return next((body[n] for n in names if body.get(n) is not None), None)


def _settings(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "body: must be a JSON object", field="body")
    settings: dict[str, Any] = {
        "name": body.get("name"),
        "connector_type": body.get("connectorType"),
        "alert_source_ids": _sources(body),
        "connector_id": _reference("connectorId", body.get("connectorId")),
        "trigger_types": body.get("triggerTypes"),
        "conditions": _conditions(body),
        "escalation_ended_delay_s": _first_set(body, "escalationEndedDelaySec", "delaySec"),
        "not_resolved_delay_s": body.get("notResolvedDelaySec"),
        "params": body.get("params"),
    }
    if body.get("triggerMode") is not None:
        settings["trigger_mode"] = body["triggerMode"]
    return settings


async def _check_references(request: web.Request, action: AlertAction) -> None:
    """Sources and connector exist, and the connector suits the target."""
    settings = action.settings
    for i, source_id in enumerate(settings["alert_source_ids"]):
        if await source_by_id(pool(request), source_id) is None:
            raise bad(f"alertSources[{i}]", f"no alert source {source_id}")
    if settings["connector_id"] is not None:
        connector = await connector_by_id(pool(request), settings["connector_id"])
        if connector is None:
            raise bad("connectorId", f"no connector {settings['connector_id']}")
        problem = connector_mismatch(
            settings,
            connector["settings"]["connector_type"],
            connector["settings"]["params"],
        )
        if problem is not None:
            raise bad("connectorId", problem)


def _is_admin(request: web.Request) -> bool:
    return has_role(caller(request), Role.ADMIN)


async def _find(request: web.Request) -> dict[str, Any]:
    row = await action_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _answer(request: web.Request, action_id: int, status: int = 200) -> web.Response:
    row = await action_by_id(pool(request), action_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(action_json(row, with_secret=_is_admin(request)), status=status)


async def list_actions(request: web.Request) -> web.Response:
    start, limit = page(request)
    rows = await list_rows(pool(request), "alert_actions", start, limit)
    admin = _is_admin(request)
    return json_response([action_json(row, with_secret=admin) for row in rows])


async def create_action(request: web.Request) -> web.Response:
    user = require_role(request, Role.ADMIN)
    settings = _settings(await read_json(request))
    try:
        action = AlertAction.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, action)
    action_id = await save(request, user, action)
    assert action_id is not None
    return await _answer(request, action_id, 201)


async def get_action(request: web.Request) -> web.Response:
    row = await _find(request)
    return json_response(action_json(row, with_secret=_is_admin(request)))


async def replace_action(request: web.Request) -> web.Response:
    user = require_role(request, Role.ADMIN)
    row = await _find(request)
    settings = _settings(await read_json(request))
    action: AlertAction = await load_live(request, row, _NOT_FOUND)
    try:
        action.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, action)
    await save(request, user, action)
    return await _answer(request, row["id"])


async def delete_action(request: web.Request) -> web.Response:
    user = require_role(request, Role.ADMIN)
    action: AlertAction = await load_live(request, await _find(request), _NOT_FOUND)
    try:
        action.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, user, action)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/alert-actions", list_actions)
    app.router.add_post("/api/alert-actions", create_action)
    app.router.add_get("/api/alert-actions/{id}", get_action)
    app.router.add_put("/api/alert-actions/{id}", replace_action)
    app.router.add_delete("/api/alert-actions/{id}", delete_action)
