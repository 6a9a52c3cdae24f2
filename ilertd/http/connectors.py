"""/api/connectors: shared credentials and URLs of alert action targets.

Any authenticated user reads (a connector whose teams are all PRIVATE only their members
and ADMINs: ``team_access``); ADMINs, and ADMINs of one of its teams, write. Credentials
(``password``, ``apiKey``...) are write-only: accepted and used, never returned; a PUT that
leaves one out keeps it. Secrets in the other params (a URL's password and tokens, a chat
webhook URL) only ADMINs read: ``field_access``'s table, applied to every answer here. The
id is answered as a decimal string, as ilert's clients decode it (``contract.alert_actions``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from projections.outbound_config import (
    TEAMS_SQL,
    connector_by_id,
    decoded,
    list_rows,
    row_teams,
)
from projections.team_scope import names_for, scope_sql, teams_json

from ..alerts.views import iso
from ..contract.connectors import Connector as ConnectorBody
from ..domain.alert_action import connector_mismatch
from ..domain.connector import Connector, is_secret, public_params
from ..domain.errors import DomainError
from ..domain.incident_channel import ChannelType, unfit
from ..incidents.views import channels_using
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
from .writes import domain_problem, load_live, parse_id, path_id, pool, save

_NOT_FOUND = "no such connector"


def connector_json(row: dict[str, Any], teams: dict[int, str] | None = None) -> dict[str, Any]:
    """The connector as ADMINs read it (credentials never: they are write-only);
    ``teams``: the names of its teams (``team_scope.team_names``)."""
    settings = row["settings"]
    params = settings["params"]
    return {
        "id": str(row["id"]),
        "name": settings["name"],
        "type": settings["connector_type"],
        "params": public_params(params),
        # which credentials are set (never their values), so a UI can say "configured"
        "secretParams": sorted(k for k in params if is_secret(k)),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "teams": teams_json(row_teams(row), teams or {}),
    }


async def _shown_all(
    request: web.Request, rows: list[dict[str, Any]], call: Call
) -> list[dict[str, Any]]:
    teams = await names_for(pool(request), (row_teams(row) for row in rows))
    viewer = await viewer_of(request, call.caller)
    return [shown(ConnectorBody, connector_json(row, teams), viewer) for row in rows]


async def _shown(request: web.Request, row: dict[str, Any], call: Call) -> dict[str, Any]:
    return (await _shown_all(request, [row], call))[0]


def _settings(body: ConnectorBody, row: dict[str, Any] | None = None) -> dict[str, Any]:
    """Domain settings; params sent back as masked are restored from ``row`` (the stored
    connector), a mask left over is a 400, never stored. Absent ``teams`` keep the
    stored ones."""
    incoming = {"type": body.type, "params": body.params}
    if row is not None:
        incoming = restored(ConnectorBody, incoming, connector_json(row))
    refuse_masked(ConnectorBody, incoming)
    return {
        "name": body.name,
        "connector_type": body.type,
        "params": incoming["params"],
        "teams": kept(sent_teams(body.teams), row_teams(row) if row is not None else ()),
    }


async def _find(request: web.Request, user: Any) -> dict[str, Any]:
    """The connector of the path's ``{id}``, when ``user`` may see it; else 404."""
    row = await connector_by_id(
        pool(request), path_id(request, _NOT_FOUND), runtime(request).sealer
    )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row_teams(row), _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    ident = parse_id(request.match_info["id"])
    if ident is None:
        return None
    teams = await pool(request).fetchval(
        f"SELECT {TEAMS_SQL} FROM connectors r WHERE id = $1 AND NOT deleted", ident
    )
    return None if teams is None else list(teams)


async def _reread(request: web.Request, connector_id: int) -> dict[str, Any]:
    row = await connector_by_id(pool(request), connector_id, runtime(request).sealer)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_connectors(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    who, only = await list_scope(request, call.caller)
    rows = await list_rows(
        pool(request), "connectors", start, limit, runtime(request).sealer, viewer=who, only=only
    )
    return json_response(await _shown_all(request, rows, call))


async def create_connector(request: web.Request, call: Call) -> web.Response:
    caller, settings = call.caller, _settings(call.body)
    try:
        connector = Connector.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, caller, call.body.teams, ())
    connector_id = await save(request, caller, connector)
    assert connector_id is not None
    row = await _reread(request, connector_id)
    return json_response(await _shown(request, row, call), status=201)


