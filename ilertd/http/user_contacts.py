"""A user's contacts and notification preferences, on ilert's paths:

- ``/api/users/{id}/contacts/emails`` and ``/contacts/phone-numbers``: where to reach them;
- ``/api/users/{id}/notification-preferences/alerts``, ``/duties`` and ``/updates``: which
  method, sent to which contact, after what delay.

The user themself or an ADMIN reads and writes them: contact details are personal, so other
users do not even see them. Reads come from the users projection; writes load the User
aggregate, run a command and wait for the projection, as /api/users does. An item id that
belongs to another path (an email's id under phone-numbers, a duty rule's under alerts) is a
404 there, as it would be in ilert where the ids live in separate collections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from projections import users as read_model

from ..domain.errors import DomainError
from ..domain.user import Channel, NoSuchItemError, Role, RuleKind, RuleSettings, User
from .authz import require_self_or_role
from .body import read_json
from .problems import ProblemError, json_response
from .writes import bad, domain_problem, load_live, parse_id, path_id, pool, save

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.Response]]

#: Contact and rule ids are PostgreSQL integers; a longer number cannot name one.
INT32_MAX = 2**31 - 1
#: Path segment under /contacts -> the channel its contacts have.
CONTACT_PATHS: dict[str, Channel] = {"emails": Channel.EMAIL, "phone-numbers": Channel.PHONE}
_NOUNS = {Channel.EMAIL: "email contact", Channel.PHONE: "phone number"}


# --- answers ------------------------------------------------------------------------------


def contact_json(row: asyncpg.Record) -> dict[str, Any]:
    """ilert's ``{id, target, primary}``; phone numbers add ``regionCode``."""
    item: dict[str, Any] = {"id": row["contact_id"], "target": row["target"]}
    if row["channel"] == Channel.PHONE:
        item["regionCode"] = row["region_code"]
    item["primary"] = row["is_primary"]
    return item


def rule_json(row: asyncpg.Record) -> dict[str, Any]:
    """``{id, method, contact: {id, target} | null}`` plus the kind's own settings."""
    contact = None
    if row["contact_id"] is not None:
        contact = {"id": row["contact_id"], "target": row["target"]}
    item: dict[str, Any] = {"id": row["rule_id"], "method": row["method"], "contact": contact}
    if row["kind"] == RuleKind.ALERTS:
        item["delayMin"] = row["delay_min"]
        item["type"] = row["priority_type"]
    elif row["kind"] == RuleKind.DUTIES:
        item["beforeMin"] = row["before_min"]
    else:
        item["type"] = row["update_type"]
    return item


# --- reading the request ------------------------------------------------------------------


