"""/api/incidents: declare (new shape and ilert's older one), list, get (``?at=``), change,
reopen, timeline, comments, linked alerts, responders (named by user, schedule, escalation
policy or team, resolved to users here: ``incidents.responders``; the engine pages them),
status updates; and ``POST /api/alerts/{id}/incident``, declaring from an alert.
Subscribers and the incident's notifications are in ``incident_paging``.

Any authenticated caller reads; RESPONDERs and above write; a responder may join by
themself. Every write waits until the projections applied it, so the answer is the
incident as the write left it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from projections.incident_people import TIMELINE_SQL
from projections.services import live_ids

from ..contract.common import ID_PARAM, IdRef
from ..contract.incidents import (
    FromAlertBody,
    IncidentChange,
    IncidentComment,
    IncidentResponderIn,
    NewIncidentBody,
    StatusUpdate,
    StatusUpdateBody,
    TimelineEntry,
)
from ..contract.incidents import Incident as IncidentAnswer
from ..domain.errors import DomainError, InvalidValueError
from ..domain.incident import (
    MAX_TITLE,
    PUBLIC_STATUSES,
    Impact,
    Incident,
    IncidentStatus,
    checked_severity,
)
from ..domain.text import checked_name
from ..domain.user import Role
from ..domain.wire_time import wire_time_or_none as iso
from ..incidents.commands import IncidentNotFoundError
from ..incidents.history import snapshot
from ..incidents.responders import Named, inside, resolve
from ..incidents.views import render, service_names, states_of, status_update_json, timeline_json
from .context import REQUEST_ID, SERVICES, runtime
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .team_access import ALERT_RESPONDER
from .writes import bad, domain_problem, parse_id

BASE = "/api/incidents"
ITEM = f"{BASE}/{{id}}"
TAG = "Incidents"
INCIDENT_ID = Param("id", "path", ID_PARAM, "the incident's id")
ONE = Answer("The incident", IncidentAnswer)
PROBLEMS = (400, 404, 409)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

Actor = dict[str, Any]


# -- reading ---------------------------------------------------------------------------


def _now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock.now()


def _path_int(request: web.Request, name: str, what: str) -> int:
    value = parse_id(request.match_info[name])
    if value is None:
        raise ProblemError(404, "NOT_FOUND", f"no such {what}")
    return value


def _incident_id(request: web.Request) -> int:
    return _path_int(request, "id", "incident")


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad(name, "not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise bad(name, "give a UTC offset")
    return value


async def _answer(request: web.Request, incident_id: int, status: int = 200) -> web.Response:
    pool = runtime(request).pool
    row = await pool.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no incident {incident_id}")
    [body] = await render(pool, await states_of(pool, [row]), _now(request))
    return json_response(body, status)


def _values(request: web.Request, *names: str) -> list[str]:
    return [
        part.strip()
        for name in names
        for raw in request.query.getall(name, [])
        for part in raw.split(",")
        if part.strip()
    ]


def _filters(request: web.Request) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    states = [s.upper() for s in _values(request, "states", "state", "status")]
    known = [s.value for s in IncidentStatus]
    for state in states:
        if state not in known:
            raise bad("states", f"{state[:40]!r} is not one of {', '.join(known)}")
    if states:
        args.append(states)
        clauses.append(f"i.status = ANY(${len(args)}::text[])")
    severities = []
    for raw in _values(request, "severity", "severities"):
        try:
            severities.append(checked_severity(int(raw) if raw.isdigit() else raw))
        except (InvalidValueError, ValueError):
            raise bad("severity", f"{raw[:40]!r} is not one of SEV1..SEV5") from None
    if severities:
        args.append(severities)
        clauses.append(f"i.severity = ANY(${len(args)}::int[])")
    services = []
    for raw in _values(request, "services", "service"):
        value = parse_id(raw)
        if value is None:
            raise bad("services", f"{raw[:40]!r} is not an id")
        services.append(value)
    if services:
        args.append(services)
        clauses.append(
            "EXISTS (SELECT 1 FROM incident_services s WHERE s.incident_id = i.id "
            f"AND s.service_id = ANY(${len(args)}::bigint[]))"
        )
    for name, op in (("from", ">="), ("until", "<")):
        value = _time(request, name)
        if value is not None:
            args.append(value)
            clauses.append(f"i.created_at {op} ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def list_incidents(request: web.Request, call: Call) -> web.Response:
    pool = runtime(request).pool
    where, args = _filters(request)
    start, size = page(request)
    rows = await pool.fetch(
        f"SELECT i.* FROM incidents i{where} ORDER BY i.id DESC "
        f"OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
        *args,
        start,
        size,
    )
    return json_response(await render(pool, await states_of(pool, rows), _now(request)))


async def get_incident(request: web.Request, call: Call) -> web.Response:
    incident_id = _incident_id(request)
    at = _time(request, "at")
    if at is None:
        return await _answer(request, incident_id)
    parts = runtime(request)
    try:
        state = await snapshot(parts.incident_commands, parts.repository, incident_id, at)
    except IncidentNotFoundError as exc:
        raise ProblemError(404, "NOT_FOUND", str(exc)) from None
    [body] = await render(parts.pool, [state], min(at, _now(request)))
    body["at"] = iso(at)
    body["version"] = state["version"]
    return json_response(body)


async def _require_incident(request: web.Request, incident_id: int) -> None:
    if not await runtime(request).pool.fetchval(
        "SELECT 1 FROM incidents WHERE id = $1", incident_id
    ):
        raise ProblemError(404, "NOT_FOUND", f"no incident {incident_id}")


async def timeline(request: web.Request, call: Call) -> web.Response:
    incident_id = _incident_id(request)
    at = _time(request, "at")
    await _require_incident(request, incident_id)
    rows = await runtime(request).pool.fetch(TIMELINE_SQL, incident_id, at)
    return json_response([timeline_json(r) for r in rows])


async def list_status_updates(request: web.Request, call: Call) -> web.Response:
    incident_id = _incident_id(request)
    await _require_incident(request, incident_id)
    pool = runtime(request).pool
    rows = await pool.fetch(
        "SELECT * FROM status_updates WHERE incident_id = $1 ORDER BY id", incident_id
    )
    return json_response(await _status_updates(request, rows))


async def _status_updates(request: web.Request, rows: list[Any]) -> list[dict[str, Any]]:
    ids = sorted({s["service_id"] for r in rows for s in orjson.loads(r["services"])})
    names = await service_names(runtime(request).pool, ids)
    return [status_update_json(r, names) for r in rows]


# -- checking references ---------------------------------------------------------------


def _ref(field: str, ref: IdRef) -> int:
    value = parse_id(ref.id) if isinstance(ref.id, str) else ref.id
    if value is None:
        raise bad(f"{field}.id", "not an id")
    return value


async def _impacts(request: web.Request, items: list[Any] | None) -> dict[int, str] | None:
    """``affectedServices`` as {service id: impact}; every service must exist."""
    if items is None:
        return None
    impacts: dict[int, str] = {}
    for index, item in enumerate(items):
        field = f"affectedServices[{index}].service"
        service_id = _ref(field, item.service)
        if service_id in impacts:
            raise bad(f"{field}.id", f"service {service_id} is listed twice")
        impacts[service_id] = Impact(item.impact).value
    if impacts:
        found = await _live_services(request, sorted(impacts))
        for index, service_id in enumerate(impacts):
            if service_id not in found:
                field = f"affectedServices[{index}].service.id"
                raise bad(field, f"no such service {service_id}")
    return impacts


async def _one_open_only(
    request: web.Request, impacts: dict[int, str] | None, incident_id: int | None = None
) -> None:
    """A service with ``oneOpenIncidentOnly`` is affected by one open incident at a time:
    409 naming the open one."""
    if not impacts:
        return
    row = await runtime(request).pool.fetchrow(
        "SELECT s.id AS service_id, i.reference FROM services s "
        "JOIN incident_services l ON l.service_id = s.id "
        "JOIN incidents i ON i.id = l.incident_id "
        "WHERE s.id = ANY($1::bigint[]) AND (s.settings->>'one_open_incident_only')::boolean "
        "AND i.status <> 'RESOLVED' AND i.id IS DISTINCT FROM $2 LIMIT 1",
        list(impacts),
        incident_id,
    )
    if row is not None:
        raise ProblemError(
            409,
            "CONFLICT",
            f"service {row['service_id']} allows one open incident only, and "
            f"{row['reference']} is open",
        )


async def _live_services(request: web.Request, ids: list[int]) -> set[int]:
    return await live_ids(runtime(request).pool, ids)


async def _user(request: web.Request, field: str, user_id: int) -> int:
    if await runtime(request).live_user(user_id) is None:
        raise bad(field, "no such user")
    return user_id


async def _named(request: web.Request, item: Any, field: str) -> Named:
    """The users a responder reference names (``incidents.responders``); 400 naming the
    part of ``field`` that is wrong."""
    given = [k for k in ("user", "schedule", "escalationPolicy", "team") if getattr(item, k)]
    ref = _ref(inside(field, given[0]), getattr(item, given[0])) if len(given) == 1 else 0
    if item.commander and given != ["user"]:
        raise bad(inside(field, "commander"), "name a user to make them commander")
    try:
        return await resolve(runtime(request).pool, item, ref, field, _now(request))
    except InvalidValueError as exc:
        raise domain_problem(exc) from None


async def _responders(
    request: web.Request, items: list[IncidentResponderIn] | None
) -> tuple[dict[int, Named], int | None]:
    """Each user to add, by what named them (the first reference that did)."""
    users: dict[int, Named] = {}
    commander = None
    for index, item in enumerate(items or ()):
        named = await _named(request, item, f"responders[{index}]")
        if named.via == "user":
            user_id = named.users[0]
            if user_id in users and users[user_id].via == "user":
                raise bad(f"responders[{index}].user.id", f"user {user_id} is listed twice")
            users[user_id] = named  # named by id: that is what named them
        for user_id in named.users:
            users.setdefault(user_id, named)
        if item.commander:
            if commander is not None:
                raise bad(f"responders[{index}].commander", "only one responder is commander")
            commander = named.users[0]
    return users, commander


async def _subscribers(request: web.Request, items: list[Any] | None) -> list[int]:
    users: list[int] = []
    for index, item in enumerate(items or ()):
        field = f"subscribers[{index}].user"
        user_id = await _user(request, f"{field}.id", _ref(field, item.user))
        if user_id in users:
            raise bad(f"{field}.id", f"user {user_id} is listed twice")
        users.append(user_id)
    return users


def _actor(request: web.Request, call: Call) -> tuple[Actor, dict[str, Any]]:
    user_id = call.caller["id"]
    return {"type": "user", "id": user_id}, {
        "actor": f"user:{user_id}",
        "request_id": request[REQUEST_ID],
    }


def _title_of(text: str) -> str:
    """An alert's summary as an incident title: one line, at most MAX_TITLE."""
    return _CONTROL.sub(" ", text).strip()[:MAX_TITLE].strip() or "Incident"


