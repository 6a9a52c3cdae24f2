"""/api/alerts: list, count, get, manual create, accept, resolve, comments, log entries,
and the actions on one alert (assign, responders, raise, escalate, channels).

Any authenticated user reads; RESPONDERs and above act. Every action waits until the
projections have applied it, so the answer is the alert as the action left it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from projections.users import user_by_name

from ..alerts.creation import NewAlert
from ..alerts.streams import AlertNotFoundError
from ..alerts.views import alert_json, decoded_row, iso, responders_of, snapshot_view
from ..contract.alerts import Alert as AlertBody
from ..contract.alerts import (
    AlertAssignment,
    AlertCount,
    AssignmentBody,
    ChannelRequest,
    CommentRequest,
    LogEntry,
    ResponderRequest,
)
from ..contract.alerts import NewAlert as NewAlertBody
from ..contract.common import IdRef
from ..contract.maintenance_windows import HeldAlert
from ..domain.alert import Alert, AlertStatus
from ..domain.errors import DomainError
from ..domain.user import Role
from ..incidents.history import linked_incident_at
from ..maintenance.gate import Suppressed
from .body import int64
from .context import REQUEST_ID, SERVICES, runtime
from .field_access import shown
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .team_access import alert_routes_of_visible_sources, invisible_sources
from .writes import parse_id

STATES = tuple(s.value for s in AlertStatus)
#: longer text in a user filter is no username (the users API allows 255)
MAX_USERNAME = 255

_SELECT = """
SELECT a.*, s.name AS source_name
FROM alerts a LEFT JOIN alert_sources s ON s.id = a.source_id
"""


def _include(request: web.Request) -> set[str]:
    return {v for value in request.query.getall("include", []) for v in value.split(",")}


def _ints(request: web.Request, *names: str) -> list[int]:
    values: list[int] = []
    for name in names:
        for raw in request.query.getall(name, []):
            for part in raw.split(","):
                if not part.strip():
                    continue
                value = int64(part)
                if value is None:
                    raise ProblemError(
                        400, "BAD_REQUEST", f"{name}: {part!r} is not an id", field=name
                    )
                values.append(value)
    return values


def _username(text: str) -> str | None:
    """``text`` as a username to look up, or None when no user can have it (PostgreSQL's
    text holds no NUL, nor a lone surrogate)."""
    if not text or len(text) > MAX_USERNAME or "\x00" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def _user_refs(request: web.Request, *names: str) -> tuple[list[int], list[str]] | None:
    """The users a filter names: ids, or usernames (ilert-go's GetAlerts sends
    ``assigned-to`` with either); None when the filter is not given. A username no user has
    matches no alert."""
    given = False
    ids: list[int] = []
    usernames: list[str] = []
    for name in names:
        for raw in request.query.getall(name, []):
            for part in raw.split(","):
                if not part.strip():
                    continue
                given = True
                value = int64(part)
                if value is not None:
                    ids.append(value)
                elif (username := _username(part.strip())) is not None:
                    usernames.append(username.lower())
    return (ids, usernames) if given else None


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ProblemError(
            400, "BAD_REQUEST", f"{name}: not an ISO-8601 time", field=name
        ) from None
    if value.tzinfo is None:
        raise ProblemError(400, "BAD_REQUEST", f"{name}: give a UTC offset", field=name)
    return value


async def _filters(request: web.Request, caller: Any) -> tuple[str, list[Any]]:
    """The list's WHERE clause and its arguments: the query's filters, and only alerts of
    alert sources the caller may see."""
    clauses: list[str] = []
    args: list[Any] = []
    hidden = await invisible_sources(request, caller)
    if hidden:
        args.append(hidden)
        clauses.append("NOT (a.source_id = ANY($1::bigint[]))")
    states = [
        s.strip().upper()
        for name in ("states", "state")
        for raw in request.query.getall(name, [])
        for s in raw.split(",")
        if s.strip()
    ]
    for state in states:
        if state not in STATES:
            raise ProblemError(
                400,
                "BAD_REQUEST",
                f"states: {state!r} is not one of {', '.join(STATES)}",
                field="states",
            )
    if states:
        args.append(states)
        clauses.append(f"a.status = ANY(${len(args)}::text[])")
    for names, column in (
        (("sources", "alert-source"), "a.source_id"),
        (("policies", "policy"), "a.escalation_policy_id"),
    ):
        ids = _ints(request, *names)
        if ids:
            args.append(ids)
            clauses.append(f"{column} = ANY(${len(args)}::bigint[])")
    responders = _user_refs(request, "responders", "assigned-to")
    if responders is not None:
        args.extend(responders)
        clauses.append(
            "EXISTS (SELECT 1 FROM alert_responders r LEFT JOIN users u ON u.id = r.user_id "
            f"AND u.deleted_at IS NULL WHERE r.alert_id = a.id AND (r.user_id = "
            f"ANY(${len(args) - 1}::bigint[]) OR lower(u.username) = ANY(${len(args)}::text[])))"
        )
    for name, op in (("from", ">="), ("until", "<")):
        value = _time(request, name)
        if value is not None:
            args.append(value)
            clauses.append(f"a.report_time {op} ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def list_alerts(request: web.Request, call: Call) -> web.Response:
    pool = runtime(request).pool
    where, args = await _filters(request, call.caller)
    start, size = page(request)
    rows = await pool.fetch(
        f"{_SELECT}{where} ORDER BY a.id DESC OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
        *args,
        start,
        size,
    )
    responders = await responders_of(pool, [r["id"] for r in rows])
    include = _include(request)
    return json_response(
        [alert_json(decoded_row(r), responders.get(r["id"], []), include) for r in rows]
    )


async def count_alerts(request: web.Request, call: Call) -> web.Response:
    pool = runtime(request).pool
    where, args = await _filters(request, call.caller)
    count = await pool.fetchval(f"SELECT count(*) FROM alerts a{where}", *args)
    return json_response({"count": count})


def _alert_id(request: web.Request) -> int:
    value = int64(request.match_info["id"])
    if value is None:
        raise ProblemError(404, "NOT_FOUND", "no such alert")
    return value


async def _answer(request: web.Request, alert_id: int, status: int = 200) -> web.Response:
    pool = runtime(request).pool
    row = await pool.fetchrow(f"{_SELECT} WHERE a.id = $1", alert_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}")
    responders = await responders_of(pool, [alert_id])
    body = alert_json(decoded_row(row), responders.get(alert_id, []), _include(request))
    return json_response(body, status)


async def get_alert(request: web.Request, call: Call) -> web.Response:
    alert_id = _alert_id(request)
    at = _time(request, "at")
    if at is None:
        return await _answer(request, alert_id)
    return await _answer_at(request, alert_id, at)


async def _answer_at(request: web.Request, alert_id: int, at: datetime) -> web.Response:
    """The alert as it was at ``at``, replayed from its events (not the projection)."""
    parts = runtime(request)
    pool = parts.pool
    try:
        snap = await parts.alert_commands.snapshot(alert_id, at)
    except AlertNotFoundError as exc:
        raise ProblemError(404, "NOT_FOUND", str(exc)) from None
    body = await snapshot_view(pool, snap, _include(request))
    body["linkedIncidentId"] = await linked_incident_at(pool, alert_id, at)
    body["at"] = iso(at)
    body["version"] = snap.version
    return json_response(body)


def _actor(request: web.Request, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    user_id = call.caller["id"]
    metadata: dict[str, Any] = {"actor": f"user:{user_id}"}
    metadata["request_id"] = request[REQUEST_ID]
    return {"type": "user", "id": user_id}, metadata


Command = Callable[[Alert, dict[str, Any], int], None]


async def _act(
    request: web.Request, call: Call, command: Command, status: int = 200
) -> web.Response:
    """Run ``command`` on the alert of the path as the caller; the alert as it left it."""
    parts = runtime(request)
    alert_id = _alert_id(request)
    actor, metadata = _actor(request, call)
    user_id = call.caller["id"]
    try:
        _, position = await parts.alert_commands.act(
            alert_id, lambda alert: command(alert, actor, user_id), metadata
        )
    except AlertNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}") from None
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    if position is not None:
        await parts.runner.wait_for(position)
    return await _answer(request, alert_id, status)


async def accept_alert(request: web.Request, call: Call) -> web.Response:
    return await _act(request, call, lambda alert, actor, uid: alert.accept(actor, user_id=uid))


async def resolve_alert(request: web.Request, call: Call) -> web.Response:
    return await _act(request, call, lambda alert, actor, uid: alert.resolve(actor))


async def add_comment(request: web.Request, call: Call) -> web.Response:
    body: CommentRequest = call.body
    content = body.content
    if not content.strip():
        raise ProblemError(400, "BAD_REQUEST", "content: must not be blank", field="content")
    return await _act(
        request, call, lambda alert, actor, uid: alert.comment(content, actor), status=201
    )


async def log_entries(request: web.Request, call: Call) -> web.Response:
    pool = runtime(request).pool
    alert_id = _alert_id(request)
    if not await pool.fetchval("SELECT 1 FROM alerts WHERE id = $1", alert_id):
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}")
    rows = await pool.fetch(
        "SELECT * FROM alert_log_entries WHERE alert_id = $1 ORDER BY id", alert_id
    )
    entries = [
        {
            "id": r["id"],
            "timestamp": iso(r["timestamp"]),
            "logEntryType": r["log_entry_type"],
            "text": r["text"],
            "alertId": r["alert_id"],
            "actor": orjson.loads(r["actor"]),
            "vars": orjson.loads(r["vars"]),
        }
        for r in rows
    ]
    # the contacts pages went to: their owners and ADMINs only (field_access)
    return json_response([shown(LogEntry, entry, call.caller) for entry in entries])


async def create_alert(request: web.Request, call: Call) -> web.Response:
    parts = runtime(request)
    body: NewAlertBody = call.body
    if not body.summary.strip():
        raise ProblemError(400, "BAD_REQUEST", "summary: must not be blank", field="summary")
    source_id = _ref_id("alertSource", body.alertSource)
    source = await parts.source_with_id(source_id)
    if source is None:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            f"alertSource.id: no alert source {source_id}",
            field="alertSource.id",
        )
    responders: list[int] = []
    for index, item in enumerate(body.responders or ()):
        field = f"responders[{index}].user"
        user_id = _ref_id(field, item.user)
        responders.append(await _require_user(request, user_id, f"{field}.id"))
    actor, metadata = _actor(request, call)
    try:
        _, position = await parts.alert_commands.create(
            source,
            NewAlert(
                summary=body.summary.strip(),
                details=body.details,
                priority=body.priority,
                responders=tuple(responders),
            ),
            actor,
            metadata,
        )
    except Suppressed as held:  # the source is in an active maintenance window
        await parts.runner.wait_for(held.position)
        answer = {
            "suppressed": True,
            "maintenanceWindowId": held.window.window_id,
            "message": held.message,
        }
        return json_response(answer, status=202)
    await parts.runner.wait_for(position)
    return await _answer(request, position, status=201)


async def _query_user(request: web.Request) -> int | None:
    """The user ``?user=`` (or legacy ``?user-id=``) names: an id, or a username, as
    ilert-go's AssignAlert sends its Username."""
    for name in ("user", "user-id"):
        raw = request.query.get(name)
        if raw is None:
            continue
        value = int64(raw)
        if value is not None:
            return value
        username = _username(raw.strip())
        pool = runtime(request).pool
        user = await user_by_name(pool, username=username) if username else None
        if user is None:
            raise ProblemError(400, "BAD_REQUEST", f"{name}: no such user", field=name)
        return user["id"]
    return None


