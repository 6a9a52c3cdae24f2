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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from projections import users as read_model

from ..contract.user_contacts import (
    CONTACT_TEXT,
    DUTY_TYPE,
    RULE_TEXT,
    AlertNotificationRule,
    AlertRule,
    ContactRef,
    ContactSearch,
    DutyNotificationRule,
    DutyRule,
    EmailContact,
    EmailSearch,
    PhoneContact,
    PhoneSearch,
    UpdateNotificationRule,
    UpdateRule,
)
from ..domain.errors import DomainError
from ..domain.user import Channel, Contact, NoSuchItemError, Role, RuleKind, RuleSettings, User
from .authz import caller
from .problems import ProblemError, json_response
from .routes import Answer, Call, Handler, Param, Route
from .writes import domain_problem, load_live, parse_id, path_id, pool, save

T = TypeVar("T")

#: Contact and rule ids are PostgreSQL integers; a longer number cannot name one.
INT32_MAX = 2**31 - 1
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
    """``{id, method, contact: {id, target} | null}`` plus the kind's own settings; a duty
    rule's ``type`` is ilert's one duty type, which the Terraform provider reads back."""
    contact = None
    if row["contact_id"] is not None:
        contact = {"id": row["contact_id"], "target": row["target"]}
    item: dict[str, Any] = {"id": row["rule_id"], "method": row["method"], "contact": contact}
    if row["kind"] == RuleKind.ALERTS:
        item["delayMin"] = row["delay_min"]
        item["type"] = row["priority_type"]
    elif row["kind"] == RuleKind.DUTIES:
        item["beforeMin"] = row["before_min"]
        item["type"] = DUTY_TYPE
    else:
        item["type"] = row["update_type"]
    return item


# --- reading the request ------------------------------------------------------------------

#: Each kind has its own body with its own fields, so another kind's (a duty's delayMin) is
#: ignored, as unknown fields are.
RuleBody = AlertNotificationRule | DutyNotificationRule | UpdateNotificationRule


def _contact_ref(contact: ContactRef | int | None) -> int | None:
    """``contact``: ``{id}`` as ilert sends it (a bare id too), or null."""
    return contact.id if isinstance(contact, ContactRef) else contact


def _rule_settings(body: RuleBody) -> RuleSettings:
    """The domain's settings from a kind's body (its type says the kind)."""
    contact_id = _contact_ref(body.contact)
    if isinstance(body, AlertNotificationRule):
        return RuleSettings(body.method, contact_id, delay_min=body.delayMin, type=body.type)
    if isinstance(body, DutyNotificationRule):
        return RuleSettings(body.method, contact_id, before_min=body.beforeMin)
    return RuleSettings(body.method, contact_id, type=body.type)


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
    actor = caller(request)  # the route table let only the user themself or an ADMIN in
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