# -- writing ---------------------------------------------------------------------------


async def _declare(
    request: web.Request, call: Call, build: Callable[[int, Any, Actor], Incident]
) -> tuple[Incident, int]:
    """Declare what ``build`` makes; the incident and its id, once projected."""
    parts = runtime(request)
    actor, metadata = _actor(request, call)
    try:
        incident, incident_id, position = await parts.incident_commands.declare(
            lambda number, stream: build(number, stream, actor), metadata
        )
    except DomainError as exc:
        raise domain_problem(exc) from None
    await parts.runner.wait_for(position)
    return incident, incident_id


async def _alert_for_incident(request: web.Request, alert_id: int) -> Any:
    """The alert's aggregate and stream; 404 if there is none, 409 if it is linked."""
    parts = runtime(request)
    row = await parts.pool.fetchrow(
        "SELECT stream_id, linked_incident_id FROM alerts WHERE id = $1", alert_id
    )
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}")
    if row["linked_incident_id"] is not None:
        raise ProblemError(
            409, "CONFLICT", f"alert {alert_id} is linked to incident {row['linked_incident_id']}"
        )
    return await parts.repository.load(row["stream_id"])


async def create_incident(request: web.Request, call: Call) -> web.Response:
    """Declare; the older shape's ``message`` posts the first status update."""
    body = call.body
    if body.title is not None:
        title, summary = body.title, body.summary or ""
    elif body.summary is not None:  # ilert's older shape: the summary is the title
        try:  # and stays the summary, so older clients read back what they sent
            title, summary = checked_name(body.summary, "summary", MAX_TITLE), body.summary
        except InvalidValueError as exc:
            raise domain_problem(exc) from None
    else:
        raise bad("title", "is required (in ilert's older shape: summary)")
    impacts = await _impacts(request, body.affectedServices)
    await _one_open_only(request, impacts)
    responders, commander = await _responders(request, body.responders)
    subscribers = await _subscribers(request, body.subscribers)
    alert = None
    alert_id = None
    if body.alert is not None:
        alert_id = _ref("alert", body.alert)
        try:
            alert = await _alert_for_incident(request, alert_id)
        except ProblemError as exc:  # the alert is named in the body: a bad value
            raise bad("alert.id", exc.message) from None
        for user_id in alert.responders:
            responders.setdefault(user_id, Named("alert", alert_id, (user_id,)))

    def build(number: int, stream: Any, actor: Actor) -> Incident:
        incident = Incident.declare(
            number=number,
            title=title,
            summary=summary or "",
            severity=body.severity if body.severity is not None else 3,
            actor=actor,
            id=stream,
        )
        if alert is not None:
            incident.link_alert(alert_id, UUID(str(alert.id)), actor)
        for user_id, named in responders.items():
            incident.add_responder(user_id, actor, via=named.via, named=named.named)
        if commander is not None:
            incident.set_commander(commander, actor)
        for user_id in subscribers:
            incident.subscribe(user_id, actor)
        if impacts:
            incident.affect_services(impacts, actor)
        if body.status is not None and body.status != IncidentStatus.DECLARED:
            incident.set_status(body.status, actor)
        if body.message is not None:
            public = body.status if body.status in PUBLIC_STATUSES else "INVESTIGATING"
            incident.post_status_update(
                status=public,
                message=body.message if body.message.strip() else incident.title,
                actor=actor,
                services=impacts or {},
                send_notification=bool(body.sendNotification),
            )
        return incident

    incident, incident_id = await _declare(request, call, build)
    if not incident.is_open:
        await _cascade(request, incident_id, incident)
    return await _answer(request, incident_id, 200)