async def get_connector(request: web.Request, call: Call) -> web.Response:
    return json_response(await _shown(request, await _find(request, call.caller), call))


async def replace_connector(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    settings = _settings(call.body, row)
    await check_sent_teams(request, caller, call.body.teams, row_teams(row))
    connector: Connector = await load_live(request, row, _NOT_FOUND)
    try:
        connector.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _still_fits(request, row["id"], connector)
    await save(request, caller, connector)
    return json_response(await _shown(request, await _reread(request, row["id"]), call))


async def _still_fits(request: web.Request, connector_id: int, connector: Connector) -> None:
    """A replaced connector must still suit every action that uses it (409 otherwise)."""
    users = await pool(request).fetch(
        "SELECT * FROM alert_actions WHERE NOT deleted "
        "AND (settings->>'connector_id')::bigint = $1",
        connector_id,
    )
    for action in users:
        settings = decoded(action, runtime(request).sealer)["settings"]  # type: ignore[index]
        problem = connector_mismatch(settings, connector.connector_type, connector.params)
        if problem is not None:
            raise ProblemError(409, "CONFLICT", f"alert action {action['id']}: {problem}")
    for channel in await channels_using(pool(request), connector_id):
        problem = unfit(
            ChannelType(channel["type"]), channel["url"], connector.connector_type, connector.params
        )
        if problem is not None:
            where = f"{channel['reference']}'s channel {channel['channel_id']}"
            raise ProblemError(409, "CONFLICT", f"{where}: {problem[1]}")


async def delete_connector(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    in_use = await pool(request).fetchval(
        "SELECT id FROM alert_actions WHERE NOT deleted "
        "AND (settings->>'connector_id')::bigint = $1 LIMIT 1",
        row["id"],
    )
    if in_use is not None:
        raise ProblemError(409, "CONFLICT", f"alert action {in_use} still uses this connector")
    channels = await channels_using(pool(request), row["id"])
    if channels:
        where = f"{channels[0]['reference']}'s channel {channels[0]['channel_id']}"
        raise ProblemError(409, "CONFLICT", f"{where} still posts through it (detach it first)")
    connector: Connector = await load_live(request, row, _NOT_FOUND)
    try:
        connector.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, caller, connector)
    return web.Response(status=204)


CONNECTORS = Resource(
    base="/api/connectors",
    tag="Outbound",
    name="Connector",
    names="Connectors",
    one="a connector",
    many="connectors",
    type=ConnectorBody,
    id_param=Param(
        "id",
        "path",
        {"type": "string", "pattern": "^[0-9]{1,19}$"},
        "the connector's id (ilert's clients send it as the string they read)",
    ),
    list_params=PAGING,
)


async def connector_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchConnector (the Terraform data source): the oldest live connector of
    that name the caller may see."""
    row = decoded(
        await pool(request).fetchrow(
            "SELECT * FROM connectors r WHERE NOT deleted AND settings->>'name' = $1 "
            f"AND {scope_sql(TEAMS_SQL, '$2', 'NULL')} ORDER BY id LIMIT 1",
            request.match_info["name"],
            viewer(call.caller),
        ),
        runtime(request).sealer,
    )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return json_response(await _shown(request, row, call))


_listed, _created, _got, _replaced, _deleted = crud_routes(
    CONNECTORS,
    list_all=list_connectors,
    create=create_connector,
    get=get_connector,
    replace=replace_connector,
    delete=delete_connector,
)
#: Writes of a connector: ADMINs, and ADMINs of one of its teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the connector's teams; 403 for others, 404 if it is invisible"
)

ROUTES = (
    team_listed(_listed),
    replace(
        _created,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a connector whose teams are all theirs",
    ),
    _got,
    replace(_replaced, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    Route(
        "GET",
        "/api/connectors/name/{name}",
        connector_by_name,
        "getConnectorByName",
        "Outbound",
        "The connector of that name (the oldest, if several)",
        {200: Answer("The connector", ConnectorBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the connector's name"),),
    ),
)