def _query_id(request: web.Request, *names: str) -> int | None:
    for name in names:
        raw = request.query.get(name)
        if raw is not None:
            try:
                return int(raw)
            except ValueError:
                raise ProblemError(
                    400, "BAD_REQUEST", f"{name}: {raw!r} is not an id", field=name
                ) from None
    return None


async def _require_user(request: web.Request, user_id: int, field: str) -> int:
    if int64(str(user_id)) is None or await runtime(request).live_user(user_id) is None:
        raise ProblemError(400, "BAD_REQUEST", f"{field}: no such user", field=field)
    return user_id


def _ref_id(field: str, ref: IdRef) -> int:
    ident = parse_id(ref.id) if isinstance(ref.id, str) else ref.id
    if ident is None:
        raise ProblemError(400, "BAD_REQUEST", f"{field}.id: not an id", field=f"{field}.id")
    return ident


async def assign_alert(request: web.Request, call: Call) -> web.Response:
    """Re-route to one user, escalation policy or schedule (current and legacy names), named
    in the query or, as ``{"user": {"id": n}}``, in the body."""
    user_id = await _query_user(request)
    policy_id = _query_id(request, "policy", "policy-id")
    schedule_id = _query_id(request, "schedule", "schedule-id")
    body: AlertAssignment | None = call.body
    if body is not None:
        if body.user is not None:
            user_id = _ref_id("user", body.user)
        if body.escalationPolicy is not None:
            policy_id = _ref_id("escalationPolicy", body.escalationPolicy)
        if body.schedule is not None:
            schedule_id = _ref_id("schedule", body.schedule)
    if sum(v is not None for v in (user_id, policy_id, schedule_id)) != 1:
        raise ProblemError(
            400, "BAD_REQUEST", "user: give exactly one of user, policy or schedule", field="user"
        )
    if user_id is not None:
        await _require_user(request, user_id, "user")
    start = None
    if policy_id is not None:
        policy = await runtime(request).alert_commands.policy(policy_id)
        if policy is None:
            raise ProblemError(
                400, "BAD_REQUEST", "policy: no such escalation policy", field="policy"
            )
        start = request.app[SERVICES].clock.now()  # a new policy starts again at its level 0, now
    return await _act(
        request,
        call,
        lambda alert, actor, uid: alert.reroute(
            actor,
            user_id=user_id,
            policy_id=policy_id,
            schedule_id=schedule_id,
            next_escalation_at=start,
        ),
    )


