"""/api/schedules (CRUD, shifts, overrides, user-on-call, iCal feed) and /api/on-calls.

Any authenticated user reads; only ADMINs write. Every write waits until the projections
have applied it. Validation (the domain's, the on-call model's, and that every user exists)
happens before anything is appended: a 4xx writes nothing. Shifts are computed by
``ilertd.oncall`` from the read model at request time, with the services' clock for "now".

``GET /api/on-calls`` selects schedules by ``schedules`` and by ``policies`` (each live
policy expands to the schedules its rules name, via ``projections.escalation_policies``);
with neither, every live schedule. ``users`` then keeps only those users' entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from projections.escalation_policies import policy_by_id, policy_rules
from projections.schedules import (
    list_schedules,
    oncall_schedule,
    schedule_by_id,
    schedule_overrides,
    schedule_spec,
    schedules_by_ids,
)

from .. import oncall
from ..domain.errors import DomainError, InvalidValueError
from ..domain.schedule import Schedule, iso, parse_instant, user_fields
from ..domain.user import Role
from ..security import feed_token
from .authz import caller, require_role
from .body import base_url, read_json
from .context import SERVICES, USER
from .ical import CalendarEvent, render_calendar
from .paging import page
from .problems import ProblemError, json_response
from .writes import bad, domain_problem, load_live, parse_id, pool, save

DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=400)
ICAL_PAST = timedelta(days=7)
ICAL_FUTURE = timedelta(days=90)
#: currentShift/nextShift look this far around now, widening until the shifts are whole.
HORIZONS = (timedelta(days=7), timedelta(days=35), timedelta(days=400))
MAX_ID_PARAMS = 100
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_NOT_FOUND = "no such schedule"


def _now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock.now()


def _settings(body: Any) -> dict[str, Any]:
    """Domain settings from a request body; ``type`` defaults to RECURRING unless only
    ``shifts`` are given. Unknown fields (``id``, ``currentShift``...) are ignored."""
    if not isinstance(body, dict):
        raise bad("body", "must be a JSON object")
    kind = body.get("type")
    if kind is None:
        kind = "STATIC" if body.get("shifts") and not body.get("scheduleLayers") else "RECURRING"
    return {
        "name": body.get("name"),
        "timezone": body.get("timezone"),
        "schedule_type": kind,
        "schedule_layers": body.get("scheduleLayers"),
        "shifts": body.get("shifts"),
        "teams": body.get("teams"),
    }


async def _find(request: web.Request) -> asyncpg.Record:
    ident = request.match_info["id"]
    schedule_id = parse_id(ident)
    row = await schedule_by_id(pool(request), schedule_id) if schedule_id is not None else None
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def _check_users(request: web.Request, references: Iterable[tuple[str, int]]) -> None:
    """400 naming the first field that references no live user."""
    references = list(references)
    if not references:
        return
    rows = await pool(request).fetch(
        "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL",
        sorted({user for _, user in references}),
    )
    known = {row["id"] for row in rows}
    for field, user in references:
        if user not in known:
            raise bad(field, f"no such user {user}")


async def _reread(request: web.Request, schedule_id: int) -> asyncpg.Record:
    row = await schedule_by_id(pool(request), schedule_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


# --- presentation ---------------------------------------------------------------------------


async def _users(request: web.Request, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{id, firstName, lastName, username}`` per id; deleted users still have names."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await pool(request).fetch(
        "SELECT id, first_name, last_name, username FROM users WHERE id = ANY($1::bigint[])",
        wanted,
    )
    return {
        row["id"]: {
            "id": row["id"],
            "firstName": row["first_name"],
            "lastName": row["last_name"],
            "username": row["username"],
        }
        for row in rows
    }


def _user(users: dict[int, dict[str, Any]], user_id: int) -> dict[str, Any]:
    return users.get(user_id, {"id": user_id})


def _shift_json(shift: oncall.Shift, users: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {"user": _user(users, shift.user_id), "start": iso(shift.start), "end": iso(shift.end)}


def _stored_shift_json(shift: dict[str, Any], users: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {"user": _user(users, shift["user"]), "start": shift["start"], "end": shift["end"]}


def current_and_next(
    schedule: oncall.Schedule, now: datetime
) -> tuple[oncall.Shift | None, oncall.Shift | None]:
    """The shift covering now and the one after it, as whole as the horizons allow."""
    current = following = None
    for horizon in HORIZONS:
        low, high = now - horizon, now + horizon
        found = oncall.shifts(schedule, low, high)
        current = next((s for s in found if s.covers(now)), None)
        following = next((s for s in found if s.start > now), None)
        whole = current is None or (current.start > low and current.end < high)
        if whole and following is not None and following.end < high:
            break
    return current, following


def _row_users(row: asyncpg.Record) -> set[int]:
    spec = schedule_spec(row)
    return {user for _, user in user_fields(spec, schedule_overrides(row))}


def _schedule_json(
    row: asyncpg.Record, users: dict[int, dict[str, Any]], now: datetime
) -> dict[str, Any]:
    spec = schedule_spec(row)
    current, following = current_and_next(oncall_schedule(row), now)
    body: dict[str, Any] = {
        "id": row["id"],
        "name": spec["name"],
        "timezone": spec["timezone"],
        "type": spec["schedule_type"],
        "scheduleLayers": [
            {**layer, "users": [_user(users, user) for user in layer["users"]]}
            for layer in spec["layers"]
        ],
        "shifts": [_stored_shift_json(shift, users) for shift in spec["shifts"]],
        "teams": [{"id": team} for team in spec["teams"]],
        "currentShift": None if current is None else _shift_json(current, users),
        "nextShift": None if following is None else _shift_json(following, users),
    }
    return body


async def _present(request: web.Request, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    now = _now(request)
    ids: set[int] = set()
    for row in rows:
        ids |= _row_users(row)
    users = await _users(request, ids)
    secret = request.app[SERVICES].feed_secret
    bodies = []
    for row in rows:
        body = _schedule_json(row, users, now)
        token = feed_token(secret, row["id"])
        body["icalUrl"] = f"{base_url(request)}/api/schedules/{row['id']}/ical?token={token}"
        bodies.append(body)
    return bodies


# --- query parameters -----------------------------------------------------------------------


def _instant_param(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_instant(name, raw)
    except InvalidValueError as exc:
        raise bad(name, str(exc).partition(": ")[2]) from None


def _window(request: web.Request, default: timedelta = DEFAULT_WINDOW) -> tuple[datetime, datetime]:
    """``from`` (default now) and ``until`` (default from + 7 days), at most 400 days apart."""
    start = _instant_param(request, "from") or _now(request)
    end = _instant_param(request, "until") or start + default
    if end < start:
        raise bad("until", "must not be before from")
    if end - start > MAX_WINDOW:
        raise bad("until", f"the window may span at most {MAX_WINDOW.days} days")
    return start, end


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None or raw.strip().lower() in _TRUE or raw == "":
        return raw is not None
    if raw.strip().lower() in _FALSE:
        return False
    raise bad(name, "must be true or false")


def _ids(request: web.Request, name: str) -> list[int] | None:
    """A repeatable or comma-separated list of ids; None when the parameter is absent."""
    values = request.query.getall(name, [])
    if not values:
        return None
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            value = parse_id(part)
            if value is None:
                raise bad(name, f"must be integer ids, got {part[:20]!r}")
            ids.append(value)
    if len(ids) > MAX_ID_PARAMS:
        raise bad(name, f"at most {MAX_ID_PARAMS} ids")
    return ids


# --- handlers -------------------------------------------------------------------------------


async def list_schedules_handler(request: web.Request) -> web.Response:
    start, limit = page(request)
    rows = await list_schedules(pool(request), start, limit)
    return json_response(await _present(request, rows))


async def create_schedule(request: web.Request) -> web.Response:
    actor = require_role(request, Role.ADMIN)
    settings = _settings(await read_json(request))
    try:
        schedule = Schedule.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_users(request, user_fields(schedule.spec, []))
    schedule_id = await save(request, actor, schedule)
    assert schedule_id is not None  # a new aggregate always has its Created event
    rows = [await _reread(request, schedule_id)]
    return json_response((await _present(request, rows))[0], status=201)


async def get_schedule(request: web.Request) -> web.Response:
    return json_response((await _present(request, [await _find(request)]))[0])


async def replace_schedule(request: web.Request) -> web.Response:
    actor = require_role(request, Role.ADMIN)
    row = await _find(request)
    settings = _settings(await read_json(request))
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _check_users(request, user_fields(schedule.spec, []))
    await save(request, actor, schedule)
    rows = [await _reread(request, row["id"])]
    return json_response((await _present(request, rows))[0])


async def delete_schedule(request: web.Request) -> web.Response:
    actor = require_role(request, Role.ADMIN)
    schedule: Schedule = await load_live(request, await _find(request), _NOT_FOUND)
    try:
        schedule.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, actor, schedule)
    return web.Response(status=204)


async def get_shifts(request: web.Request) -> web.Response:
    caller(request)
    row = await _find(request)
    start, end = _window(request)
    include_overrides = not _flag(request, "exclude-overrides")
    found = oncall.shifts(oncall_schedule(row), start, end, include_overrides=include_overrides)
    users = await _users(request, (shift.user_id for shift in found))
    return json_response([_shift_json(shift, users) for shift in found])


async def list_overrides(request: web.Request) -> web.Response:
    caller(request)
    overrides = schedule_overrides(await _find(request))
    users = await _users(request, (shift["user"] for shift in overrides))
    return json_response([_stored_shift_json(shift, users) for shift in overrides])


async def add_override(request: web.Request) -> web.Response:
    actor = require_role(request, Role.ADMIN)
    row = await _find(request)
    body = await read_json(request)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.add_override(body)
    except DomainError as exc:
        raise domain_problem(exc) from None
    added = schedule.overrides[-1]
    await _check_users(request, [("override.user", added["user"])])
    await save(request, actor, schedule)
    users = await _users(request, [added["user"]])
    return json_response(_stored_shift_json(added, users), status=201)


async def replace_overrides(request: web.Request) -> web.Response:
    actor = require_role(request, Role.ADMIN)
    row = await _find(request)
    body = await read_json(request)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.replace_overrides(body)
    except DomainError as exc:
        raise domain_problem(exc) from None
    references = [(f"overrides[{i}].user", s["user"]) for i, s in enumerate(schedule.overrides)]
    await _check_users(request, references)
    await save(request, actor, schedule)
    users = await _users(request, (shift["user"] for shift in schedule.overrides))
    return json_response([_stored_shift_json(shift, users) for shift in schedule.overrides])


async def user_on_call(request: web.Request) -> web.Response:
    caller(request)
    current, _ = current_and_next(oncall_schedule(await _find(request)), _now(request))
    if current is None:
        return web.Response(status=204)
    users = await _users(request, [current.user_id])
    return json_response(_shift_json(current, users))


async def get_ical(request: web.Request) -> web.Response:
    """The feed for calendar apps: with a Bearer key, or ``?token=`` (see ``icalUrl``)."""
    if USER in request:
        caller(request)
    row = await _find(request)
    now = _now(request)
    found = oncall.shifts(oncall_schedule(row), now - ICAL_PAST, now + ICAL_FUTURE)
    users = await _users(request, (shift.user_id for shift in found))
    events = []
    for shift in found:
        user = _user(users, shift.user_id)
        who = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p) or (
            user.get("username") or f"user {shift.user_id}"
        )
        events.append(
            CalendarEvent(
                uid=f"schedule-{row['id']}-user-{shift.user_id}-{iso(shift.start)}@ilertd",
                start=shift.start,
                end=shift.end,
                summary=f"On call: {who}",
                description=f"{row['name']}: {who} is on call",
            )
        )
    text = render_calendar(row["name"], events, stamp=now, timezone=row["timezone"])
    return web.Response(
        body=text.encode(),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="schedule-{row["id"]}.ics"'},
    )


async def on_calls(request: web.Request) -> web.Response:
    """Who is on call, per schedule: ``{user, schedule: {id, name}, start, end}``.

    With ``from`` or ``until`` the shifts over that window (clipped to it); without either,
    the shift covering now, whole. ``policies`` adds the schedules their rules name.
    """
    caller(request)
    policy_ids = _ids(request, "policies")
    schedule_ids = _ids(request, "schedules")
    user_ids = _ids(request, "users")
    database = pool(request)
    if policy_ids is not None:
        schedule_ids = list(schedule_ids or [])
        for policy_id in policy_ids:
            policy = await policy_by_id(database, policy_id)
            if policy is not None:
                schedule_ids += [s for rule in policy_rules(policy) for s in rule["schedules"]]
    if schedule_ids is None:
        rows = await list_schedules(database, 0, None)
    else:
        rows = await schedules_by_ids(database, schedule_ids)
    windowed = "from" in request.query or "until" in request.query
    start, end = _window(request) if windowed else (_now(request), _now(request))
    entries: list[tuple[asyncpg.Record, oncall.Shift]] = []
    for row in rows:
        schedule = oncall_schedule(row)
        if windowed:
            found = oncall.shifts(schedule, start, end)
        else:
            current, _ = current_and_next(schedule, start)
            found = [] if current is None else [current]
        entries += [(row, shift) for shift in found]
    if user_ids is not None:
        entries = [(row, shift) for row, shift in entries if shift.user_id in set(user_ids)]
    entries.sort(key=lambda entry: (entry[1].start, entry[0]["id"]))
    users = await _users(request, (shift.user_id for _, shift in entries))
    return json_response(
        [
            {
                **_shift_json(shift, users),
                "schedule": {"id": row["id"], "name": row["name"]},
            }
            for row, shift in entries
        ]
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/schedules", list_schedules_handler)
    app.router.add_post("/api/schedules", create_schedule)
    app.router.add_get("/api/schedules/{id}", get_schedule)
    app.router.add_put("/api/schedules/{id}", replace_schedule)
    app.router.add_delete("/api/schedules/{id}", delete_schedule)
    app.router.add_get("/api/schedules/{id}/shifts", get_shifts)
    app.router.add_get("/api/schedules/{id}/overrides", list_overrides)
    app.router.add_post("/api/schedules/{id}/overrides", add_override)
    app.router.add_put("/api/schedules/{id}/overrides", replace_overrides)
    app.router.add_get("/api/schedules/{id}/user-on-call", user_on_call)
    app.router.add_get("/api/schedules/{id}/ical", get_ical)
    app.router.add_get("/api/on-calls", on_calls)
