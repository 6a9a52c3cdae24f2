"""/api/schedules (CRUD, shifts, overrides, user-on-call, iCal feed) and /api/on-calls.

Any authenticated user reads (a schedule whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of the schedule's teams, write. Every
write waits until the projections
have applied it. Validation (the domain's, the on-call model's, and that every user exists)
happens before anything is appended: a 4xx writes nothing. Shifts are computed by
``ilertd.oncall`` from the read model at request time, with the services' clock for "now".

``GET /api/on-calls`` selects schedules by ``schedules`` and by ``policies`` (each live
policy expands to the schedules its rules name, via ``projections.escalation_policies``);
with neither, every live schedule. ``users`` then keeps only those users' entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from aiohttp import web

from projections.escalation_policies import policy_by_id, policy_rules
from projections.schedules import (
    list_schedules,
    oncall_schedule,
    schedule_by_id,
    schedule_by_name,
    schedule_overrides,
    schedule_spec,
    schedules_by_ids,
)
from projections.team_scope import names_for, teams_json, visible

from .. import oncall
from ..contract.common import ID_PARAM, spaces
from ..contract.schedules import OnCall, ScheduleInput, Shift
from ..contract.schedules import Schedule as ScheduleBody
from ..domain.errors import DomainError, InvalidValueError
from ..domain.schedule import Schedule, first_gap, iso, parse_instant, user_fields
from ..domain.user import Role
from ..security import feed_token
from .body import base_url
from .context import SERVICES, runtime
from .field_access import shown, viewer_of
from .ical import CalendarEvent, render_calendar
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
)
from .team_access import viewer as team_viewer
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
BASE = "/api/schedules"
#: the optional fields ``?include=`` names (ilert's, as the Terraform provider asks for them)
INCLUDES = frozenset({"scheduleLayers", "shifts", "currentShift", "nextShift"})


def _now(request: web.Request) -> datetime:
    return request.app[SERVICES].clock.now()


def _settings(body: ScheduleBody, teams: Sequence[int] = ()) -> dict[str, Any]:
    """Domain settings from a decoded body; ``type`` defaults to RECURRING unless only
    ``shifts`` are given, absent ``teams`` keep ``teams`` (the current ones). Read-only
    fields (``id``, ``currentShift``...) are ignored."""
    raw = msgspec.to_builtins(body)
    kind = raw.get("type")
    if kind is None:
        kind = "STATIC" if raw.get("shifts") and not raw.get("scheduleLayers") else "RECURRING"
    return {
        "name": raw.get("name"),
        "timezone": raw.get("timezone"),
        "schedule_type": kind,
        "schedule_layers": raw.get("scheduleLayers"),
        "shifts": raw.get("shifts"),
        "teams": kept(sent_teams(body.teams), teams),
        "show_gaps": raw.get("showGaps"),
        "default_shift_duration": raw.get("defaultShiftDuration"),
    }


def _refuse_gaps(request: web.Request, spec: dict[str, Any]) -> None:
    """``?abort-on-gaps=true``: a 400 naming the first span nobody covers."""
    if not _flag(request, "abort-on-gaps"):
        return
    gap = first_gap(spec)
    if gap is not None:
        field = "shifts" if spec["schedule_type"] == "STATIC" else "scheduleLayers"
        raise bad(
            field,
            f"nobody is on call from {iso(gap[0])} to {iso(gap[1])} (abort-on-gaps=true)",
        )


async def _row(request: web.Request) -> asyncpg.Record | None:
    schedule_id = parse_id(request.match_info["id"])
    return await schedule_by_id(pool(request), schedule_id) if schedule_id is not None else None


async def _find(request: web.Request, user: Any) -> asyncpg.Record:
    """The schedule of the path's ``{id}``, when ``user`` may see it (None: the feed
    token's holder, who may); else 404."""
    row = await _row(request)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    if user is not None:
        await require_visible(request, user, schedule_spec(row)["teams"], _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    row = await _row(request)
    return None if row is None else schedule_spec(row)["teams"]


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
    row: asyncpg.Record,
    users: dict[int, dict[str, Any]],
    now: datetime,
    teams: dict[int, str],
    include: frozenset[str] = INCLUDES,
) -> dict[str, Any]:
    spec = schedule_spec(row)
    body: dict[str, Any] = {
        "id": row["id"],
        "name": spec["name"],
        "timezone": spec["timezone"],
        "type": spec["schedule_type"],
        "showGaps": spec["show_gaps"],
        "defaultShiftDuration": spec["default_shift_duration"],
        "teams": teams_json(spec["teams"], teams),
    }
    if "scheduleLayers" in include:
        body["scheduleLayers"] = [
            {**layer, "users": [_user(users, user) for user in layer["users"]]}
            for layer in spec["layers"]
        ]
    if "shifts" in include:
        body["shifts"] = [_stored_shift_json(shift, users) for shift in spec["shifts"]]
    if include & {"currentShift", "nextShift"}:
        current, following = current_and_next(oncall_schedule(row), now)
        if "currentShift" in include:
            body["currentShift"] = None if current is None else _shift_json(current, users)
        if "nextShift" in include:
            body["nextShift"] = None if following is None else _shift_json(following, users)
    return body