def _contact_handlers(channel: Channel) -> Handlers:
    """List, add, get, replace and remove handlers for one channel's contacts, and search
    (ilert-go's ``SearchUser*Contact``: the contact with a target)."""
    noun = _NOUNS[channel]

    def fields(body: EmailContact | PhoneContact) -> tuple[str, str | None, bool]:
        region = body.regionCode if isinstance(body, PhoneContact) else None
        return body.target, region, bool(body.primary)

    async def existing(request: web.Request, user_id: int) -> tuple[int, asyncpg.Record]:
        contact_id = _item_id(request, "contact_id", f"user {user_id} has no {noun}")
        found = await read_model.contact_of(pool(request), user_id, contact_id, channel)
        if found is None:
            raise ProblemError(404, "NOT_FOUND", f"user {user_id} has no {noun} {contact_id}")
        return contact_id, found

    async def list_contacts(request: web.Request, call: Call) -> web.Response:
        _, row = await _owner(request)
        rows = await read_model.contacts_of(pool(request), row["id"], channel)
        return json_response([contact_json(found) for found in rows])

    async def add_contact(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        target, region, primary = fields(call.body)
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

    async def get_contact(request: web.Request, call: Call) -> web.Response:
        _, row = await _owner(request)
        _, found = await existing(request, row["id"])
        return json_response(contact_json(found))

    async def replace_contact(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        contact_id, _ = await existing(request, row["id"])
        target, region, primary = fields(call.body)
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

    async def remove_contact(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        contact_id, _ = await existing(request, row["id"])
        await _write(request, actor, row, lambda user: user.remove_contact(contact_id))
        return web.Response(status=204)

    async def search_contact(request: web.Request, call: Call) -> web.Response:
        """Targets compare as the domain normalises them (phone separators dropped, emails
        ignoring case), so the target a client stored finds its contact."""
        _, row = await _owner(request)
        with _domain_rules():
            wanted = Contact(channel, call.body.target).checked().key
        for found in await read_model.contacts_of(pool(request), row["id"], channel):
            if Contact(channel, found["target"]).key == wanted:
                return json_response(contact_json(found))
        raise ProblemError(404, "NOT_FOUND", f"user {row['id']} has no {noun} with this target")

    return Handlers(
        list_contacts, add_contact, get_contact, replace_contact, remove_contact, search_contact
    )


# --- notification preferences -------------------------------------------------------------


def _rule_handlers(kind: RuleKind) -> Handlers:
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

    async def list_rules(request: web.Request, call: Call) -> web.Response:
        _, row = await _owner(request)
        rows = await read_model.notification_rules(pool(request), row["id"], kind)
        return json_response([rule_json(found) for found in rows])

    async def add_rule(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        settings = _rule_settings(call.body)
        rule_id = await _write(request, actor, row, lambda user: user.add_rule(kind, settings))
        return await answer(request, row["id"], rule_id, 201)

    async def get_rule(request: web.Request, call: Call) -> web.Response:
        _, row = await _owner(request)
        return await answer(request, row["id"], await existing(request, row["id"]), 200)

    async def replace_rule(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        rule_id = await existing(request, row["id"])
        settings = _rule_settings(call.body)
        await _write(request, actor, row, lambda user: user.change_rule(rule_id, settings))
        return await answer(request, row["id"], rule_id, 200)

    async def remove_rule(request: web.Request, call: Call) -> web.Response:
        actor, row = await _owner(request)
        rule_id = await existing(request, row["id"])
        await _write(request, actor, row, lambda user: user.remove_rule(rule_id))
        return web.Response(status=204)

    return Handlers(list_rules, add_rule, get_rule, replace_rule, remove_rule)


# --- the route table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Handlers:
    list_items: Handler
    add_item: Handler
    get_item: Handler
    replace_item: Handler
    remove_item: Handler
    search: Handler | None = None


@dataclass(frozen=True)
class Collection:
    """One of a user's item collections, as its five routes (and search) document it."""

    segment: str
    #: the operation ids' noun: "EmailContact" -> listEmailContacts, addEmailContact, ...
    name: str
    noun: str
    type: Any
    item_key: str
    text: str
    #: what ``search-target`` takes, when the collection has that route
    search_type: Any = None


USER = "/api/users/{id:[0-9]+}"
INT64 = {"type": "integer", "format": "int64"}
USER_ID = Param("id", "path", INT64, "the user's id")
TAG = "Users"


def collection_routes(c: Collection, handlers: Handlers) -> tuple[Route, ...]:
    """GET and POST on the collection, GET, PUT and DELETE on one item; the user themself
    or an ADMIN (``self_param``: the route table checks it before the body is read)."""
    base = f"{USER}/{c.segment}"
    one = f"{base}/{{{c.item_key}}}"
    item_id = Param(
        c.item_key, "path", {"type": "integer", "format": "int64"}, f"the {c.noun}'s id"
    )
    answer = Answer(f"The {c.noun}", c.type)
    routes = [
        Route(
            "GET",
            base,
            handlers.list_items,
            f"list{c.name}s",
            TAG,
            f"The user's {c.noun}s",
            {200: Answer(f"The {c.noun}s", list[c.type])},  # type: ignore[name-defined]
            problems=(404,),
            params=(USER_ID,),
            role=Role.ADMIN,
            self_param="id",
        ),
        Route(
            "POST",
            base,
            handlers.add_item,
            f"add{c.name}",
            TAG,
            f"Add one {c.noun}",
            {201: answer},
            body=c.type,
            problems=(400, 404, 409),
            params=(USER_ID,),
            role=Role.ADMIN,
            self_param="id",
            description=c.text,
        ),
        Route(
            "GET",
            one,
            handlers.get_item,
            f"get{c.name}",
            TAG,
            f"One {c.noun}",
            {200: answer},
            problems=(404,),
            params=(USER_ID, item_id),
            role=Role.ADMIN,
            self_param="id",
        ),
        Route(
            "PUT",
            one,
            handlers.replace_item,
            f"replace{c.name}",
            TAG,
            f"Replace one {c.noun}",
            {200: answer},
            body=c.type,
            problems=(400, 404, 409),
            params=(USER_ID, item_id),
            role=Role.ADMIN,
            self_param="id",
            description=c.text,
        ),
        Route(
            "DELETE",
            one,
            handlers.remove_item,
            f"remove{c.name}",
            TAG,
            f"Remove one {c.noun}",
            {204: Answer("Removed")},
            problems=(404, 409),
            params=(USER_ID, item_id),
            role=Role.ADMIN,
            self_param="id",
        ),
    ]
    if handlers.search is not None:
        # before ``{item_key}``: a literal segment is no item id
        routes.insert(
            2,
            Route(
                "POST",
                f"{base}/search-target",
                handlers.search,
                f"search{c.name}",
                TAG,
                f"The {c.noun} with this target",
                {200: answer},
                body=c.search_type or ContactSearch,
                problems=(400, 404),
                params=(USER_ID,),
                role=Role.ADMIN,
                self_param="id",
            ),
        )
    return tuple(routes)


CONTACTS = {
    Channel.EMAIL: Collection(
        "contacts/emails",
        "EmailContact",
        "email contact",
        EmailContact,
        "contact_id",
        CONTACT_TEXT,
        EmailSearch,
    ),
    Channel.PHONE: Collection(
        "contacts/phone-numbers",
        "PhoneContact",
        "phone number",
        PhoneContact,
        "contact_id",
        CONTACT_TEXT,
        PhoneSearch,
    ),
}
RULES = {
    RuleKind.ALERTS: Collection(
        "notification-preferences/alerts",
        "AlertNotificationPreference",
        "alert notification rule",
        AlertRule,
        "rule_id",
        RULE_TEXT,
    ),
    RuleKind.DUTIES: Collection(
        "notification-preferences/duties",
        "DutyNotificationPreference",
        "on-call duty notification rule",
        DutyRule,
        "rule_id",
        RULE_TEXT,
    ),
    RuleKind.UPDATES: Collection(
        "notification-preferences/updates",
        "UpdateNotificationPreference",
        "alert update notification rule",
        UpdateRule,
        "rule_id",
        RULE_TEXT,
    ),
}

ROUTES = (
    *(
        r
        for channel, c in CONTACTS.items()
        for r in collection_routes(c, _contact_handlers(channel))
    ),
    *(r for kind, c in RULES.items() for r in collection_routes(c, _rule_handlers(kind))),
)
