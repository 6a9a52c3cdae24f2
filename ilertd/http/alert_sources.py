"""/api/alert-sources: list, create, read, replace, delete.

Any authenticated user reads (a source whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of the source's teams, write; only ADMINs
read the integration key and URL (``field_access``'s table, applied to every answer here:
the key creates alerts). Every
write waits until the projections have applied it, so the answer and the caller's next GET
already show it. Validation
happens before anything is appended: a 4xx writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from projections.alert_sources import (
    list_sources,
    source_by_id,
    source_by_key,
    source_json,
    source_templates,
)
from projections.escalation_policies import policy_by_id
from projections.maintenance_windows import sources_in_maintenance
from projections.support_hours import row_teams, support_hours_by_id
from projections.team_scope import names_for, visible

from ..contract.alert_sources import AlertSource as AlertSourceBody
from ..contract.alert_sources import AlertSourceInput
from ..contract.common import IdRef
from ..domain.alert_source import AlertSource
from ..domain.durations import DurationError, parse_duration
from ..domain.errors import DomainError
from ..domain.source_templates import FIELDS as TEMPLATE_FIELDS
from ..inbound.email import EMAIL_TYPES
from .body import base_url
from .context import SERVICES
from .field_access import shown, viewer_of
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Call, Param, Resource, crud_routes
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
from .team_access import viewer as seen_by
from .writes import bad, domain_problem, load_live, parse_id, pool, save

_NOT_FOUND = "no such alert source"


def _duration_seconds(field: str, value: Any) -> int | None:
    """An ISO-8601 duration or whole seconds, as ilert's clients send either."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise bad(field, str(exc)) from None
    raise bad(field, "must be an ISO-8601 duration such as PT5M, or whole seconds")


def _policy_id(value: IdRef | int | str | None) -> Any:
    """``{"id": n}`` as ilert, or a bare id; the domain checks the number itself."""
    if isinstance(value, IdRef):
        value = value.id
        field = "escalationPolicy.id"
    else:
        field = "escalationPolicy"
    if isinstance(value, str):
        ident = parse_id(value.strip())
        if ident is None:
            raise bad(field, 'must be an id: {"id": <integer>}, or null')
        return ident
    return value


def _support_hours_id(value: IdRef | None) -> int | None:
    """``{"id": n}`` (``{"id": "n"}`` too); the domain checks the number itself."""
    if value is None:
        return None
    return parse_id(value.id) if isinstance(value.id, str) else value.id


def _settings(body: AlertSourceBody, teams: Sequence[int] = ()) -> dict[str, Any]:
    """Domain settings from a request body; absent fields take their defaults (PUT replaces
    the whole resource), but absent ``teams`` keep ``teams`` (the current ones). ilert's
    older ``incident*`` names are read when the new are absent."""
    settings: dict[str, Any] = {
        "name": body.name,
        "escalation_policy_id": _policy_id(body.escalationPolicy),
        "alert_grouping_window_s": _duration_seconds(
            "alertGroupingWindow", body.alertGroupingWindow
        ),
        "auto_resolution_timeout_s": _duration_seconds(
            "autoResolutionTimeout", body.autoResolutionTimeout
        ),
        "teams": kept(sent_teams(body.teams), teams),
        "support_hours_id": _support_hours_id(body.supportHours),
        "templates": {
            name: msgspec.to_builtins(getattr(body, name))
            for name in TEMPLATE_FIELDS
            if getattr(body, name) is not None
        },
    }
    optional = {
        "integration_type": body.integrationType,
        "alert_creation": body.alertCreation or body.incidentCreation,
        "alert_priority_rule": body.alertPriorityRule or body.incidentPriorityRule,
        "active": body.active,
    }
    settings.update({key: value for key, value in optional.items() if value is not None})
    return settings


def _included(request: web.Request, *, write: bool) -> frozenset[str]:
    """The template fields an answer carries: those ``?include=`` names (repeatable or
    comma-separated, as the Terraform provider sends them), all of them after a write."""
    if write:
        return frozenset(TEMPLATE_FIELDS)
    named = {p.strip() for v in request.query.getall("include", []) for p in v.split(",")}
    return frozenset(named & set(TEMPLATE_FIELDS))


async def _present_all(
    request: web.Request, call: Call, rows: list[asyncpg.Record], *, write: bool = False
) -> list[dict[str, Any]]:
    teams = await names_for(pool(request), (row["teams"] for row in rows))
    viewer = await viewer_of(request, call.caller)
    now = request.app[SERVICES].clock.now()
    held = await sources_in_maintenance(pool(request), [row["id"] for row in rows], now)
    answers = []
    include = _included(request, write=write)
    for row in rows:
        body = source_json(row, teams)
        if include:
            body.update((k, v) for k, v in source_templates(row).items() if k in include)
        if row["active"] and row["id"] in held:  # an active maintenance window lists it
            body["status"] = "IN_MAINTENANCE"
        body["integrationUrl"] = _integration_url(request, row, body["integrationUrl"])
        answers.append(shown(AlertSourceBody, body, viewer))
    return answers


def _integration_url(request: web.Request, row: asyncpg.Record, path: str) -> str:
    """Where the source takes events: an e-mail source's mail address while the inbound
    e-mail listener serves a domain (``mailto:<key>@<domain>``), else the daemon's URL."""
    domain = request.app[SERVICES].config["inbound_email.domain"]
    if row["integration_type"] in EMAIL_TYPES and domain:
        return f"mailto:{row['integration_key']}@{domain}"
    return base_url(request) + path