async def declare_from_alert(request: web.Request, call: Call) -> web.Response:
    """A new incident with the alert linked and its responders as the incident's."""
    alert_id = _path_int(request, "id", "alert")
    body: FromAlertBody | None = call.body
    alert = await _alert_for_incident(request, alert_id)

    def build(number: int, stream: Any, actor: Actor) -> Incident:
        incident = Incident.declare(
            number=number,
            title=body.title if body and body.title else _title_of(alert.summary),
            summary=(body.summary if body and body.summary else alert.details) or "",
            severity=body.severity if body and body.severity is not None else 3,
            actor=actor,
            id=stream,
        )
        incident.link_alert(alert_id, UUID(str(alert.id)), actor)
        for user_id in alert.responders:
            incident.add_responder(user_id, actor, via="alert", named=alert_id)
        return incident

    _, incident_id = await _declare(request, call, build)
    return await _answer(request, incident_id, 201)


async def _act(
    request: web.Request,
    call: Call,
    command: Callable[[Incident, Actor], Any],
    status: int = 200,
    *,
    cascade: bool = False,
) -> web.Response:
    """Run ``command`` on the incident of the path as the caller; ``cascade``: it may
    resolve, so linked open alerts are resolved after it."""
    parts = runtime(request)
    incident_id = _incident_id(request)
    actor, metadata = _actor(request, call)
    try:
        incident, position = await parts.incident_commands.act(
            incident_id, lambda incident: command(incident, actor), metadata
        )
    except IncidentNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no incident {incident_id}") from None
    except DomainError as exc:
        raise domain_problem(exc) from None
    if position is not None:
        await parts.runner.wait_for(position)
    if cascade and not incident.is_open:
        await _cascade(request, incident_id, incident)
    return await _answer(request, incident_id, status)


