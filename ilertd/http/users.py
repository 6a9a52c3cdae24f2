"""/api/users: users as ilert has them, plus ilertd's API keys per user.

Reads come from the users projection; writes load the User aggregate, run a command and
wait until the projections applied the append, so the answer (and the caller's next GET)
shows the change. Any authenticated user may read users; only an ADMIN creates or deletes
them or changes anyone's role; users may edit their own profile and manage their own keys.

ilert-go names a user by id or by username (``GetUser``, ``UpdateUser``, ``DeleteUser``),
edits the caller through ``/api/users/current`` and finds one by email with
``POST /api/users/search-email``; all three are served.

``password`` (write-only) on POST and PUT sets the password Basic auth checks: checked,
hashed off the event loop, and recorded as its hash only; no answer carries it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from projections import users as read_model

from ..bootstrap import BOOTSTRAP_ADMIN_ID
from ..contract.users import ApiKey, ApiKeyCreated, ApiKeyRequest, UserInput, UserSearch
from ..contract.users import User as UserBody
from ..domain.errors import DomainError
from ..domain.user import Profile, Role, User, check_password
from ..domain.wire_time import wire_time_or_none
from ..security import generate_api_key, hash_api_key, hash_password
from . import auth
from .authz import has_role
from .paging import MAX_BIGINT, PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Resource, Route, crud_routes
from .writes import bad, domain_problem, parse_id, pool, save, writer

timestamp = wire_time_or_none


def wire_name(name: str) -> str:
    """A Profile field's name on the wire: ``shift_color`` is ``shiftColor``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    details = orjson.loads(row["details"])
    return {
        **{wire_name(name): value for name, value in details.items()},
        "id": row["id"],
        "username": row["username"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"],
        "timezone": row["timezone"],
        "language": row["language"],
        "role": row["role"],
        "mutedUntil": timestamp(row["muted_until"]),
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["updated_at"]),
    }


def _key_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["key_id"]),
        "label": row["label"],
        "createdAt": timestamp(row["created_at"]),
    }


# --- reading the request ------------------------------------------------------------------


def _moment(field: str, value: str | None) -> datetime | None:
    """An ISO-8601 date-time; without an offset it is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad(
            field, "must be an ISO-8601 date-time such as 2030-01-01T08:00:00Z", separator=" "
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


#: wire values the domain takes in another type (the rest it takes as decoded)
_FROM_WIRE: dict[str, Callable[[Any], Any]] = {
    "muted_until": lambda value: _moment("mutedUntil", value),
}


def _profile(body: UserBody) -> Profile:
    """The whole profile from a POST or PUT body: absent (or null) fields take defaults.
    Every Profile field is read from the body field of its wire name, so a new field needs
    no edit here (a test checks that the body type has each one)."""
    given: dict[str, Any] = {}
    for field in fields(Profile):
        value = getattr(body, wire_name(field.name))
        if value is not None:
            convert = _FROM_WIRE.get(field.name)
            given[field.name] = convert(value) if convert else value
    return Profile(**given)


async def _password_hash(body: UserBody) -> str | None:
    """The hash of the body's ``password`` once it passes the rules (400 naming it); None
    when the body has none, which keeps the current one."""
    if body.password is None:
        return None
    with _domain_rules():
        check_password(body.password)
    return await hash_password(body.password)


def _user_id(request: web.Request) -> int:
    """The path's user id; the route admits only digits, so only the range is left."""
    raw = request.match_info["id"]
    if len(raw) > 19 or int(raw) > MAX_BIGINT:
        raise ProblemError(404, "NOT_FOUND", f"no user {raw[:20]}")
    return int(raw)


def _id_or_name(request: web.Request) -> int | str:
    """``/api/users/{id}`` takes an id or, as ilert-go's GetUser sends it, a username."""
    raw = request.match_info["id"]
    return parse_id(raw) or raw


# --- services -----------------------------------------------------------------------------


async def _live_user(request: web.Request, user_id: int) -> asyncpg.Record:
    row = await read_model.user_by_id(pool(request), user_id)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no user {user_id}")
    return row


async def _check_unique(request: web.Request, profile: Profile, except_id: int | None) -> None:
    taken = await read_model.taken_by(
        pool(request), email=profile.email, username=profile.username, except_id=except_id
    )
    if taken is not None:
        value = profile.email if taken == "email" else profile.username
        raise ProblemError(
            409, "CONFLICT", f"{taken} {value!r} is already taken by another user", field=taken
        )


@contextmanager
def _domain_rules() -> Iterator[None]:
    """Aggregate rule violations as answers: a bad value 400, a broken rule 409."""
    try:
        yield
    except DomainError as exc:
        raise domain_problem(exc) from None


async def _save(request: web.Request, user: User, actor: asyncpg.Record) -> int:
    """Append the user's new events and wait until the read model shows them; the position
    of the first (a new user's id)."""
    position = await save(request, actor, user)
    assert position is not None, "every command triggers an event"
    return position


