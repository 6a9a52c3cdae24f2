"""/api/alert-actions: what to tell the outside world when an alert changes.

Any authenticated user reads (an action whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of its teams, write. What a reader sees
of the secrets (header values, credentials in webhook URLs, chat webhook URLs, the signing
secret receivers verify ``X-Ilertd-Signature`` with) is ``field_access``'s table, applied
to every answer here. Referenced alert sources and connectors must exist (a 400 naming the
field otherwise); a jira action needs a jira connector. ilert's structured ``alertFilter``
is accepted and stored as the equivalent ``conditions`` expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import msgspec
from aiohttp import web

from projections.alert_sources import source_by_id
from projections.outbound_config import (
    TEAMS_SQL,
    action_by_id,
    connector_by_id,
    decoded,
    list_rows,
    row_teams,
)
from projections.team_scope import names_for, scope_sql, teams_json

from ..alerts.views import iso
from ..contract.alert_actions import AlertAction as AlertActionBody
from ..contract.alert_actions import AlertActionInput
from ..contract.common import IdRef, TextId
from ..domain.alert_action import AlertAction, connector_mismatch
from ..domain.conditions import ConditionError, condition_from_alert_filter
from ..domain.errors import DomainError
from .context import runtime
from .field_access import refuse_masked, restored, shown, viewer_of
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

_NOT_FOUND = "no such alert action"


def text_id(value: int | None) -> str | None:
    """An alert action's or connector's id as ilert's clients read it: a decimal string."""
    return None if value is None else str(value)


def action_json(row: dict[str, Any], teams: dict[int, str] | None = None) -> dict[str, Any]:
    """The whole action, secrets included: ``_shown`` is what a caller gets of it;
    ``teams``: the names of its teams (``team_scope.team_names``)."""
    settings = row["settings"]
    params = {k: v for k, v in settings["params"].items() if v not in (None, [])}
    body: dict[str, Any] = {
        "id": text_id(row["id"]),
        "name": settings["name"],
        "alertSources": [{"id": i} for i in settings["alert_source_ids"]],
        "connectorId": text_id(settings["connector_id"]),
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
        "signingSecret": row["signing_secret"],
        "teams": teams_json(row_teams(row), teams or {}),
    }
    return body


async def _shown_all(
    request: web.Request, rows: list[dict[str, Any]], call: Call
) -> list[dict[str, Any]]:
    teams = await names_for(pool(request), (row_teams(row) for row in rows))
    viewer = await viewer_of(request, call.caller)
    return [shown(AlertActionBody, action_json(row, teams), viewer) for row in rows]


async def _shown(request: web.Request, row: dict[str, Any], call: Call) -> dict[str, Any]:
    return (await _shown_all(request, [row], call))[0]


def _unmasked(body: AlertActionBody, row: dict[str, Any] | None) -> AlertActionBody:
    """The request with secrets sent back as masked restored from ``row`` (the stored
    action); a mask left over is a 400, never stored."""
    incoming = msgspec.to_builtins(body)
    if row is not None:
        incoming = restored(AlertActionBody, incoming, action_json(row))
    refuse_masked(AlertActionBody, incoming)
    return msgspec.convert(incoming, AlertActionBody)


def reference(field: str, value: IdRef | TextId | None) -> int | None:
    """``{"id": n}``, a bare id, or ilert's string ids ("" for none); the domain checks the
    number."""
    if isinstance(value, IdRef):
        value = value.id
    if isinstance(value, str):
        if not value:
            return None
        parsed = parse_id(value)
        if parsed is None:
            raise bad(field, "must be an integer id")
        return parsed
    return value


def _sources(body: AlertActionBody) -> list[int | None] | None:
    sources: list[Any] | None = body.alertSources
    if sources is None:
        sources = body.alertSourceIds  # ilert's deprecated spelling
    if sources is None:
        return None
    return [reference(f"alertSources[{i}].id", item) for i, item in enumerate(sources)]


def _conditions(body: AlertActionBody) -> str | None:
    conditions = body.conditions
    if conditions is not None and not conditions.strip():
        conditions = None
    if body.alertFilter is None:
        return conditions
    if conditions is not None:
        raise bad("alertFilter", "give conditions or alertFilter, not both")
    try:
        return condition_from_alert_filter(msgspec.to_builtins(body.alertFilter))
    except ConditionError as exc:
        raise bad("alertFilter", exc.message) from None


def _params(body: AlertActionBody) -> dict[str, Any] | None:
    if body.params is None:
        return None
    built = msgspec.to_builtins(body.params)
    return {key: value for key, value in built.items() if value is not None}


def _settings(body: AlertActionBody, teams: Sequence[int] = ()) -> dict[str, Any]:
    """Domain settings; absent ``teams`` keep ``teams`` (the current ones)."""
    delay = body.escalationEndedDelaySec
    settings: dict[str, Any] = {
        "name": body.name,
        "connector_type": body.connectorType,
        "alert_source_ids": _sources(body),
        "connector_id": reference("connectorId", body.connectorId),
        "trigger_types": body.triggerTypes,
        "conditions": _conditions(body),
        "escalation_ended_delay_s": delay if delay is not None else body.delaySec,
        "not_resolved_delay_s": body.notResolvedDelaySec,
        "params": _params(body),
        "teams": kept(sent_teams(body.teams), teams),
    }
    if body.triggerMode:  # "" is ilert-go's unset value
        settings["trigger_mode"] = body.triggerMode
    return settings