async def escalate_alert(request: web.Request, call: Call) -> web.Response:
    """Page the next escalation level now, as the engine would on timeout."""
    parts = runtime(request)
    alert_id = _alert_id(request)
    actor, _ = _actor(request, call)
    try:
        stream = await parts.alert_commands.stream_of(alert_id)
        await parts.alert_commands.escalate(stream, by=actor)
    except AlertNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}") from None
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    await parts.runner.wait_for(await parts.store.head_position())
    return await _answer(request, alert_id)


async def add_responder(request: web.Request, call: Call) -> web.Response:
    body: ResponderRequest = call.body
    user_id = await _require_user(request, _ref_id("user", body.user), "user.id")
    return await _act(
        request, call, lambda alert, actor, uid: alert.add_responder(user_id, actor), status=201
    )


async def remove_responder(request: web.Request, call: Call) -> web.Response:
    user_id = int64(request.match_info["user_id"])
    if user_id is None:
        raise ProblemError(404, "NOT_FOUND", "no such responder")
    await _act(request, call, lambda alert, actor, uid: alert.remove_responder(user_id, actor))
    return web.Response(status=204)


async def raise_alert(request: web.Request, call: Call) -> web.Response:
    return await _act(request, call, lambda alert, actor, uid: alert.raise_priority(actor))


