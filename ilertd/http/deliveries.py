"""Deliveries of alert actions: their history, running a manual action, retrying dead
letters.

``GET|POST /api/alerts/{id}/actions`` (ilert's shape: one entry per action with its
``history``), ``GET /api/deliveries`` and ``/api/deliveries/{id}``, and ``POST
/api/deliveries/{id}/retry``. The outbox is the engine leader's read model, so a run or a
retry is answered 202 once its request is committed; the dispatcher picks it up from there.
Alert action and connector ids are answered as strings, as on ``/api/alert-actions``.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from eventstore import ConcurrencyError
from projections.outbound_config import action_by_id, actions_for_source

from ..alerts.views import iso
from ..contract.deliveries import (
    AlertActionRun,
    AlertActionTrigger,
    Delivery,
    PlannedDelivery,
)
from ..domain.action_delivery import (
    RETRY_REQUESTED,
    ActionDelivery,
    DeliveryStatus,
    chain_id,
    delivery_id,
)
from ..domain.errors import DomainError
from ..domain.user import Role
from ..outbound.payload import MANUAL_EVENT_TYPE
from .alert_actions import reference, text_id
from .body import int64
from .context import runtime
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .team_access import alert_routes_of_visible_sources
from .writes import bad, metadata, parse_id, pool, writer

STATUSES = tuple(s.value for s in DeliveryStatus)
_DELIVERY_ID = re.compile(r"[0-9]{1,19}-[0-9]{1,19}(-[a-z]{1,16})?")


def delivery_json(row: asyncpg.Record) -> dict[str, Any]:
    # an incident's event (to an action, or to a channel): then alert_id names the incident
    incident = row["kind"] in ("incident", "channel")
    channel = row["channel_id"] if row["kind"] == "channel" else None
    return {
        "id": row["id"],
        "alertId": None if incident else row["alert_id"],
        "incidentId": row["alert_id"] if incident else None,
        "alertActionId": None if channel is not None else text_id(row["action_id"]),
        "channelId": channel,
        "eventType": row["event_type"],
        "manual": row["manual"],
        "status": row["status"],
        "success": row["status"] == DeliveryStatus.SUCCEEDED,
        "attempts": row["attempts"],
        "nextAttemptAt": iso(row["next_attempt_at"]),
        "lastError": row["last_error"],
        "lastStatusCode": row["last_status"],
        "externalRef": row["external_ref"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


async def _alert(request: web.Request) -> asyncpg.Record:
    alert_id = int64(request.match_info["id"])
    row = None
    if alert_id is not None:
        row = await pool(request).fetchrow(
            "SELECT id, stream_id, source_id, version FROM alerts WHERE id = $1", alert_id
        )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", "no such alert")
    return row


async def alert_actions(request: web.Request, call: Call) -> web.Response:
    """Every action that ran for the alert or can be run on it by hand, with its history."""
    alert = await _alert(request)
    db, sealer = pool(request), runtime(request).sealer
    history = await db.fetch(
        "SELECT * FROM deliveries WHERE alert_id = $1 ORDER BY seq, id", alert["id"]
    )
    actions = {
        a["id"]: a for a in await actions_for_source(db, alert["source_id"], "MANUAL", sealer)
    }
    for action_id in {row["action_id"] for row in history} - set(actions):
        found = await action_by_id(db, action_id, sealer)
        if found is not None:
            actions[action_id] = found
    by_action: dict[int, list[dict[str, Any]]] = {}
    for row in history:
        by_action.setdefault(row["action_id"], []).append(delivery_json(row))
    return json_response(
        [
            {
                "alertActionId": text_id(action_id),
                "connectorId": text_id(action["settings"]["connector_id"]),
                "type": action["settings"]["connector_type"],
                "name": action["settings"]["name"],
                "triggerMode": action["settings"]["trigger_mode"],
                "history": by_action.get(action_id, []),
            }
            for action_id, action in sorted(actions.items())
        ]
    )


def _action_reference(body: AlertActionRun) -> int:
    if body.alertAction is not None:
        value = reference("alertAction.id", body.alertAction)
    else:
        field = "alertActionId" if body.alertActionId is not None else "id"
        value = reference(field, body.alertActionId if field == "alertActionId" else body.id)
    if value is None:
        raise bad(
            "alertActionId",
            'is required: the id of the action to run, or {"alertAction": {"id": n}}',
        )
    return value


async def run_action(request: web.Request, call: Call) -> web.Response:
    """Run an action on the alert now (a manual action, or an automatic one again)."""
    user = call.caller
    alert = await _alert(request)
    action_id = _action_reference(call.body)
    action = await action_by_id(pool(request), action_id, runtime(request).sealer)
    if action is None:
        raise bad("alertActionId", f"no alert action {action_id}")
    sources = action["settings"]["alert_source_ids"]
    if sources and alert["source_id"] not in sources:
        raise ProblemError(
            409, "CONFLICT", f"alert action {action_id} does not apply to this alert's source"
        )
    repository, _ = writer(request)
    alert_stream = UUID(str(alert["stream_id"]))  # asyncpg's own UUID type is not stored
    stream = chain_id(alert_stream, action_id)
    actor = {"type": "user", "id": user["id"]}
    try:
        _, result = await repository.change(
            stream,
            lambda chain: chain.request_run(alert["version"], MANUAL_EVENT_TYPE, actor),
            metadata=metadata(request, user),
            create=lambda: ActionDelivery(
                alert_id=alert["id"], alert_stream=alert_stream, action_id=action_id, id=stream
            ),
        )
    except ConcurrencyError:
        raise ProblemError(
            409, "CONFLICT", "the action's deliveries are changing too fast; retry"
        ) from None
    assert result is not None
    body = {
        "id": delivery_id(result.last_position, action_id),
        "alertId": alert["id"],
        "alertActionId": text_id(action_id),
        "eventType": MANUAL_EVENT_TYPE,
        "status": DeliveryStatus.PENDING,
    }
    return json_response(body, status=202)


def _filters(request: web.Request) -> tuple[str, list[Any]]:
    clauses, args = [], []
    status = request.query.get("status")
    if status is not None:
        if status.upper() not in STATUSES:
            raise bad("status", f"must be one of {', '.join(STATUSES)}")
        args.append(status.upper())
        clauses.append(f"status = ${len(args)}")
    for name, column in (("alert-id", "alert_id"), ("alert-action-id", "action_id")):
        value = request.query.get(name)
        if value is not None:
            number = parse_id(value)
            if number is None:
                raise bad(name, "must be an integer id")
            args.append(number)
            clauses.append(f"{column} = ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def list_deliveries(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    where, args = _filters(request)
    rows = await pool(request).fetch(
        f"SELECT * FROM deliveries{where} ORDER BY updated_at DESC, id "
        f"OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
        *args,
        start,
        limit,
    )
    return json_response([delivery_json(row) for row in rows])


async def _delivery(request: web.Request) -> asyncpg.Record:
    ident = request.match_info["id"]
    row = None
    if _DELIVERY_ID.fullmatch(ident):
        row = await pool(request).fetchrow("SELECT * FROM deliveries WHERE id = $1", ident)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", "no such delivery")
    return row


async def get_delivery(request: web.Request, call: Call) -> web.Response:
    return json_response(delivery_json(await _delivery(request)))


async def retry_delivery(request: web.Request, call: Call) -> web.Response:
    """Send a dead letter again, from attempt 1 (409 for any other status)."""
    user = call.caller
    row = await _delivery(request)
    repository, _ = writer(request)
    actor = {"type": "user", "id": user["id"]}
    try:
        await repository.change(
            row["chain"],
            lambda chain: chain.request_retry(row["id"], actor),
            metadata=metadata(request, user),
        )
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    except ConcurrencyError:
        raise ProblemError(409, "CONFLICT", "the delivery is changing too fast; retry") from None
    return json_response({**delivery_json(row), "status": RETRY_REQUESTED}, status=202)


TAG = "Outbound"
ALERT_ID = Param("id", "path", {"type": "integer", "format": "int64"}, "the alert's id")
DELIVERY_ID = Param("id", "path", {"type": "string"}, "the delivery's id")
ID_QUERY = {"type": "string", "pattern": "^[0-9]{1,19}$"}

_ROUTES = (
    Route(
        "GET",
        "/api/alerts/{id}/actions",
        alert_actions,
        "listAlertActionsOfAlert",
        TAG,
        "Actions that ran for the alert or can be run on it by hand, with history",
        {200: Answer("Actions", list[AlertActionTrigger])},
        problems=(404,),
        params=(ALERT_ID,),
    ),
    Route(
        "POST",
        "/api/alerts/{id}/actions",
        run_action,
        "runAlertAction",
        TAG,
        "Run an action on the alert now",
        {202: Answer("Planned", PlannedDelivery)},
        role=Role.RESPONDER,
        body=AlertActionRun,
        problems=(400, 404, 409),
        params=(ALERT_ID,),
    ),
    Route(
        "GET",
        "/api/deliveries",
        list_deliveries,
        "listDeliveries",
        TAG,
        "Deliveries, newest change first",
        {200: Answer("Deliveries", list[Delivery])},
        problems=(400,),
        params=(
            *PAGING,
            Param("status", "query", {"enum": list(STATUSES)}, "case-insensitive"),
            Param("alert-id", "query", ID_QUERY),
            Param("alert-action-id", "query", ID_QUERY),
        ),
    ),
    Route(
        "GET",
        "/api/deliveries/{id}",
        get_delivery,
        "getDelivery",
        TAG,
        "One delivery",
        {200: Answer("The delivery", Delivery)},
        problems=(404,),
        params=(DELIVERY_ID,),
    ),
    Route(
        "POST",
        "/api/deliveries/{id}/retry",
        retry_delivery,
        "retryDelivery",
        TAG,
        "Send a dead letter again from attempt 1",
        {202: Answer(f"Retry requested: the dead letter, its status {RETRY_REQUESTED}", Delivery)},
        role=Role.RESPONDER,
        problems=(404, 409),
        params=(DELIVERY_ID,),
    ),
)

#: Routes on one alert answer 404 for an alert of a source the caller may not see.
ROUTES = alert_routes_of_visible_sources(_ROUTES)