async def _check_references(request: web.Request, action: AlertAction) -> None:
    """Sources and connector exist, and the connector suits the target."""
    settings = action.settings
    for i, source_id in enumerate(settings["alert_source_ids"]):
        if await source_by_id(pool(request), source_id) is None:
            raise bad(f"alertSources[{i}]", f"no alert source {source_id}")
    if settings["connector_id"] is not None:
        connector = await connector_by_id(
            pool(request), settings["connector_id"], runtime(request).sealer
        )
        if connector is None:
            raise bad("connectorId", f"no connector {settings['connector_id']}")
        problem = connector_mismatch(
            settings,
            connector["settings"]["connector_type"],
            connector["settings"]["params"],
        )
        if problem is not None:
            raise bad("connectorId", problem)


async def _find(request: web.Request, user: Any) -> dict[str, Any]:
    """The action of the path's ``{id}``, when ``user`` may see it; else 404."""
    row = await action_by_id(pool(request), path_id(request, _NOT_FOUND), runtime(request).sealer)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row_teams(row), _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    if ident is None:
        return None
    teams = await pool(request).fetchval(
        f"SELECT {TEAMS_SQL} FROM alert_actions r WHERE id = $1 AND NOT deleted", ident
    )
    return None if teams is None else list(teams)


async def _answer(
    request: web.Request, call: Call, action_id: int, status: int = 200
) -> web.Response:
    row = await action_by_id(pool(request), action_id, runtime(request).sealer)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _shown(request, row, call), status=status)


async def list_actions(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_rows(
        pool(request), "alert_actions", start, limit, runtime(request).sealer, viewer=who, only=only
    )
    return json_response(await _shown_all(request, rows, call))


async def create_action(request: web.Request, call: Call) -> web.Response:
    settings = _settings(_unmasked(call.body, None))
    try:
        action = AlertAction.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, call.caller, call.body.teams, ())
    await _check_references(request, action)
    action_id = await save(request, call.caller, action)
    assert action_id is not None
    return await _answer(request, call, action_id, 201)


async def get_action(request: web.Request, call: Call) -> web.Response:
    return json_response(await _shown(request, await _find(request, call.caller), call))


async def replace_action(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    settings = _settings(_unmasked(call.body, row), row_teams(row))
    await check_sent_teams(request, call.caller, call.body.teams, row_teams(row))
    action: AlertAction = await load_live(request, row, _NOT_FOUND)
    try:
        action.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_references(request, action)
    await save(request, call.caller, action)
    return await _answer(request, call, row["id"])


async def delete_action(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    action: AlertAction = await load_live(request, row, _NOT_FOUND)
    try:
        action.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, call.caller, action)
    return web.Response(status=204)


ALERT_ACTIONS = Resource(
    base="/api/alert-actions",
    tag="Outbound",
    name="AlertAction",
    names="AlertActions",
    one="an alert action",
    many="alert actions",
    type=AlertActionBody,
    id_param=Param(
        "id",
        "path",
        {"type": "string", "pattern": "^[0-9]{1,19}$"},
        "the alert action's id (ilert's clients send it as the string they read)",
    ),
    list_params=PAGING,
)

#: ilert-go and the Terraform provider ask for an API version on reads; there is one here
VERSION = Param(
    "version", "query", {"type": "string", "examples": ["1"]}, "ilert's answer version: ignored"
)


def with_version(route: Route) -> Route:
    """The GET of one action takes ``version`` (ilert-go's GetAlertAction)."""
    if route.operation_id != "getAlertAction":
        return route
    return replace(route, params=(*route.params, VERSION))


async def action_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchAlertAction (the Terraform data source): the oldest live action of
    that name the caller may see."""
    row = decoded(
        await pool(request).fetchrow(
            "SELECT * FROM alert_actions r WHERE NOT deleted AND settings->>'name' = $1 "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
            request.match_info["name"],
            viewer(call.caller),
        ),
        runtime(request).sealer,
    )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _shown(request, row, call))


_listed, _created, _got, _replaced, _deleted = map(
    with_version,
    crud_routes(
        ALERT_ACTIONS,
        list_all=list_actions,
        create=create_action,
        get=get_action,
        replace=replace_action,
        delete=delete_action,
    ),
)
#: Writes of an action: ADMINs, and ADMINs of one of its teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the action's teams; 403 for others, 404 if it is invisible"
)

ROUTES = (
    team_listed(_listed),
    replace(
        _created,
        body=AlertActionInput,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for an action whose teams are all theirs",
    ),
    _got,
    replace(_replaced, body=AlertActionInput, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    Route(
        "GET",
        "/api/alert-actions/name/{name}",
        action_by_name,
        "getAlertActionByName",
        "Outbound",
        "The alert action of that name (the oldest, if several)",
        {200: Answer("The alert action", AlertActionBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the action's name"),),
    ),
)
