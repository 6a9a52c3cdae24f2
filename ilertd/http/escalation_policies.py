"""/api/escalation-policies: list, create, read, replace, delete, replace one level, and
resolve a routing key.

Any authenticated user reads (a policy whose teams are all PRIVATE only their members and
ADMINs: ``team_access``); ADMINs, and ADMINs of one of the policy's teams, write. Every
write waits until the projections have applied it, so the answer and the caller's next GET
already show it. Validation (the body's shape, the aggregate's rules, that referenced users
and teams exist, that a routing key is free) happens before anything is appended: a 4xx
writes nothing.

``escalationTimeout`` is integer minutes on input, as ilert, or an ISO-8601 duration
string such as ``"PT30S"``. On output it is integer minutes when the stored seconds are a
whole number of minutes, else the ISO-8601 string (``PT30S``, ``PT1M30S``): ilert's clients
keep reading minutes, and sub-minute timeouts survive a round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any

import asyncpg
from aiohttp import web

from projections.escalation_policies import (
    list_policies,
    policy_by_id,
    policy_by_routing_key,
    policy_json,
    policy_teams,
    referenced_users,
    users_by_ids,
)
from projections.team_scope import names_for

from ..contract.common import NOT_BLANK, IdRef, UserRef
from ..contract.escalation_policies import EscalationPolicy as EscalationPolicyBody
from ..contract.escalation_policies import EscalationRule
from ..domain.durations import DurationError, parse_duration
from ..domain.errors import DomainError
from ..domain.escalation_policy import (
    MAX_TIMEOUT_S,
    EscalationPolicy,
    NoSuchLevelError,
)
from ..domain.user import Role
from ..keyed_locks import KeyedLocks
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
from .writes import bad, domain_problem, load_live, parse_id, pool, save

BASE = "/api/escalation-policies"
_NOT_FOUND = "no such escalation policy"
#: Writes that set a routing key check and append under one in-process lock per key, so two
#: requests to one instance cannot both take it (instances sharing a database still can).
_ROUTING_KEYS = KeyedLocks()


def _timeout_seconds(field: str, value: int | str) -> int:
    """Integer minutes (as ilert) or an ISO-8601 duration, to seconds."""
    if isinstance(value, int):
        if not 1 <= value <= MAX_TIMEOUT_S // 60:
            raise bad(field, f"must be from 1 to {MAX_TIMEOUT_S // 60} minutes")
        return value * 60
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise bad(field, str(exc)) from None


def _ref_ids(field: str, refs: list[Any] | None) -> list[int]:
    """``[{"id": n}, ...]`` as ilert (bare ids, numbers or decimal strings, too) to the
    ids; the domain checks the numbers themselves."""
    ids = []
    for index, ref in enumerate(refs or ()):
        ident = ref.id if isinstance(ref, IdRef | UserRef) else ref
        if isinstance(ident, str):
            parsed = parse_id(ident)
            if parsed is None:
                raise bad(f"{field}[{index}]", 'must be {"id": <integer>}')
            ident = parsed
        ids.append(ident)
    return ids


def _rule(rule: EscalationRule, prefix: str) -> dict[str, Any]:
    """One API rule to the domain's shape; ``prefix`` as ``checked_rule`` takes it."""
    return {
        "escalation_timeout_s": _timeout_seconds(
            f"{prefix}escalationTimeout", rule.escalationTimeout
        ),
        "users": _ref_ids(f"{prefix}users", rule.users),
        "schedules": _ref_ids(f"{prefix}schedules", rule.schedules),
    }


def _settings(body: EscalationPolicyBody, teams: Sequence[int] = ()) -> dict[str, Any]:
    """Domain settings from a request body; absent fields take their defaults (PUT replaces
    the whole resource), but absent ``teams`` keep ``teams`` (the current ones). Unknown
    fields are ignored."""
    settings: dict[str, Any] = {
        "name": body.name,
        "escalation_rules": [
            _rule(rule, f"escalationRules[{index}].")
            for index, rule in enumerate(body.escalationRules)
        ],
        "routing_key": body.routingKey,
        "teams": kept(sent_teams(body.teams), teams),
    }
    optional = {
        "repeating": body.repeating,
        "frequency": body.frequency,
        "delay_min": body.delayMin,
    }
    settings.update({key: value for key, value in optional.items() if value is not None})
    return settings