async def _load(request: web.Request, row: asyncpg.Record) -> User:
    """The user behind a row ``_live_user`` returned (not re-checked for deletion, as
    before: the domain's own rules answer for a user deleted in between)."""
    repository, _ = writer(request)
    user: User = await repository.load(row["stream_id"])
    return user


async def _admins_besides(request: web.Request, user_id: int) -> int:
    return await read_model.count_admins(pool(request), except_id=user_id)


# --- users --------------------------------------------------------------------------------


async def _named(request: web.Request, user: int | str) -> asyncpg.Record:
    """The live user with this id or username (404)."""
    if isinstance(user, int):
        return await _live_user(request, user)
    row = await read_model.user_by_name(pool(request), username=user)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"no user {user[:40]}")
    return row


async def current_user(request: web.Request, call: Call) -> web.Response:
    return json_response(user_json(call.caller))


async def list_users(request: web.Request, call: Call) -> web.Response:
    start, limit = page(request)
    rows = await read_model.list_users(pool(request), start, limit)
    return json_response([user_json(row) for row in rows])


async def get_user(request: web.Request, call: Call) -> web.Response:
    return json_response(user_json(await _named(request, _id_or_name(request))))


async def search_user(request: web.Request, call: Call) -> web.Response:
    """POST /api/users/search-email, ilert-go's SearchUser (the Terraform user data source)."""
    row = await read_model.user_by_name(pool(request), email=call.body.email.strip())
    if row is None:
        raise ProblemError(404, "NOT_FOUND", "no user has this email")
    return json_response(user_json(row))


async def create_user(request: web.Request, call: Call) -> web.Response:
    """``?send-no-invitation`` (ilert-go's) is accepted: ilertd sends no invitations."""
    profile = _profile(call.body)
    with _domain_rules():
        user = User.register(profile)
    password_hash = await _password_hash(call.body)
    await _check_unique(request, user.profile, None)
    if password_hash is not None:
        user.set_password(password_hash)
    user_id = await _save(request, user, call.caller)
    row = await _live_user(request, user_id)
    return json_response(user_json(row), status=201)


async def replace_user(request: web.Request, call: Call) -> web.Response:
    """PUT: the body replaces the whole profile (a ``password`` left out stays). Users may
    edit themselves, but only an ADMIN edits others or changes a role."""
    row = await _named(request, _id_or_name(request))
    return await _replace(request, call, row)


async def replace_current_user(request: web.Request, call: Call) -> web.Response:
    """PUT /api/users/current, ilert-go's UpdateCurrentUser."""
    return await _replace(request, call, call.caller)


async def _replace(request: web.Request, call: Call, row: asyncpg.Record) -> web.Response:
    user_id = row["id"]
    actor = call.caller  # the user themself or an ADMIN: the route table checked
    profile = _profile(call.body)
    if profile.role != row["role"] and not has_role(actor, Role.ADMIN):
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"only an ADMIN changes roles: send role {row['role']} to keep yours",
            field="role",
        )
    password_hash = await _password_hash(call.body)  # before the load: the hash takes a while
    user = await _load(request, row)
    with _domain_rules():
        user.update(
            profile,
            other_admins=await _admins_besides(request, user_id),
            is_bootstrap=user.id == BOOTSTRAP_ADMIN_ID,
        )
        if password_hash is not None:
            user.set_password(password_hash)
    await _check_unique(request, user.profile, user_id)
    await _save(request, user, actor)
    return json_response(user_json(await _live_user(request, user_id)))


async def delete_user(request: web.Request, call: Call) -> web.Response:
    row = await _named(request, _id_or_name(request))
    user = await _load(request, row)
    with _domain_rules():
        user.delete(
            other_admins=await _admins_besides(request, row["id"]),
            is_bootstrap=user.id == BOOTSTRAP_ADMIN_ID,
        )
    await _save(request, user, call.caller)
    return web.Response(status=204)


# --- API keys (ilertd's addition: ilert manages keys in its UI) ---------------------------


async def issue_api_key(request: web.Request, call: Call) -> web.Response:
    """201 with the key itself: the only time it is shown; only its hash is stored."""
    user_id = _user_id(request)
    actor = call.caller
    row = await _live_user(request, user_id)
    label = (call.body.label if call.body is not None else None) or ""
    key, key_id = generate_api_key(), uuid.uuid4()
    user = await _load(request, row)
    with _domain_rules():
        user.issue_api_key(key_id, hash_api_key(key), label)
    await _save(request, user, actor)
    issued = await read_model.api_key_of(pool(request), user_id, key_id)
    if issued is None:  # deleted between our read and our append
        raise ProblemError(404, "NOT_FOUND", f"no user {user_id}")
    return json_response({**_key_json(issued), "apiKey": key}, status=201)