async def _object(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad("body", "must be a JSON object")
    return body


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "an array"


def _string(body: dict[str, Any], field: str) -> str | None:
    """A string field; null or absent is None (the domain says whether that is allowed)."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise bad(field, f"must be a string, not {_json_type(value)}")
    return value


def _integer(body: dict[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad(field, f"must be an integer, not {_json_type(value)}")
    return value


def _boolean(body: dict[str, Any], field: str) -> bool:
    """Absent or null is false (PUT replaces: a contact sent without it is not primary)."""
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise bad(field, f"must be true or false, not {_json_type(value)}")
    return bool(value)


def _contact_ref(body: dict[str, Any]) -> int | None:
    """``contact``: ``{id}`` as ilert sends it (a bare integer id is accepted too), or null."""
    value = body.get("contact")
    if isinstance(value, dict):
        value = value.get("id")
        if value is None:
            raise bad("contact", "needs an id: {id: n}, or null for PUSH")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad("contact", "must be {id: n} with an integer id, or null")
    return value


def _rule_settings(kind: RuleKind, body: dict[str, Any]) -> RuleSettings:
    """The kind's own fields of the body; other fields are ignored, as unknown ones are."""
    method = _string(body, "method")
    if method is None:
        raise bad("method", "is required")
    contact_id = _contact_ref(body)
    if kind is RuleKind.ALERTS:
        return RuleSettings(
            method, contact_id, delay_min=_integer(body, "delayMin"), type=_string(body, "type")
        )
    if kind is RuleKind.DUTIES:
        return RuleSettings(method, contact_id, before_min=_integer(body, "beforeMin"))
    return RuleSettings(method, contact_id, type=_string(body, "type"))


def _item_id(request: web.Request, key: str, not_found: str) -> int:
    """A contact or rule id from the path; 404 when it cannot be one."""
    raw = request.match_info[key]
    value = parse_id(raw)
    if value is None or value > INT32_MAX:
        raise ProblemError(404, "NOT_FOUND", f"{not_found} {raw[:20]}")
    return value


# --- services -----------------------------------------------------------------------------


async def _owner(request: web.Request) -> tuple[asyncpg.Record, asyncpg.Record]:
    """The caller (the user themself or an ADMIN, else 403) and the live user's row (404)."""
    user_id = path_id(request, f"no user {request.match_info['id'][:20]}")
    actor = require_self_or_role(request, user_id, Role.ADMIN)
    row = await read_model.user_by_id(pool(request), user_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no user {user_id}")
    return actor, row


@contextmanager
def _domain_rules() -> Iterator[None]:
    """A bad value 400 naming its field, an unknown item 404, any other broken rule 409."""
    try:
        yield
    except DomainError as exc:
        raise domain_problem(exc, not_found=(NoSuchItemError,)) from None


async def _write(
    request: web.Request,
    actor: asyncpg.Record,
    row: asyncpg.Record,
    command: Callable[[User], T],
) -> T:
    """Run ``command`` on the user and wait until the projection shows its events."""
    user = await load_live(request, row, f"no user {row['id']}")
    with _domain_rules():
        result = command(user)
    await save(request, actor, user)
    return result


def _gone(what: str) -> ProblemError:
    """The item vanished between the write and the read (a concurrent delete)."""
    return ProblemError(404, "NOT_FOUND", f"no {what}")


# --- contacts -----------------------------------------------------------------------------


def _contact_handlers(channel: Channel) -> tuple[Handler, Handler, Handler, Handler, Handler]:
    """List, add, get, replace and remove handlers for one channel's contacts."""
    noun = _NOUNS[channel]
    regional = channel is Channel.PHONE

    def fields(body: dict[str, Any]) -> tuple[str, str | None, bool]:
        target = _string(body, "target")
        if target is None:
            raise bad("target", "is required")
        region = _string(body, "regionCode") if regional else None
        return target, region, _boolean(body, "primary")

    async def existing(request: web.Request, user_id: int) -> tuple[int, asyncpg.Record]:
        contact_id = _item_id(request, "contact_id", f"user {user_id} has no {noun}")
        found = await read_model.contact_of(pool(request), user_id, contact_id, channel)
        if found is None:
            raise ProblemError(404, "NOT_FOUND", f"user {user_id} has no {noun} {contact_id}")
        return contact_id, found

    async def list_contacts(request: web.Request) -> web.Response:
        _, row = await _owner(request)
        rows = await read_model.contacts_of(pool(request), row["id"], channel)
        return json_response([contact_json(found) for found in rows])

    async def add_contact(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        target, region, primary = fields(await _object(request))
        contact_id = await _write(
            request,
            actor,
            row,
            lambda user: user.add_contact(channel, target, region, primary),
        )
        found = await read_model.contact_of(pool(request), row["id"], contact_id, channel)
        if found is None:
            raise _gone(f"{noun} {contact_id}")
        return json_response(contact_json(found), status=201)

    async def get_contact(request: web.Request) -> web.Response:
        _, row = await _owner(request)
        _, found = await existing(request, row["id"])
        return json_response(contact_json(found))

    async def replace_contact(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        contact_id, _ = await existing(request, row["id"])
        target, region, primary = fields(await _object(request))
        await _write(
            request,
            actor,
            row,
            lambda user: user.change_contact(contact_id, target, region, primary),
        )
        found = await read_model.contact_of(pool(request), row["id"], contact_id, channel)
        if found is None:
            raise _gone(f"{noun} {contact_id}")
        return json_response(contact_json(found))

    async def remove_contact(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        contact_id, _ = await existing(request, row["id"])
        await _write(request, actor, row, lambda user: user.remove_contact(contact_id))
        return web.Response(status=204)

    return list_contacts, add_contact, get_contact, replace_contact, remove_contact


# --- notification preferences -------------------------------------------------------------


def _rule_handlers(kind: RuleKind) -> tuple[Handler, Handler, Handler, Handler, Handler]:
    """List, add, get, replace and remove handlers for one kind of notification rule."""
    noun = f"{kind.value} notification rule"

    async def existing(request: web.Request, user_id: int) -> int:
        rule_id = _item_id(request, "rule_id", f"user {user_id} has no {noun}")
        found = await read_model.notification_rule(pool(request), user_id, rule_id, kind)
        if found is None:
            raise ProblemError(404, "NOT_FOUND", f"user {user_id} has no {noun} {rule_id}")
        return rule_id

    async def answer(request: web.Request, user_id: int, rule_id: int, status: int) -> web.Response:
        found = await read_model.notification_rule(pool(request), user_id, rule_id, kind)
        if found is None:
            raise _gone(f"{noun} {rule_id}")
        return json_response(rule_json(found), status=status)

    async def list_rules(request: web.Request) -> web.Response:
        _, row = await _owner(request)
        rows = await read_model.notification_rules(pool(request), row["id"], kind)
        return json_response([rule_json(found) for found in rows])

    async def add_rule(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        settings = _rule_settings(kind, await _object(request))
        rule_id = await _write(request, actor, row, lambda user: user.add_rule(kind, settings))
        return await answer(request, row["id"], rule_id, 201)

    async def get_rule(request: web.Request) -> web.Response:
        _, row = await _owner(request)
        return await answer(request, row["id"], await existing(request, row["id"]), 200)

    async def replace_rule(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        rule_id = await existing(request, row["id"])
        settings = _rule_settings(kind, await _object(request))
        await _write(request, actor, row, lambda user: user.change_rule(rule_id, settings))
        return await answer(request, row["id"], rule_id, 200)

    async def remove_rule(request: web.Request) -> web.Response:
        actor, row = await _owner(request)
        rule_id = await existing(request, row["id"])
        await _write(request, actor, row, lambda user: user.remove_rule(rule_id))
        return web.Response(status=204)

    return list_rules, add_rule, get_rule, replace_rule, remove_rule


def _add_collection(
    app: web.Application,
    path: str,
    item_key: str,
    handlers: tuple[Handler, Handler, Handler, Handler, Handler],
) -> None:
    list_items, add_item, get_item, replace_item, remove_item = handlers
    one = f"{path}/{{{item_key}}}"
    app.router.add_get(path, list_items)
    app.router.add_post(path, add_item)
    app.router.add_get(one, get_item)
    app.router.add_put(one, replace_item)
    app.router.add_delete(one, remove_item)


def add_routes(app: web.Application) -> None:
    user = "/api/users/{id:[0-9]+}"
    for segment, channel in CONTACT_PATHS.items():
        _add_collection(app, f"{user}/contacts/{segment}", "contact_id", _contact_handlers(channel))
    for kind in RuleKind:
        _add_collection(
            app,
            f"{user}/notification-preferences/{kind.value}",
            "rule_id",
            _rule_handlers(kind),
        )
