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
from ..domain.alert_action import connector_mismatch
from ..domain.connector import Connector, is_secret, public_params
from ..domain.errors import DomainError
from ..domain.user import Role
from .authz import require_role
from .body import read_json
from .paging import page
from .problems import ProblemError, json_response
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


def _settings(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "body: must be a JSON object", field="body")
    return {
        "name": body.get("name"),
        "connector_type": body.get("type"),
        "params": body.get("params"),
    }


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


async def list_connectors(request: web.Request) -> web.Response:
    start, limit = page(request)
    rows = await list_rows(pool(request), "connectors", start, limit)
    return json_response([connector_json(row) for row in rows])


async def create_connector(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
    settings = _settings(await read_json(request))
    try:
        connector = Connector.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    connector_id = await save(request, caller, connector)
    assert connector_id is not None
    return json_response(connector_json(await _reread(request, connector_id)), status=201)


async def get_connector(request: web.Request) -> web.Response:
    return json_response(connector_json(await _find(request)))


async def replace_connector(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
    row = await _find(request)
    settings = _settings(await read_json(request))
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


async def delete_connector(request: web.Request) -> web.Response:
    caller = require_role(request, Role.ADMIN)
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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/connectors", list_connectors)
    app.router.add_post("/api/connectors", create_connector)
    app.router.add_get("/api/connectors/{id}", get_connector)
    app.router.add_put("/api/connectors/{id}", replace_connector)
    app.router.add_delete("/api/connectors/{id}", delete_connector)