async def _present(
    request: web.Request,
    call: Call,
    rows: list[asyncpg.Record],
    include: frozenset[str] = INCLUDES,
) -> list[dict[str, Any]]:
    """The schedules as the caller may read them (the feed token: ``field_access``)."""
    now = _now(request)
    ids: set[int] = set()
    for row in rows:
        ids |= _row_users(row)
    users = await _users(request, ids)
    teams = await names_for(pool(request), (schedule_spec(row)["teams"] for row in rows))
    secret = runtime(request).feed_secret
    viewer = await viewer_of(request, call.caller)
    bodies = []
    for row in rows:
        body = _schedule_json(row, users, now, teams, include)
        token = feed_token(secret, row["id"])
        body["icalUrl"] = f"{base_url(request)}/api/schedules/{row['id']}/ical?token={token}"
        bodies.append(shown(ScheduleBody, body, viewer))
    return bodies


def _include(request: web.Request) -> frozenset[str]:
    """``?include=`` (repeatable or comma-separated); names other than the four are
    ignored, as ilert adds include values over time."""
    named = {
        part.strip() for value in request.query.getall("include", []) for part in value.split(",")
    }
    return frozenset(named & INCLUDES)


# --- query parameters -----------------------------------------------------------------------


def _instant_param(
    request: web.Request, name: str, zone: ZoneInfo | None = None
) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_instant(name, raw, zone)
    except InvalidValueError as exc:
        raise bad(name, str(exc).partition(": ")[2]) from None


def _window(
    request: web.Request, zone: ZoneInfo | None = None, default: timedelta = DEFAULT_WINDOW
) -> tuple[datetime, datetime]:
    """``from`` (default now) and ``until`` (default from + 7 days), at most 400 days apart;
    with ``zone``, times without an offset are wall-clock times there."""
    start = _instant_param(request, "from", zone) or _now(request)
    end = _instant_param(request, "until", zone) or start + default
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
            if value is None or value < 1:
                raise bad(name, f"must be integer ids, got {part[:20]!r}")
            ids.append(value)
    if len(ids) > MAX_ID_PARAMS:
        raise bad(name, f"at most {MAX_ID_PARAMS} ids")
    return ids


# --- handlers -------------------------------------------------------------------------------


async def list_schedules_handler(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    viewer, only = await list_scope(request, call.caller)
    rows = await list_schedules(pool(request), start, limit, viewer=viewer, only=only)
    return json_response(await _present(request, call, rows, _include(request)))


async def create_schedule(request: web.Request, call: Call) -> web.Response:
    settings = _settings(call.body)
    try:
        schedule = Schedule.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, call.caller, call.body.teams, ())
    await _check_users(request, user_fields(schedule.spec, []))
    _refuse_gaps(request, schedule.spec)
    schedule_id = await save(request, call.caller, schedule)
    assert schedule_id is not None  # a new aggregate always has its Created event
    rows = [await _reread(request, schedule_id)]
    return json_response((await _present(request, call, rows))[0], status=201)


async def get_schedule(request: web.Request, call: Call) -> web.Response:
    rows = [await _find(request, call.caller)]
    return json_response((await _present(request, call, rows, _include(request)))[0])


async def get_schedule_by_name(request: web.Request, call: Call) -> web.Response:
    """ilert-go's SearchSchedule (the Terraform data source): the oldest with that name."""
    viewer = team_viewer(call.caller)
    row = await schedule_by_name(pool(request), request.match_info["name"], viewer=viewer)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", "no schedule has this name")
    return json_response((await _present(request, call, [row], _include(request)))[0])


async def replace_schedule(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    before = list(schedule.teams)
    settings = _settings(call.body, before)
    try:
        schedule.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, call.caller, call.body.teams, before)
    await _check_users(request, user_fields(schedule.spec, []))
    _refuse_gaps(request, schedule.spec)
    await save(request, call.caller, schedule)
    rows = [await _reread(request, row["id"])]
    return json_response((await _present(request, call, rows))[0])