async def attach_channel(request: web.Request, call: Call) -> web.Response:
    body: ChannelRequest = call.body
    values = {"type": body.type.strip(), "name": body.name.strip(), "url": body.url.strip()}
    for name, value in values.items():
        if not value:
            raise ProblemError(400, "BAD_REQUEST", f"{name}: must not be blank", field=name)
    if not values["url"].startswith(("https://", "http://")):
        raise ProblemError(400, "BAD_REQUEST", "url: must be an http(s) URL", field="url")
    channel_id = uuid.uuid4().hex[:12]
    return await _act(
        request,
        call,
        lambda alert, actor, uid: alert.attach_channel(
            channel_id, values["type"].upper(), values["name"], values["url"], actor
        ),
        status=201,
    )


async def detach_channel(request: web.Request, call: Call) -> web.Response:
    channel_id = request.match_info["channel_id"]
    await _act(request, call, lambda alert, actor, uid: alert.detach_channel(channel_id, actor))
    return web.Response(status=204)


# -- the route table -------------------------------------------------------------------

BASE = "/api/alerts"
ITEM = f"{BASE}/{{id}}"
TAG = "Alerts"
INT64 = {"type": "integer", "format": "int64"}
ALERT_ID = Param("id", "path", INT64, "the alert's id")
ONE = Answer("The alert", AlertBody)
#: what an action may answer besides the alert
ACTION_PROBLEMS = (400, 404, 409)