async def _present(
    request: web.Request, call: Call, row: asyncpg.Record, *, write: bool = False
) -> dict[str, Any]:
    return (await _present_all(request, call, [row], write=write))[0]


async def _row(request: web.Request) -> asyncpg.Record | None:
    """The live source named by the path: its API id, or (as ilert allows) its key."""
    ident = request.match_info["id"]
    source_id = parse_id(ident)
    if source_id is not None:
        return await source_by_id(pool(request), source_id)
    return await source_by_key(pool(request), ident)


async def _find(request: web.Request, user: Any) -> asyncpg.Record:
    """The source the path names, when ``user`` may see it; else 404."""
    row = await _row(request)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row["teams"], _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    row = await _row(request)
    return None if row is None else list(row["teams"])


async def _save(request: web.Request, caller: asyncpg.Record, source: AlertSource) -> int | None:
    """As ``writes.save``; alert sources' events have never carried the request id."""
    return await save(request, caller, source)


async def _check_policy(request: web.Request, settings: dict[str, Any]) -> None:
    """A source must name a policy that exists, or its alerts would page nobody, silently
    (a policy deleted later leaves the reference behind, as in ilert)."""
    policy_id = settings.get("escalation_policy_id")
    if isinstance(policy_id, int) and await policy_by_id(pool(request), policy_id) is None:
        field = "escalationPolicy.id"
        raise bad(field, f"there is no escalation policy with id {policy_id}")


async def _check_support_hours(request: web.Request, user: Any, settings: dict[str, Any]) -> None:
    """The support hours a source names exist and the caller may see them (their DELETE is
    refused while a source names them); invisible ones are as unknown as missing ones."""
    ident = settings.get("support_hours_id")
    if not isinstance(ident, int):
        return
    row = await support_hours_by_id(pool(request), ident)
    if row is None or not await visible(pool(request), seen_by(user), row_teams(row)):
        raise bad("supportHours.id", f"there are no support hours with id {ident}")


async def _reread(request: web.Request, source_id: int) -> asyncpg.Record:
    row = await source_by_id(pool(request), source_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_alert_sources(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    viewer, only = await list_scope(request, call.caller)
    rows = await list_sources(pool(request), start, limit, viewer=viewer, only=only)
    return json_response(await _present_all(request, call, rows))


async def create_alert_source(request: web.Request, call: Call) -> web.Response:
    caller, settings = call.caller, _settings(call.body)
    try:
        source = AlertSource.create(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, caller, call.body.teams, ())
    await _check_policy(request, settings)
    await _check_support_hours(request, caller, settings)
    source_id = await _save(request, caller, source)
    assert source_id is not None  # a new aggregate always has its Created event
    row = await _reread(request, source_id)
    return json_response(await _present(request, call, row, write=True), status=201)


async def get_alert_source(request: web.Request, call: Call) -> web.Response:
    return json_response(await _present(request, call, await _find(request, call.caller)))


async def replace_alert_source(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    row = await _find(request, caller)
    source: AlertSource = await load_live(request, row, _NOT_FOUND)
    before = list(source.teams)
    settings = _settings(call.body, before)
    try:
        source.update(**settings)
    except DomainError as exc:
        raise domain_problem(exc) from None
    await check_sent_teams(request, caller, call.body.teams, before)
    await _check_policy(request, settings)
    await _check_support_hours(request, caller, settings)
    await _save(request, caller, source)  # nothing to save when nothing changed
    row = await _reread(request, row["id"])
    return json_response(await _present(request, call, row, write=True))


async def delete_alert_source(request: web.Request, call: Call) -> web.Response:
    caller = call.caller
    source: AlertSource = await load_live(request, await _find(request, caller), _NOT_FOUND)
    try:
        source.delete()
    except DomainError as exc:
        raise domain_problem(exc) from None
    await _save(request, caller, source)
    return web.Response(status=204)


INCLUDE = Param(
    "include",
    "query",
    {
        "type": "array",
        "items": {"anyOf": [{"enum": list(TEMPLATE_FIELDS)}, {"type": "string"}]},
    },
    "template fields to answer (repeatable or comma-separated); create and replace answer "
    "them all; other values are ignored",
    explode=True,
)

ALERT_SOURCES = Resource(
    base="/api/alert-sources",
    tag="Alert sources",
    name="AlertSource",
    names="AlertSources",
    one="an alert source",
    many="alert sources",
    type=AlertSourceBody,
    id_param=Param(
        "id",
        "path",
        {"type": "string", "pattern": "^[^/]+$"},
        "the source's id, or (reads and writes alike) its integration key",
    ),
    create_problems=(400, 409),
    list_params=(*PAGING, INCLUDE),
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    ALERT_SOURCES,
    list_all=list_alert_sources,
    create=create_alert_source,
    get=get_alert_source,
    replace=replace_alert_source,
    delete=delete_alert_source,
)
#: Writes of a source: ADMINs, and ADMINs of one of its teams (before the body).
_TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the source's teams; 403 for others, 404 if it is invisible"
)
ROUTES = (
    team_listed(_listed),
    replace(
        _created,
        body=AlertSourceInput,
        authorize=team_creator(),
        description="ADMINs, and team ADMINs for a source whose teams are all theirs",
    ),
    replace(_got, params=(*_got.params, INCLUDE)),
    replace(_replaced, body=AlertSourceInput, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
    replace(_deleted, authorize=_TEAM_WRITE, description=_TEAM_TEXT),
)