async def _cascade(request: web.Request, incident_id: int, incident: Any = None) -> None:
    """Resolve the linked alerts of a resolved incident (``IncidentCommands``)."""
    parts = runtime(request)
    if incident is None:
        incident = await parts.repository.load(await parts.incident_commands.stream_of(incident_id))
    position = await parts.incident_commands.resolve_linked(incident, incident_id)
    if position is not None:
        await parts.runner.wait_for(position)


async def replace_incident(request: web.Request, call: Call) -> web.Response:
    body: IncidentChange = call.body
    impacts = await _impacts(request, body.affectedServices)
    await _one_open_only(request, impacts, _incident_id(request))

    def command(incident: Incident, actor: Actor) -> None:
        incident.change(actor=actor, title=body.title, summary=body.summary, severity=body.severity)
        if impacts is not None:
            incident.affect_services(impacts, actor)
        if body.status is not None:
            incident.set_status(body.status, actor)
        message = (body.message or "").strip()
        if message and message != incident.last_message:  # the older shape's update
            public = incident.status if incident.status in PUBLIC_STATUSES else "INVESTIGATING"
            incident.post_status_update(
                status=public,
                message=message,
                actor=actor,
                send_notification=bool(body.sendNotification),
            )

    return await _act(request, call, command, cascade=True)