#: a user named by id or username (any text: one no user has matches no alert)
USER_REF = {"anyOf": [INT64, {"type": "string"}]}


def _ids(name: str, description: str, *, deprecated: bool = False, users: bool = False) -> Param:
    """A repeatable (or comma-separated) list of ids (of users: or usernames)."""
    return Param(
        name,
        "query",
        {"type": "array", "items": USER_REF if users else INT64},
        description,
        deprecated=deprecated,
        explode=True,
    )


_STATES = {"type": "array", "items": {"type": "string", "enum": list(STATES)}}
_TIME = {"type": "string", "format": "date-time"}

FILTERS = (
    Param("states", "query", _STATES, "repeatable or comma-separated", explode=True),
    Param("state", "query", _STATES, "legacy name of states", deprecated=True, explode=True),
    _ids("sources", "alert source ids"),
    _ids("alert-source", "legacy name of sources", deprecated=True),
    _ids("policies", "escalation policy ids"),
    _ids("policy", "legacy name of policies", deprecated=True),
    _ids("responders", "user ids, or usernames", users=True),
    _ids("assigned-to", "legacy name of responders", deprecated=True, users=True),
    Param("from", "query", _TIME, "reportTime at or after (give an offset)"),
    Param("until", "query", _TIME, "reportTime before (give an offset)"),
)
INCLUDE = Param(
    "include",
    "query",
    {"type": "array", "items": {"type": "string"}},
    "optional fields, repeatable or comma-separated (customDetails)",
    explode=True,
)
ASSIGN_PARAMS = (
    Param("user", "query", USER_REF, "a user id, or a username"),
    Param("policy", "query", INT64),
    Param("schedule", "query", INT64),
    Param(
        "user-id",
        "query",
        USER_REF,
        "legacy name of user (ilert-go's AssignAlert sends an id or a username here)",
        deprecated=True,
    ),
    Param("policy-id", "query", INT64, "legacy name of policy", deprecated=True),
    Param("schedule-id", "query", INT64, "legacy name of schedule", deprecated=True),
)


def _action(path: str, handler: Any, operation_id: str, summary: str, **extra: Any) -> Route:
    """A PUT on one alert by a RESPONDER (or above), answering the alert."""
    params = (ALERT_ID, *extra.pop("params", ()))
    return Route(
        "PUT",
        f"{ITEM}/{path}",
        handler,
        operation_id,
        TAG,
        summary,
        {200: ONE},
        role=Role.RESPONDER,
        problems=ACTION_PROBLEMS,
        params=params,
        **extra,
    )


