"""/api/connectors: shared credentials and URLs of alert action targets.

Any authenticated user reads; only ADMINs write. Credentials (``password``, ``apiKey``...)
are write-only: accepted and used, never returned; a PUT that leaves one out keeps it.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from projections.outbound_config import connector_by_id, list_rows

from ..alert_views import iso
from ..contract.connectors import Connector as ConnectorBody
from ..domain.alert_action import connector_mismatch
from ..domain.connector import Connector, is_secret, public_params
from ..domain.errors import DomainError
from ..domain.user import Role
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .writes import domain_problem, load_live, path_id, pool, save

_NOT_FOUND = "no such connector"


def connector_json(row: dict[str, Any]) -> dict[str, Any]:
    settings = row["settings"]
    params = settings["params"]
    return {
        "id": row["id"],
        "name": settings["name"],
        "type": settings["connector_type"],
        "params": public_params(params),
        # which credentials are set (never their values), so a UI can say "configured"
        "secretParams": sorted(k for k in params if is_secret(k)),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def _settings(body: ConnectorBody) -> dict[str, Any]:
    return {"name": body.name, "connector_type": body.type, "params": body.params}


async def _find(request: web.Request) -> dict[str, Any]:
    row = await connector_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _reread(request: web.Request, connector_id: int) -> dict[str, Any]:
    row = await connector_by_id(pool(request), connector_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_connectors(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    rows = await list_rows(pool(request), "connectors", start, limit)
    return json_response([connector_json(row) for row in rows])


async def create_connector(request: web.Request, call: Call) -> web.Response:
    caller, settings = call.caller, _settings(call.body)
    try:
        connector = Connector.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    connector_id = await save(request, caller, connector)
    assert connector_id is not None
    return json_response(connector_json(await _reread(request, connector_id)), status=201)


async def get_connector(request: web.Request, call: Call) -> web.Response:
    return json_response(connector_json(await _find(request)))


async def replace_connector(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request)
    settings = _settings(call.body)
    connector: Connector = await load_live(request, row, _NOT_FOUND)
    try:
        connector.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _still_fits(request, row["id"], connector)
    await save(request, caller, connector)
    return json_response(connector_json(await _reread(request, row["id"])))


async def _still_fits(request: web.Request, connector_id: int, connector: Connector) -> None:
    """A replaced connector must still suit every action that uses it (409 otherwise)."""
    users = await pool(request).fetch(
        "SELECT id, settings FROM alert_actions WHERE NOT deleted "
        "AND (settings->>'connector_id')::bigint = $1",
        connector_id,
    )
    for action in users:
        problem = connector_mismatch(
            orjson.loads(action["settings"]), connector.connector_type, connector.params
        )
        if problem is not None:
            raise ProblemError(409, "CONFLICT", f"alert action {action['id']}: {problem}")


async def delete_connector(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request)
    in_use = await pool(request).fetchval(
        "SELECT id FROM alert_actions WHERE NOT deleted "
        "AND (settings->>'connector_id')::bigint = $1 LIMIT 1",
        row["id"],
    )
    if in_use is not None:
        raise ProblemError(409, "CONFLICT", f"alert action {in_use} still uses this connector")
    connector: Connector = await load_live(request, row, _NOT_FOUND)
    try:
        connector.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, connector)
    return web.Response(status=204)


_TAG = "Outbound"
_BASE = "/api/connectors"
_ID = Param("id", "path", {"type": "integer", "format": "int64"}, "the connector's id")
_ONE = Answer("The connector", ConnectorBody)

ROUTES = (
    Route(
        "GET",
        _BASE,
        list_connectors,
        "listConnectors",
        _TAG,
        "List connectors",
        {200: Answer("Connectors", list[ConnectorBody])},
        problems=(400,),
        params=PAGING,
    ),
    Route(
        "POST",
        _BASE,
        create_connector,
        "createConnector",
        _TAG,
        "Create a connector",
        {201: _ONE},
        role=Role.ADMIN,
        body=ConnectorBody,
        problems=(400,),
    ),
    Route(
        "GET",
        _BASE + "/{id}",
        get_connector,
        "getConnector",
        _TAG,
        "One connector",
        {200: _ONE},
        problems=(404,),
        params=(_ID,),
    ),
    Route(
        "PUT",
        _BASE + "/{id}",
        replace_connector,
        "replaceConnector",
        _TAG,
        "Replace a connector",
        {200: _ONE},
        role=Role.ADMIN,
        body=ConnectorBody,
        problems=(400, 404, 409),
        params=(_ID,),
    ),
    Route(
        "DELETE",
        _BASE + "/{id}",
        delete_connector,
        "deleteConnector",
        _TAG,
        "Delete a connector",
        {204: Answer("Deleted")},
        role=Role.ADMIN,
        problems=(404, 409),
        params=(_ID,),
    ),
)
