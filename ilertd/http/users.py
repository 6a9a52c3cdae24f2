"""/api/users: users as ilert has them, plus ilertd's API keys per user.

Reads come from the users projection; writes load the User aggregate, run a command and
wait until the projections applied the append, so the answer (and the caller's next GET)
shows the change. Any authenticated user may read users; only an ADMIN creates or deletes
them or changes anyone's role; users may edit their own profile and manage their own keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from projections import users as read_model

from ..bootstrap import BOOTSTRAP_ADMIN_ID
from ..domain.errors import DomainError
from ..domain.user import Profile, Role, User
from ..domain.wire_time import wire_time_or_none
from ..security import generate_api_key, hash_api_key
from .authz import caller, has_role, require_role, require_self_or_role
from .paging import MAX_BIGINT, page
from .problems import ProblemError, json_response
from .writes import bad, domain_problem, pool, save, writer

#: users' 503 while the repository is not set up (the other resources say "not ready").
_UNAVAILABLE = "ilertd is starting: try again"


timestamp = wire_time_or_none


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
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


async def _json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` when ``optional``."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ProblemError(400, "BAD_REQUEST", "the body must be a JSON object")
    return body


def _string(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    """A string field; null or absent is None (or 400 when required)."""
    value = body.get(field)
    if value is None:
        if required:
            raise bad(field, "is required", separator=" ")
        return None
    if not isinstance(value, str):
        raise bad(field, f"must be a string, not {_json_type(value)}", separator=" ")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an object" if isinstance(value, dict) else "an array"


def _moment(body: dict[str, Any], field: str) -> datetime | None:
    """An ISO-8601 date-time; without an offset it is taken as UTC."""
    value = _string(body, field)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad(
            field, "must be an ISO-8601 date-time such as 2030-01-01T08:00:00Z", separator=" "
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _profile(body: dict[str, Any]) -> Profile:
    """The whole profile from a POST or PUT body: absent (or null) fields take defaults."""
    defaults = Profile(email="", first_name="", last_name="")

    def given(field: str, default: str) -> str:
        value = _string(body, field)
        return default if value is None else value

    return Profile(
        email=_string(body, "email", required=True) or "",
        first_name=_string(body, "firstName", required=True) or "",
        last_name=_string(body, "lastName", required=True) or "",
        username=given("username", defaults.username),
        role=given("role", defaults.role),
        timezone=given("timezone", defaults.timezone),
        language=given("language", defaults.language),
        muted_until=_moment(body, "mutedUntil"),
    )


def _user_id(request: web.Request) -> int:
    """The path's user id; the route admits only digits, so only the range is left."""
    raw = request.match_info["id"]
    if len(raw) > 19 or int(raw) > MAX_BIGINT:
        raise ProblemError(404, "NOT_FOUND", f"no user {raw[:20]}")
    return int(raw)


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
    position = await save(request, actor, user, unavailable=_UNAVAILABLE)
    assert position is not None, "every command triggers an event"
    return position


async def _load(request: web.Request, row: asyncpg.Record) -> User:
    """The user behind a row ``_live_user`` returned (not re-checked for deletion, as
    before: the domain's own rules answer for a user deleted in between)."""
    repository, _ = writer(request, unavailable=_UNAVAILABLE)
    user: User = await repository.load(row["stream_id"])
    return user


async def _admins_besides(request: web.Request, user_id: int) -> int:
    return await read_model.count_admins(pool(request), except_id=user_id)


# --- users --------------------------------------------------------------------------------


async def current_user(request: web.Request) -> web.Response:
    return json_response(user_json(caller(request)))


async def list_users(request: web.Request) -> web.Response:
    caller(request)
    start, limit = page(request)
    rows = await read_model.list_users(pool(request), start, limit)
    return json_response([user_json(row) for row in rows])


async def get_user(request: web.Request) -> web.Response:
    caller(request)
    return json_response(user_json(await _live_user(request, _user_id(request))))


async def create_user(request: web.Request) -> web.Response:
    admin = require_role(request, Role.ADMIN)
    profile = _profile(await _json_object(request))
    with _domain_rules():
        user = User.register(profile)
    await _check_unique(request, user.profile, None)
    user_id = await _save(request, user, admin)
    row = await _live_user(request, user_id)
    return json_response(user_json(row), status=201)


async def replace_user(request: web.Request) -> web.Response:
    """PUT: the body replaces the whole profile. Users may edit themselves, but only an
    ADMIN edits others or changes a role."""
    user_id = _user_id(request)
    actor = require_self_or_role(request, user_id, Role.ADMIN)
    row = await _live_user(request, user_id)
    profile = _profile(await _json_object(request))
    if profile.role != row["role"] and not has_role(actor, Role.ADMIN):
        raise ProblemError(
            403,
            "FORBIDDEN",
            f"only an ADMIN changes roles: send role {row['role']} to keep yours",
            field="role",
        )
    user = await _load(request, row)
    with _domain_rules():
        user.update(
            profile,
            other_admins=await _admins_besides(request, user_id),
            is_bootstrap=user.id == BOOTSTRAP_ADMIN_ID,
        )
    await _check_unique(request, user.profile, user_id)
    await _save(request, user, actor)
    return json_response(user_json(await _live_user(request, user_id)))


async def delete_user(request: web.Request) -> web.Response:
    admin = require_role(request, Role.ADMIN)
    user_id = _user_id(request)
    user = await _load(request, await _live_user(request, user_id))
    with _domain_rules():
        user.delete(
            other_admins=await _admins_besides(request, user_id),
            is_bootstrap=user.id == BOOTSTRAP_ADMIN_ID,
        )
    await _save(request, user, admin)
    return web.Response(status=204)


# --- API keys (ilertd's addition: ilert manages keys in its UI) ---------------------------


async def issue_api_key(request: web.Request) -> web.Response:
    """201 with the key itself: the only time it is shown; only its hash is stored."""
    user_id = _user_id(request)
    actor = require_self_or_role(request, user_id, Role.ADMIN)
    row = await _live_user(request, user_id)
    label = _string(await _json_object(request, optional=True), "label") or ""
    key, key_id = generate_api_key(), uuid.uuid4()
    user = await _load(request, row)
    with _domain_rules():
        user.issue_api_key(key_id, hash_api_key(key), label)
    await _save(request, user, actor)
    issued = await read_model.api_key_of(pool(request), user_id, key_id)
    if issued is None:  # deleted between our read and our append
        raise ProblemError(404, "NOT_FOUND", f"no user {user_id}")
    return json_response({**_key_json(issued), "apiKey": key}, status=201)


async def list_api_keys(request: web.Request) -> web.Response:
    user_id = _user_id(request)
    require_self_or_role(request, user_id, Role.ADMIN)
    await _live_user(request, user_id)
    rows = await read_model.api_keys_of(pool(request), user_id)
    return json_response([_key_json(row) for row in rows])


async def revoke_api_key(request: web.Request) -> web.Response:
    user_id = _user_id(request)
    actor = require_self_or_role(request, user_id, Role.ADMIN)
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


def add_routes(app: web.Application) -> None:
    one = "/api/users/{id:[0-9]+}"
    app.router.add_get("/api/users/current", current_user)
    app.router.add_get("/api/users", list_users)
    app.router.add_post("/api/users", create_user)
    app.router.add_get(one, get_user)
    app.router.add_put(one, replace_user)
    app.router.add_delete(one, delete_user)
    app.router.add_get(one + "/api-keys", list_api_keys)
    app.router.add_post(one + "/api-keys", issue_api_key)
    app.router.add_delete(one + "/api-keys/{key_id}", revoke_api_key)