def _domain_problem(exc: DomainError) -> ProblemError:
    """As ``writes.domain_problem``; a level the policy lacks is 404."""
    return domain_problem(exc, not_found=(NoSuchLevelError,))


async def _present(request: web.Request, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    users = await users_by_ids(pool(request), referenced_users(rows))
    teams = await names_for(pool(request), (row["teams"] for row in rows))
    return [policy_json(row, users, teams) for row in rows]


async def _present_one(request: web.Request, row: asyncpg.Record) -> dict[str, Any]:
    return (await _present(request, [row]))[0]


async def _find(request: web.Request, user: Any) -> asyncpg.Record:
    """The policy of the path's ``{id}``, when ``user`` may see it; else 404."""
    policy_id = parse_id(request.match_info["id"])
    row = None
    if policy_id is not None:
        row = await policy_by_id(pool(request), policy_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    await require_visible(request, user, row["teams"], _NOT_FOUND)
    return row


async def _teams_of(request: web.Request) -> list[int] | None:
    policy_id = parse_id(request.match_info["id"])
    return None if policy_id is None else await policy_teams(pool(request), policy_id)


async def _check_users(request: web.Request, rules: list[dict[str, Any]], prefix: str) -> None:
    """Every user a rule names must be a live user: else 400 naming the entry.
    ``prefix`` is ``escalationRules[{index}].`` (formatted per rule) or empty."""
    wanted = sorted({user for rule in rules for user in rule["users"]})
    if not wanted:
        return
    live = {
        row["id"]
        for row in await pool(request).fetch(
            "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL", wanted
        )
    }
    for index, rule in enumerate(rules):
        for position, user in enumerate(rule["users"]):
            if user not in live:
                field = f"{prefix.format(index=index)}users[{position}]"
                raise bad(field, f"no user {user}")


async def _check_routing_key(request: web.Request, key: str | None, except_id: int | None) -> None:
    if key is None:
        return
    taken = await policy_by_routing_key(pool(request), key)
    if taken is not None and taken["id"] != except_id:
        raise ProblemError(
            409,
            "CONFLICT",
            f"routingKey: {key!r} is already the routing key of escalation policy {taken['id']}",
            field="routingKey",
        )


def _routing_key_lock(key: str | None) -> AbstractAsyncContextManager[None]:
    return nullcontext() if key is None else _ROUTING_KEYS.hold(key)


async def _reread(request: web.Request, policy_id: int) -> asyncpg.Record:
    row = await policy_by_id(pool(request), policy_id)
    if row is None:  # deleted by someone else in the meantime
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_escalation_policies(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    viewer, only = await list_scope(request, call.caller)
    rows = await list_policies(pool(request), start, limit, viewer=viewer, only=only)
    return json_response(await _present(request, rows))


async def create_escalation_policy(request: web.Request, call: Call) -> web.Response:
    actor, settings = call.caller, _settings(call.body)
    try:
        policy = EscalationPolicy.create(**settings)
    except DomainError as exc:
        raise _domain_problem(exc) from None
    await check_sent_teams(request, actor, call.body.teams, ())
    await _check_users(request, settings["escalation_rules"], "escalationRules[{index}].")
    async with _routing_key_lock(policy.routing_key):
        await _check_routing_key(request, policy.routing_key, None)
        policy_id = await save(request, actor, policy)
    assert policy_id is not None  # a new aggregate always has its Created event
    row = await _reread(request, policy_id)
    return json_response(await _present_one(request, row), status=201)


async def resolve_routing_key(request: web.Request, call: Call) -> web.Response:
    key = request.query.get("routing-key")
    if key is None or not key.strip():
        raise bad("routing-key", "is required")
    row = await policy_by_routing_key(pool(request), key.strip())
    missing = "no escalation policy has this routing key"
    if row is None:
        raise ProblemError(404, "NOT_FOUND", missing)
    await require_visible(request, call.caller, row["teams"], missing)
    return json_response(await _present_one(request, row))


async def get_escalation_policy(request: web.Request, call: Call) -> web.Response:
    return json_response(await _present_one(request, await _find(request, call.caller)))


async def replace_escalation_policy(request: web.Request, call: Call) -> web.Response:
    actor = call.caller
    row = await _find(request, actor)
    policy: EscalationPolicy = await load_live(request, row, _NOT_FOUND)
    settings = _settings(call.body, policy.teams)
    before = list(policy.teams)
    try:
        policy.update(**settings)
    except DomainError as exc:
        raise _domain_problem(exc) from None
    await check_sent_teams(request, actor, call.body.teams, before)
    await _check_users(request, settings["escalation_rules"], "escalationRules[{index}].")
    async with _routing_key_lock(policy.routing_key):
        await _check_routing_key(request, policy.routing_key, row["id"])
        await save(request, actor, policy)  # nothing to save when nothing changed
    return json_response(await _present_one(request, await _reread(request, row["id"])))


async def replace_escalation_level(request: web.Request, call: Call) -> web.Response:
    """PUT one rule (zero-based level); the answer is the whole policy."""
    actor, body = call.caller, call.body
    row = await _find(request, actor)
    raw_level = request.match_info["level"]
    level = parse_id(raw_level)
    policy: EscalationPolicy = await load_live(request, row, _NOT_FOUND)
    if level is None or level >= len(policy.escalation_rules):
        raise ProblemError(
            404,
            "NOT_FOUND",
            f"escalation policy {row['id']} has no level {raw_level[:20]} "
            f"(levels 0 to {len(policy.escalation_rules) - 1})",
        )
    rule = _rule(body, "")
    try:
        policy.replace_rule(level, rule)
    except DomainError as exc:
        raise _domain_problem(exc) from None
    await _check_users(request, [rule], "")
    await save(request, actor, policy)
    return json_response(await _present_one(request, await _reread(request, row["id"])))


async def delete_escalation_policy(request: web.Request, call: Call) -> web.Response:
    actor = call.caller
    row = await _find(request, actor)
    policy: EscalationPolicy = await load_live(request, row, _NOT_FOUND)
    try:
        policy.delete()
    except DomainError as exc:
        raise _domain_problem(exc) from None
    await save(request, actor, policy)
    return web.Response(status=204)


POLICIES = Resource(
    base=BASE,
    tag="Escalation policies",
    name="EscalationPolicy",
    names="EscalationPolicies",
    one="an escalation policy",
    many="escalation policies",
    type=EscalationPolicyBody,
    id_param=Param("id", "path", {"type": "integer", "format": "int64"}, "the policy's id"),
    create_problems=(400, 409),
    list_params=PAGING,
)

_listed, _created, _got, _replaced, _deleted = crud_routes(
    POLICIES,
    list_all=list_escalation_policies,
    create=create_escalation_policy,
    get=get_escalation_policy,
    replace=replace_escalation_policy,
    delete=delete_escalation_policy,
)
#: Writes of a policy: ADMINs, and ADMINs of one of its teams (before the body).
TEAM_WRITE = team_writer(_teams_of, _NOT_FOUND)
_TEAM_TEXT = (
    "ADMINs, and ADMINs of one of the policy's teams; 403 for others, 404 if it is invisible"
)
_CREATE_TEXT = "ADMINs, and team ADMINs for a policy whose teams are all teams they administer"

#: ``/resolve`` comes before ``{id}``, which would capture it.
ROUTES = (
    Route(
        "GET",
        BASE + "/resolve",
        resolve_routing_key,
        "resolveEscalationPolicy",
        POLICIES.tag,
        "The policy with this routing key",
        {200: Answer("The escalation policy", EscalationPolicyBody)},
        problems=(400, 404),
        params=(
            Param(
                "routing-key",
                "query",
                {"type": "string", "minLength": 1, "pattern": NOT_BLANK},
                "the routing key; trimmed",
                required=True,
            ),
        ),
    ),
    team_listed(_listed),
    replace(_created, authorize=team_creator(), description=_CREATE_TEXT),
    _got,
    replace(_replaced, authorize=TEAM_WRITE, description=_TEAM_TEXT),
    replace(_deleted, authorize=TEAM_WRITE, description=_TEAM_TEXT),
    Route(
        "PUT",
        BASE + "/{id}/levels/{level}",
        replace_escalation_level,
        "replaceEscalationLevel",
        POLICIES.tag,
        "Replace one rule; answers the whole policy",
        {200: Answer("The escalation policy", EscalationPolicyBody)},
        role=Role.ADMIN,
        authorize=TEAM_WRITE,
        description=_TEAM_TEXT,
        body=EscalationRule,
        problems=(400, 404, 409),
        params=(POLICIES.id_param, Param("level", "path", {"type": "integer"}, "zero-based")),
    ),
)