async def delete_schedule(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await save(request, call.caller, schedule)
    return web.Response(status=204)


async def get_shifts(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    start, end = _window(request, ZoneInfo(row["timezone"]))
    include_overrides = not _flag(request, "exclude-overrides")
    found = oncall.shifts(oncall_schedule(row), start, end, include_overrides=include_overrides)
    users = await _users(request, (shift.user_id for shift in found))
    return json_response([_shift_json(shift, users) for shift in found])


async def list_overrides(request: web.Request, call: Call) -> web.Response:
    overrides = schedule_overrides(await _find(request, call.caller))
    users = await _users(request, (shift["user"] for shift in overrides))
    return json_response([_stored_shift_json(shift, users) for shift in overrides])


async def add_override(request: web.Request, call: Call) -> web.Response:
    """One more override; answers 200 with the whole schedule, as ilert-go reads it."""
    row = await _find(request, call.caller)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.add_override(msgspec.to_builtins(call.body), field="")
    except DomainError as exc:
        raise domain_problem(exc) from None
    added = schedule.overrides[-1]
    await _check_users(request, [("user", added["user"])])
    await save(request, call.caller, schedule)
    rows = [await _reread(request, row["id"])]
    return json_response((await _present(request, call, rows))[0])


async def replace_overrides(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    schedule: Schedule = await load_live(request, row, _NOT_FOUND)
    try:
        schedule.replace_overrides(msgspec.to_builtins(call.body), field="")
    except DomainError as exc:
        raise domain_problem(exc) from None
    references = [(f"[{i}].user", s["user"]) for i, s in enumerate(schedule.overrides)]
    await _check_users(request, references)
    await save(request, call.caller, schedule)
    users = await _users(request, (shift["user"] for shift in schedule.overrides))
    return json_response([_stored_shift_json(shift, users) for shift in schedule.overrides])


async def user_on_call(request: web.Request, call: Call) -> web.Response:
    row = await _find(request, call.caller)
    current, _ = current_and_next(oncall_schedule(row), _now(request))
    if current is None:
        return web.Response(status=204)
    users = await _users(request, [current.user_id])
    return json_response(_shift_json(current, users))


async def get_ical(request: web.Request, call: Call) -> web.Response:
    """The feed for calendar apps: with a Bearer key, or ``?token=`` (see ``icalUrl``); the
    authentication middleware checks either before the route runs (a valid token or key
    for this schedule sees it, whatever its teams)."""
    row = await _find(request, None)
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


async def on_calls(request: web.Request, call: Call) -> web.Response:
    """Who is on call, per schedule: ``{user, schedule: {id, name}, start, end}``.

    With ``from`` or ``until`` the shifts over that window (clipped to it); without either,
    the shift covering now, whole. ``policies`` adds the schedules their rules name.
    """
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
    viewer = team_viewer(call.caller)
    if schedule_ids is None:
        rows = await list_schedules(database, 0, None, viewer=viewer)
    else:
        rows = await schedules_by_ids(database, schedule_ids)
        # schedules the caller may not see are left out, as if they did not exist
        rows = [row for row in rows if await visible(database, viewer, schedule_spec(row)["teams"])]
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


# --- the route table ----------------------------------------------------------------------

SCHEDULES = Resource(
    base=BASE,
    tag="Schedules",
    name="Schedule",
    names="Schedules",
    one="a schedule",
    many="schedules",
    type=ScheduleBody,
    id_param=Param("id", "path", {"type": "integer", "format": "int64"}, "the schedule's id"),
    list_params=PAGING,
)
_ID = SCHEDULES.id_param
#: the years the on-call model takes, as a prefix
_TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": spaces(r"^\s*(?:19[0-9]{2}|[2-8][0-9]{3}|9000)-"),
}
_INCLUDE = Param(
    "include",
    "query",
    {
        "type": "array",
        "items": {"anyOf": [{"enum": sorted(INCLUDES)}, {"type": "string"}]},
    },
    "optional fields to answer (repeatable); without it a schedule has none of them; "
    "other values are ignored",
    explode=True,
)
_ABORT_ON_GAPS = Param(
    "abort-on-gaps",
    "query",
    {"type": "boolean"},
    "true: refuse (400) layers or shifts that leave nobody on call somewhere between the "
    "schedule's first start and its last end",
)
_WINDOW = (
    Param("from", "query", _TIME, "default now; without an offset in the schedule's timezone"),
    Param("until", "query", _TIME, "default from + 7 days; at most 400 days after from"),
)


def _id_list(name: str, description: str) -> Param:
    schema = {"type": "array", "items": ID_PARAM}
    return Param(
        name, "query", schema, description + " (repeatable or comma-separated)", explode=True
    )


def _with(route: Route, **changes: Any) -> Route:
    """``route`` from ``crud_routes`` with some fields changed (params, answers...)."""
    return replace(route, **changes)


_listed, _created, _got, _replaced, _deleted = crud_routes(
    SCHEDULES,
    list_all=list_schedules_handler,
    create=create_schedule,
    get=get_schedule,
    replace=replace_schedule,
    delete=delete_schedule,
)
_ALL = Answer("The schedule, with scheduleLayers, shifts, currentShift and nextShift", ScheduleBody)

#: ``/name/{name}`` comes before ``{id}``: ``/api/schedules/name/ical`` is a name.
#: Writes of a schedule: ADMINs, and ADMINs of one of its teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the schedule's teams; 403 for others, 404 if it is invisible"
)

ROUTES = (
    team_listed(_with(_listed, params=(*PAGING, _INCLUDE))),
    _with(
        _created,
        body=ScheduleInput,
        params=(_ABORT_ON_GAPS,),
        answers={201: _ALL},
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a schedule whose teams are all theirs",
    ),
    Route(
        "GET",
        BASE + "/name/{name}",
        get_schedule_by_name,
        "getScheduleByName",
        SCHEDULES.tag,
        "The oldest schedule with this name (ilert-go's SearchSchedule)",
        {200: Answer("The schedule", ScheduleBody)},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}, "the exact name"), _INCLUDE),
    ),
    _with(_got, params=(_ID, _INCLUDE)),
    _with(
        _replaced,
        summary="Replace a schedule; overrides stay",
        body=ScheduleInput,
        params=(_ID, _ABORT_ON_GAPS),
        answers={200: _ALL},
        authorize=_TEAM_WRITE,
        description=_TEAM_TEXT,
    ),
    _with(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    Route(
        "GET",
        BASE + "/{id}/shifts",
        get_shifts,
        "getScheduleShifts",
        SCHEDULES.tag,
        "The computed shifts over a window",
        {200: Answer("Shifts", list[Shift])},
        problems=(400, 404),
        params=(
            _ID,
            *_WINDOW,
            Param("exclude-overrides", "query", {"type": "boolean"}, "true: the layers only"),
        ),
    ),
    Route(
        "GET",
        BASE + "/{id}/overrides",
        list_overrides,
        "listScheduleOverrides",
        SCHEDULES.tag,
        "The overrides, lowest priority first",
        {200: Answer("Shifts", list[Shift])},
        problems=(404,),
        params=(_ID,),
    ),
    Route(
        "POST",
        BASE + "/{id}/overrides",
        add_override,
        "addScheduleOverride",
        SCHEDULES.tag,
        "Add one override; it wins over earlier ones",
        {200: _ALL},
        role=Role.ADMIN,
        authorize=_TEAM_WRITE,
        body=Shift,
        problems=(400, 404, 409),
        params=(_ID,),
        description="Answers 200 with the whole schedule, as ilert-go's "
        "AddScheduleShiftOverride reads it. " + _TEAM_TEXT,
    ),
    Route(
        "PUT",
        BASE + "/{id}/overrides",
        replace_overrides,
        "replaceScheduleOverrides",
        SCHEDULES.tag,
        "Replace every override: a list of Shifts",
        {200: Answer("Shifts", list[Shift])},
        role=Role.ADMIN,
        authorize=_TEAM_WRITE,
        description=_TEAM_TEXT,
        body=list[Shift],
        problems=(400, 404, 409),
        params=(_ID,),
    ),
    Route(
        "GET",
        BASE + "/{id}/user-on-call",
        user_on_call,
        "getScheduleUserOnCall",
        SCHEDULES.tag,
        "The shift on call now",
        {200: Answer("The current shift", Shift), 204: Answer("Nobody is on call")},
        problems=(404,),
        params=(_ID,),
    ),
    Route(
        "GET",
        BASE + "/{id}/ical",
        get_ical,
        "getScheduleIcal",
        SCHEDULES.tag,
        "The schedule's shifts as an iCalendar feed (Bearer key, or the feed token from the "
        "schedule's icalUrl, for calendar apps)",
        {
            200: Answer(
                "An RFC 5545 feed: one VEVENT per shift from 7 days ago to 90 ahead",
                str,
                media="text/calendar",
            )
        },
        # no Bearer key required here: the authentication middleware takes one or the token
        public=True,
        problems=(401, 403, 404),
        params=(
            _ID,
            Param("token", "query", {"type": "string"}, "read-only feed token from icalUrl"),
        ),
        description="Authenticated by a Bearer key or by ?token= (the schedule's feed token); "
        "the document lists no security requirement because either will do.",
    ),
    Route(
        "GET",
        "/api/on-calls",
        on_calls,
        "listOnCalls",
        SCHEDULES.tag,
        "Who is on call: now, or over from..until",
        {200: Answer("On-call entries", list[OnCall])},
        problems=(400,),
        params=(
            _id_list("policies", "escalation policies: the schedules their rules name"),
            _id_list("schedules", "schedule ids; neither this nor policies: all"),
            _id_list("users", "only these users' entries"),
            *_WINDOW,
        ),
    ),
)