async def reopen_incident(request: web.Request, call: Call) -> web.Response:
    return await _act(request, call, lambda incident, actor: incident.reopen(actor))


async def comment_incident(request: web.Request, call: Call) -> web.Response:
    body: IncidentComment = call.body
    return await _act(
        request, call, lambda incident, actor: incident.comment(body.content, actor), 201
    )


async def link_alert(request: web.Request, call: Call) -> web.Response:
    alert_id = _path_int(request, "alert_id", "alert")
    alert = await _alert_for_incident(request, alert_id)
    return await _act(
        request,
        call,
        lambda incident, actor: incident.link_alert(alert_id, UUID(str(alert.id)), actor),
    )


async def unlink_alert(request: web.Request, call: Call) -> web.Response:
    alert_id = _path_int(request, "alert_id", "alert")
    await _act(request, call, lambda incident, actor: incident.unlink_alert(alert_id, actor))
    return web.Response(status=204)


async def add_responder(request: web.Request, call: Call) -> web.Response:
    body: Any = call.body
    named = await _named(request, body, "")

    def command(incident: Incident, actor: Actor) -> None:
        """A user named by a schedule, policy or team who responds already is left as
        they are; naming only such users (or a responder by id) is a conflict."""
        new = [u for u in named.users if named.via == "user" or u not in incident.responders]
        if not new:
            raise DomainError(f"everyone {named.via} {named.named} names is a responder already")
        for user_id in new:
            incident.add_responder(user_id, actor, via=named.via, named=named.named)
        if body.commander:
            incident.set_commander(new[0], actor)

    return await _act(request, call, command, 201)


async def remove_responder(request: web.Request, call: Call) -> web.Response:
    user_id = _path_int(request, "user_id", "responder")
    await _act(request, call, lambda incident, actor: incident.remove_responder(user_id, actor))
    return web.Response(status=204)


async def join_incident(request: web.Request, call: Call) -> web.Response:
    user_id = _path_int(request, "user_id", "responder")
    return await _act(request, call, lambda incident, actor: incident.join(user_id, actor))


async def post_status_update(request: web.Request, call: Call) -> web.Response:
    body: StatusUpdateBody = call.body
    impacts = await _impacts(request, body.affectedServices)
    parts = runtime(request)
    incident_id = _incident_id(request)
    actor, metadata = _actor(request, call)
    try:
        _, position = await parts.incident_commands.act(
            incident_id,
            lambda incident: incident.post_status_update(
                status=body.status,
                message=body.message,
                summary=body.summary,
                services=impacts,
                send_notification=body.sendNotification,
                actor=actor,
            ),
            metadata,
        )
    except IncidentNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no incident {incident_id}") from None
    except DomainError as exc:
        raise domain_problem(exc) from None
    assert position is not None
    await parts.runner.wait_for(position)
    row = await parts.pool.fetchrow("SELECT * FROM status_updates WHERE id = $1", position)
    [answer] = await _status_updates(request, [row])
    return json_response(answer, 201)


# -- the route table -------------------------------------------------------------------

_TIME = {"type": "string", "format": "date-time"}
_LIST = {"type": "array", "items": {"type": "string"}}
AT = Param("at", "query", _TIME, "ilertd: as it was then, replayed from its events")
USER_ID = Param("user_id", "path", ID_PARAM, "the responder's user id")
ALERT_ID = Param("alert_id", "path", ID_PARAM, "the alert's id")
_STATES = {"type": "array", "items": {"type": "string", "enum": [s.value for s in IncidentStatus]}}
_SEVERITIES = {
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string", "enum": [f"SEV{n}" for n in range(1, 6)]},
            {"type": "integer", "minimum": 1, "maximum": 5},
        ]
    },
}
FILTERS = (
    Param("states", "query", _STATES, "repeatable or comma-separated", explode=True),
    Param("state", "query", _STATES, "ilert-go's name of states", explode=True),
    Param("severity", "query", _SEVERITIES, "SEV1..SEV5 (or 1..5), repeatable", explode=True),
    Param(
        "services",
        "query",
        {"type": "array", "items": ID_PARAM},
        "affected service ids, repeatable",
        explode=True,
    ),
    Param("from", "query", _TIME, "createdAt at or after (give an offset)"),
    Param("until", "query", _TIME, "createdAt before (give an offset)"),
)