async def list_api_keys(request: web.Request, call: Call) -> web.Response:
    user_id = _user_id(request)
    await _live_user(request, user_id)
    rows = await read_model.api_keys_of(pool(request), user_id)
    return json_response([_key_json(row) for row in rows])


async def revoke_api_key(request: web.Request, call: Call) -> web.Response:
    user_id = _user_id(request)
    actor = call.caller
    row = await _live_user(request, user_id)
    raw = request.match_info["key_id"]
    try:
        key_id = uuid.UUID(raw)
    except ValueError:
        raise ProblemError(404, "NOT_FOUND", f"user {user_id} has no API key {raw[:40]}") from None
    if await read_model.api_key_of(pool(request), user_id, key_id) is None:
        raise ProblemError(404, "NOT_FOUND", f"user {user_id} has no API key {key_id}")
    user = await _load(request, row)
    with _domain_rules():
        user.revoke_api_key(key_id)
    await _save(request, user, actor)
    return web.Response(status=204)


def setup(app: web.Application, config: Any) -> None:
    """Authentication's per-application state (its throttle): users own the credentials,
    and the server builds such state through its feature modules' ``setup``."""
    auth.setup(app, config)


# --- the route table ----------------------------------------------------------------------

BASE = "/api/users"
TAG = "Users"
#: subresources take ids only; ``/api/users/{id}`` itself takes a username too
ONE = BASE + "/{id:[0-9]+}"
USER_ID = Param("id", "path", {"type": "integer", "format": "int64"}, "the user's id")
KEY_ID = Param("key_id", "path", {"type": "string", "format": "uuid"}, "ApiKey.id")

USERS = Resource(
    base=BASE,
    tag=TAG,
    name="User",
    names="Users",
    one="a user",
    many="users",
    type=UserBody,
    id_param=Param(
        "id",
        "path",
        {"anyOf": [{"type": "integer", "format": "int64"}, {"type": "string"}]},
        "the user's id, or username (as ilert-go's GetUser sends it)",
    ),
    create_problems=(400, 409),
    list_params=PAGING,
)

_list, _create, _get, _replace_route, _delete = crud_routes(
    USERS,
    list_all=list_users,
    create=create_user,
    get=get_user,
    replace=replace_user,
    delete=delete_user,
)

#: literal paths (``/current``, ``/search-email``) come before ``{id}``, which would take them.
ROUTES = (
    Route(
        "GET",
        BASE + "/current",
        current_user,
        "getCurrentUser",
        TAG,
        "The caller",
        {200: Answer("The user", UserBody)},
    ),
    Route(
        "PUT",
        BASE + "/current",
        replace_current_user,
        "replaceCurrentUser",
        TAG,
        "Replace the caller's profile (a role change needs an ADMIN)",
        {200: Answer("The user", UserBody)},
        body=UserInput,
        problems=(400, 409),
    ),
    Route(
        "POST",
        BASE + "/search-email",
        search_user,
        "searchUserByEmail",
        TAG,
        "The user with this email (case ignored)",
        {200: Answer("The user", UserBody)},
        body=UserSearch,
        problems=(400, 404),
    ),
    _list,
    replace(
        _create,
        body=UserInput,
        params=(
            Param(
                "send-no-invitation",
                "query",
                {"type": "string", "examples": ["true"]},
                "accepted for ilert's clients, any value; ilertd sends no invitations",
            ),
        ),
    ),
    _get,
    # PUT is for the user themself too (by id or username), a role change for ADMINs only
    replace(_replace_route, self_param="id", summary="Replace a profile", body=UserInput),
    replace(_delete, summary="Delete a user, not the last ADMIN"),
    Route(
        "GET",
        ONE + "/api-keys",
        list_api_keys,
        "listApiKeys",
        TAG,
        "The user's API keys, without the keys (ilertd)",
        {200: Answer("API keys", list[ApiKey])},
        role=Role.ADMIN,
        self_param="id",
        problems=(404,),
        params=(USER_ID,),
    ),
    Route(
        "POST",
        ONE + "/api-keys",
        issue_api_key,
        "issueApiKey",
        TAG,
        "Issue an API key (ilertd); the body is optional",
        {201: Answer("The key, shown once", ApiKeyCreated)},
        role=Role.ADMIN,
        self_param="id",
        body=ApiKeyRequest,
        body_optional=True,
        problems=(400, 404),
        params=(USER_ID,),
    ),
    Route(
        "DELETE",
        ONE + "/api-keys/{key_id}",
        revoke_api_key,
        "revokeApiKey",
        TAG,
        "Revoke an API key (ilertd)",
        {204: Answer("Revoked")},
        role=Role.ADMIN,
        self_param="id",
        problems=(404,),
        params=(
            USER_ID,
            Param("key_id", "path", {"type": "string", "format": "uuid"}, "ApiKey.id"),
        ),
    ),
)