_ROUTES = (
    Route(
        "GET",
        BASE,
        list_alerts,
        "listAlerts",
        TAG,
        "List alerts, newest first",
        {200: Answer("Alerts", list[AlertBody])},
        problems=(400,),
        params=(*FILTERS, *PAGING, INCLUDE),
    ),
    Route(
        "POST",
        BASE,
        create_alert,
        "createAlert",
        TAG,
        "Create a manual alert",
        {
            201: Answer("The new alert", AlertBody),
            202: Answer(
                "No alert: the source is in an active maintenance window (recorded)",
                HeldAlert,
            ),
        },
        role=Role.RESPONDER,
        body=NewAlertBody,
        problems=(400,),
    ),
    Route(
        "GET",
        f"{BASE}/count",
        count_alerts,
        "countAlerts",
        TAG,
        "Count alerts matching the filters",
        {200: Answer("The count", AlertCount)},
        problems=(400,),
        params=FILTERS,
    ),
    Route(
        "GET",
        ITEM,
        get_alert,
        "getAlert",
        TAG,
        "One alert",
        {200: ONE},
        problems=(400, 404),
        params=(
            ALERT_ID,
            INCLUDE,
            Param("at", "query", _TIME, "ilertd: the alert as it was then, replayed"),
        ),
    ),
    _action("accept", accept_alert, "acceptAlert", "Accept"),
    _action("resolve", resolve_alert, "resolveAlert", "Resolve"),
    _action("raise", raise_alert, "raiseAlert", "Raise priority LOW to HIGH (ilertd)"),
    _action(
        "escalate",
        escalate_alert,
        "escalateAlert",
        "Page the next escalation level now (ilertd; the engine does it on timeout)",
    ),
    _action(
        "assign",
        assign_alert,
        "assignAlert",
        "Re-route to exactly one user, escalation policy or schedule",
        params=ASSIGN_PARAMS,
        body=AssignmentBody,
        body_optional=True,
        description="The target is named in the query (ilert-go sends user-id, policy-id or "
        'schedule-id) or in the body ({"user": {"id": n}}); the body wins.',
    ),
    Route(
        "POST",
        f"{ITEM}/comments",
        add_comment,
        "commentAlert",
        TAG,
        "Add a comment (ilertd)",
        {201: ONE},
        role=Role.RESPONDER,
        body=CommentRequest,
        problems=ACTION_PROBLEMS,
        params=(ALERT_ID,),
    ),
    Route(
        "GET",
        f"{ITEM}/log-entries",
        log_entries,
        "listAlertLogEntries",
        TAG,
        "The alert's timeline, oldest first",
        {200: Answer("Log entries", list[LogEntry])},
        problems=(404,),
        params=(ALERT_ID,),
    ),
    Route(
        "POST",
        f"{ITEM}/responders",
        add_responder,
        "addAlertResponder",
        TAG,
        "Add a responder",
        {201: ONE},
        role=Role.RESPONDER,
        body=ResponderRequest,
        problems=ACTION_PROBLEMS,
        params=(ALERT_ID,),
    ),
    Route(
        "DELETE",
        f"{ITEM}/responders/{{user_id}}",
        remove_responder,
        "removeAlertResponder",
        TAG,
        "Remove a responder",
        {204: Answer("Removed")},
        role=Role.RESPONDER,
        problems=(404, 409),
        params=(ALERT_ID, Param("user_id", "path", INT64, "the responder's user id")),
    ),
    Route(
        "POST",
        f"{ITEM}/channels",
        attach_channel,
        "attachAlertChannel",
        TAG,
        "Attach a chat channel (ilertd)",
        {201: ONE},
        role=Role.RESPONDER,
        body=ChannelRequest,
        problems=ACTION_PROBLEMS,
        params=(ALERT_ID,),
    ),
    Route(
        "DELETE",
        f"{ITEM}/channels/{{channel_id}}",
        detach_channel,
        "detachAlertChannel",
        TAG,
        "Detach a chat channel",
        {204: Answer("Detached")},
        role=Role.RESPONDER,
        problems=(404, 409),
        params=(ALERT_ID, Param("channel_id", "path", {"type": "string"}, "Channel.id")),
    ),
)

#: Routes on one alert answer 404 for an alert of a source the caller may not see.
ROUTES = alert_routes_of_visible_sources(_ROUTES)