def _write(
    method: str, path: str, handler: Any, operation_id: str, summary: str, **extra: Any
) -> Route:
    answers = extra.pop("answers", {200: ONE})
    params = extra.pop("params", (INCIDENT_ID,))
    return Route(
        method,
        path,
        handler,
        operation_id,
        TAG,
        summary,
        answers,
        role=Role.RESPONDER,
        problems=PROBLEMS,
        params=params,
        **extra,
    )


ROUTES = (
    Route(
        "GET",
        BASE,
        list_incidents,
        "listIncidents",
        TAG,
        "List incidents, newest first",
        {200: Answer("Incidents", list[IncidentAnswer])},
        problems=(400,),
        params=(*FILTERS, *PAGING),
    ),
    _write(
        "POST",
        BASE,
        create_incident,
        "createIncident",
        "Declare an incident (new shape, or ilert's older one: a message posts the first "
        "status update); answers 200 as ilert-go expects",
        body=NewIncidentBody,
        params=(),
    ),
    Route(
        "GET",
        ITEM,
        get_incident,
        "getIncident",
        TAG,
        "One incident",
        {200: ONE},
        problems=(400, 404),
        params=(INCIDENT_ID, AT),
    ),
    _write(
        "PUT",
        ITEM,
        replace_incident,
        "replaceIncident",
        "Change title, summary, severity, status or affected services",
        body=IncidentChange,
    ),
    _write(
        "POST",
        f"{ITEM}/reopen",
        reopen_incident,
        "reopenIncident",
        "Reopen a resolved incident (back to INVESTIGATING)",
    ),
    Route(
        "GET",
        f"{ITEM}/timeline",
        timeline,
        "getIncidentTimeline",
        TAG,
        "The incident's timeline, oldest first",
        {200: Answer("Timeline entries", list[TimelineEntry])},
        problems=(400, 404),
        params=(INCIDENT_ID, Param("at", "query", _TIME, "only the entries up to then")),
    ),
    _write(
        "POST",
        f"{ITEM}/comments",
        comment_incident,
        "commentIncident",
        "Add a comment",
        body=IncidentComment,
        answers={201: ONE},
    ),
    _write(
        "POST",
        f"{ITEM}/alerts/{{alert_id}}",
        link_alert,
        "linkIncidentAlert",
        "Link an alert (one incident per alert)",
        params=(INCIDENT_ID, ALERT_ID),
    ),
    _write(
        "DELETE",
        f"{ITEM}/alerts/{{alert_id}}",
        unlink_alert,
        "unlinkIncidentAlert",
        "Unlink an alert",
        params=(INCIDENT_ID, ALERT_ID),
        answers={204: Answer("Unlinked")},
    ),
    _write(
        "POST",
        f"{ITEM}/responders",
        add_responder,
        "addIncidentResponder",
        "Add a responder (commander: true makes them the incident commander)",
        body=IncidentResponderIn,
        answers={201: ONE},
    ),
    _write(
        "DELETE",
        f"{ITEM}/responders/{{user_id}}",
        remove_responder,
        "removeIncidentResponder",
        "Remove a responder",
        params=(INCIDENT_ID, USER_ID),
        answers={204: Answer("Removed")},
    ),
    _write(
        "POST",
        f"{ITEM}/responders/{{user_id}}/join",
        join_incident,
        "joinIncident",
        "A responder joins (the responder themself, or a RESPONDER for them)",
        params=(INCIDENT_ID, USER_ID),
        self_param="user_id",
    ),
    _write(
        "POST",
        f"{ITEM}/status-updates",
        post_status_update,
        "postIncidentStatusUpdate",
        "Post a public status update (it does not resolve the incident)",
        body=StatusUpdateBody,
        answers={201: Answer("The status update", StatusUpdate)},
    ),
    Route(
        "GET",
        f"{ITEM}/status-updates",
        list_status_updates,
        "listIncidentStatusUpdates",
        TAG,
        "The incident's status updates, oldest first",
        {200: Answer("Status updates", list[StatusUpdate])},
        problems=(404,),
        params=(INCIDENT_ID,),
    ),
    Route(
        "POST",
        "/api/alerts/{id}/incident",
        declare_from_alert,
        "declareIncidentFromAlert",
        TAG,
        "Declare an incident from an alert: linked, its responders join as responders",
        {201: ONE},
        role=Role.RESPONDER,
        authorize=ALERT_RESPONDER,
        body=FromAlertBody,
        body_optional=True,
        problems=PROBLEMS,
        params=(Param("id", "path", ID_PARAM, "the alert's id"),),
    ),
)
