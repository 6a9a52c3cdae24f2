"""/api/alerts: list, count, get, manual create, accept, resolve, comments, log entries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
import orjson
from aiohttp import web

from ..alert_commands import AlertNotFoundError, NewAlert
from ..alert_views import alert_json, decoded_row, iso, responders_of, snapshot_view
from ..contract.alerts import AlertAssignment
from ..contract.common import IdRef
from ..domain.alert import Alert
from ..domain.errors import DomainError
from ..domain.user import Role
from .authz import require_role
from .body import int64, read_json
from .context import REQUEST_ID, SERVICES, USER
from .paging import page
from .problems import ProblemError, json_response
from .routes import decode
from .writes import parse_id

STATES = ("PENDING", "ACCEPTED", "RESOLVED")

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


def _filters(request: web.Request) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
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
    responders = _ints(request, "responders", "assigned-to")
    if responders:
        args.append(responders)
        clauses.append(
            "EXISTS (SELECT 1 FROM alert_responders r WHERE r.alert_id = a.id "
            f"AND r.user_id = ANY(${len(args)}::bigint[]))"
        )
    for name, op in (("from", ">="), ("until", "<")):
        value = _time(request, name)
        if value is not None:
            args.append(value)
            clauses.append(f"a.report_time {op} ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def list_alerts(request: web.Request) -> web.Response:
    pool = request.app[SERVICES].require_database()
    where, args = _filters(request)
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


async def count_alerts(request: web.Request) -> web.Response:
    pool = request.app[SERVICES].require_database()
    where, args = _filters(request)
    count = await pool.fetchval(f"SELECT count(*) FROM alerts a{where}", *args)
    return json_response({"count": count})


def _alert_id(request: web.Request) -> int:
    value = int64(request.match_info["id"])
    if value is None:
        raise ProblemError(404, "NOT_FOUND", "no such alert")
    return value


async def _answer(request: web.Request, alert_id: int, status: int = 200) -> web.Response:
    pool = request.app[SERVICES].require_database()
    row = await pool.fetchrow(f"{_SELECT} WHERE a.id = $1", alert_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}")
    responders = await responders_of(pool, [alert_id])
    body = alert_json(decoded_row(row), responders.get(alert_id, []), _include(request))
    return json_response(body, status)


async def get_alert(request: web.Request) -> web.Response:
    alert_id = _alert_id(request)
    at = _time(request, "at")
    if at is None:
        return await _answer(request, alert_id)
    return await _answer_at(request, alert_id, at)


async def _answer_at(request: web.Request, alert_id: int, at: datetime) -> web.Response:
    """The alert as it was at ``at``, replayed from its events (not the projection)."""
    services = request.app[SERVICES]
    pool = services.require_database()
    try:
        snap = await services.alert_commands.snapshot(alert_id, at)
    except AlertNotFoundError as exc:
        raise ProblemError(404, "NOT_FOUND", str(exc)) from None
    body = await snapshot_view(pool, snap, _include(request))
    body["at"] = iso(at)
    body["version"] = snap.version
    return json_response(body)


def _actor(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    user = request[USER]
    metadata: dict[str, Any] = {"actor": f"user:{user['id']}"}
    metadata["request_id"] = request[REQUEST_ID]
    return {"type": "user", "id": user["id"]}, metadata


async def _act(request: web.Request, command) -> web.Response:
    require_role(request, Role.RESPONDER)
    services = request.app[SERVICES]
    services.require_database()
    alert_id = _alert_id(request)
    actor, metadata = _actor(request)
    try:
        _, position = await services.alert_commands.act(
            alert_id, lambda alert: command(alert, actor, request[USER]["id"]), metadata
        )
    except AlertNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}") from None
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    if position is not None:
        await services.runner.wait_for(position)
    return await _answer(request, alert_id)


async def accept_alert(request: web.Request) -> web.Response:
    return await _act(request, lambda alert, actor, uid: alert.accept(actor, user_id=uid))


async def resolve_alert(request: web.Request) -> web.Response:
    return await _act(request, lambda alert, actor, uid: alert.resolve(actor))


async def add_comment(request: web.Request) -> web.Response:
    body = await read_json(request)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise ProblemError(
            400, "BAD_REQUEST", "content: a non-empty string is required", field="content"
        )
    if len(content) > 10_000:
        raise ProblemError(400, "BAD_REQUEST", "content: at most 10000 characters", field="content")

    def comment(alert: Alert, actor: dict, uid: int) -> None:
        alert.comment(content, actor)

    response = await _act(request, comment)
    response.set_status(201)
    return response


async def log_entries(request: web.Request) -> web.Response:
    pool = request.app[SERVICES].require_database()
    alert_id = _alert_id(request)
    if not await pool.fetchval("SELECT 1 FROM alerts WHERE id = $1", alert_id):
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}")
    rows = await pool.fetch(
        "SELECT * FROM alert_log_entries WHERE alert_id = $1 ORDER BY id", alert_id
    )
    return json_response(
        [
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
    )


async def create_alert(request: web.Request) -> web.Response:
    require_role(request, Role.RESPONDER)
    services = request.app[SERVICES]
    services.require_database()
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "body: a JSON object is required", field="body")
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary.strip() or len(summary) > 1024:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            "summary: a non-empty string of at most 1024 characters is required",
            field="summary",
        )
    details = body.get("details", "")
    if not isinstance(details, str) or len(details) > 100_000:
        raise ProblemError(
            400, "BAD_REQUEST", "details: a string of at most 100000 characters", field="details"
        )
    source_ref = body.get("alertSource")
    source_id = source_ref.get("id") if isinstance(source_ref, dict) else None
    if not isinstance(source_id, int) or isinstance(source_id, bool):
        raise ProblemError(
            400,
            "BAD_REQUEST",
            "alertSource.id: an alert source id is required",
            field="alertSource.id",
        )
    source = await services.source_with_id(source_id)
    if source is None:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            f"alertSource.id: no alert source {source_id}",
            field="alertSource.id",
        )
    priority = body.get("priority")
    if priority is not None and priority not in ("HIGH", "LOW"):
        raise ProblemError(400, "BAD_REQUEST", "priority: HIGH or LOW", field="priority")
    responders: list[int] = []
    for index, item in enumerate(body.get("responders") or []):
        user = item.get("user") if isinstance(item, dict) else None
        field = f"responders[{index}].user.id"
        uid = user.get("id") if isinstance(user, dict) else None
        responders.append(await _require_user(request, uid, field))
    actor, metadata = _actor(request)
    _, position = await services.alert_commands.create(
        source,
        NewAlert(
            summary=summary.strip(),
            details=details,
            priority=priority,
            responders=tuple(responders),
        ),
        actor,
        metadata,
    )
    await services.runner.wait_for(position)
    return await _answer(request, position, status=201)


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


async def _require_user(request: web.Request, user_id: object, field: str) -> int:
    if (
        not isinstance(user_id, int)
        or isinstance(user_id, bool)
        or int64(str(user_id)) is None
        or await request.app[SERVICES].live_user(user_id) is None
    ):
        raise ProblemError(400, "BAD_REQUEST", f"{field}: no such user", field=field)
    return user_id


_ASSIGNMENT = msgspec.json.Decoder(AlertAssignment)


def _ref_id(field: str, ref: IdRef) -> int:
    ident = parse_id(ref.id) if isinstance(ref.id, str) else ref.id
    if ident is None:
        raise ProblemError(400, "BAD_REQUEST", f"{field}.id: not an id", field=f"{field}.id")
    return ident


async def assign_alert(request: web.Request) -> web.Response:
    """Re-route to one user, escalation policy or schedule (current and legacy names), named
    in the query or, as ``{"user": {"id": n}}``, in the body."""
    user_id = _query_id(request, "user", "user-id")
    policy_id = _query_id(request, "policy", "policy-id")
    schedule_id = _query_id(request, "schedule", "schedule-id")
    raw = await request.read()
    if raw.strip():
        body = decode(raw, _ASSIGNMENT, AlertAssignment)
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
    services = request.app[SERVICES]
    start = None
    if policy_id is not None:
        policy = await services.alert_commands.policy(policy_id)
        if policy is None:
            raise ProblemError(
                400, "BAD_REQUEST", "policy: no such escalation policy", field="policy"
            )
        start = services.clock.now()  # a new policy starts again at its level 0, now
    return await _act(
        request,
        lambda alert, actor, uid: alert.reroute(
            actor,
            user_id=user_id,
            policy_id=policy_id,
            schedule_id=schedule_id,
            next_escalation_at=start,
        ),
    )


async def escalate_alert(request: web.Request) -> web.Response:
    """Page the next escalation level now, as the engine would on timeout."""
    require_role(request, Role.RESPONDER)
    services = request.app[SERVICES]
    services.require_database()
    alert_id = _alert_id(request)
    actor, _ = _actor(request)
    try:
        stream = await services.alert_commands.stream_of(alert_id)
        await services.alert_commands.escalate(stream, by=actor)
    except AlertNotFoundError:
        raise ProblemError(404, "NOT_FOUND", f"no alert {alert_id}") from None
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    await services.runner.wait_for(await services.store.head_position())
    return await _answer(request, alert_id)


async def add_responder(request: web.Request) -> web.Response:
    body = await read_json(request)
    user = body.get("user") if isinstance(body, dict) else None
    user_id = await _require_user(
        request, user.get("id") if isinstance(user, dict) else None, "user.id"
    )
    response = await _act(request, lambda alert, actor, uid: alert.add_responder(user_id, actor))
    response.set_status(201)
    return response


async def remove_responder(request: web.Request) -> web.Response:
    user_id = int64(request.match_info["user_id"])
    if user_id is None:
        raise ProblemError(404, "NOT_FOUND", "no such responder")
    await _act(request, lambda alert, actor, uid: alert.remove_responder(user_id, actor))
    return web.Response(status=204)


async def raise_alert(request: web.Request) -> web.Response:
    return await _act(request, lambda alert, actor, uid: alert.raise_priority(actor))


CHANNEL_FIELDS = {"type": 64, "name": 255, "url": 2048}


async def attach_channel(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "body: a JSON object is required", field="body")
    values: dict[str, str] = {}
    for name, limit in CHANNEL_FIELDS.items():
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ProblemError(
                400,
                "BAD_REQUEST",
                f"{name}: a non-empty string of at most {limit} characters",
                field=name,
            )
        values[name] = value.strip()
    if not values["url"].startswith(("https://", "http://")):
        raise ProblemError(400, "BAD_REQUEST", "url: must be an http(s) URL", field="url")
    channel_id = uuid.uuid4().hex[:12]
    response = await _act(
        request,
        lambda alert, actor, uid: alert.attach_channel(
            channel_id, values["type"].upper(), values["name"], values["url"], actor
        ),
    )
    response.set_status(201)
    return response


async def detach_channel(request: web.Request) -> web.Response:
    channel_id = request.match_info["channel_id"]
    await _act(request, lambda alert, actor, uid: alert.detach_channel(channel_id, actor))
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/alerts", list_alerts)
    app.router.add_post("/api/alerts", create_alert)
    app.router.add_get("/api/alerts/count", count_alerts)
    app.router.add_get("/api/alerts/{id}", get_alert)
    app.router.add_put("/api/alerts/{id}/accept", accept_alert)
    app.router.add_put("/api/alerts/{id}/resolve", resolve_alert)
    app.router.add_post("/api/alerts/{id}/comments", add_comment)
    app.router.add_get("/api/alerts/{id}/log-entries", log_entries)
    app.router.add_put("/api/alerts/{id}/assign", assign_alert)
    app.router.add_post("/api/alerts/{id}/responders", add_responder)
    app.router.add_delete("/api/alerts/{id}/responders/{user_id}", remove_responder)
    app.router.add_put("/api/alerts/{id}/raise", raise_alert)
    app.router.add_put("/api/alerts/{id}/escalate", escalate_alert)
    app.router.add_post("/api/alerts/{id}/channels", attach_channel)
    app.router.add_delete("/api/alerts/{id}/channels/{channel_id}", detach_channel)
