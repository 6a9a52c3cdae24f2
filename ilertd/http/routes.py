"""Routes declared once: each ``Route`` is registered on the aiohttp router, validates its
request body with its msgspec type, checks the caller's role, and describes itself in
``/api-docs/openapi.json``; the document's paths and schemas for these routes are built
from the same declarations (``document_parts``), never written by hand.

msgspec, not pydantic: decoding and validating an Events API body into a typed object
took 0.65 us with msgspec, 3.75 us with pydantic v2 (orjson.loads alone, untyped: 0.85 us;
orjson plus today's hand-written checks: 14.7 us), and msgspec writes JSON Schema 2020-12,
OpenAPI 3.1's own dialect.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson
from aiohttp import web

from ..domain.user import Role
from .authz import caller, require_role, require_self_or
from .body import NUL_ESCAPE, nul_at
from .problems import ProblemError

REF_TEMPLATE = "#/components/schemas/{name}"


@dataclass(frozen=True)
class Call:
    """What the route checked before the handler runs: who calls, and the decoded body."""

    caller: Any
    body: Any = None


Handler = Callable[[web.Request, Call], Awaitable[web.StreamResponse]]


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """One documented answer: its description and the type its body has (None: none), in
    ``media`` (JSON unless said: TwiML is application/xml, a page text/html)."""

    description: str
    type: Any = None
    media: str = JSON


@dataclass(frozen=True)
class Param:
    """A path or query parameter, for the document (handlers parse their own)."""

    name: str
    where: str
    schema: Mapping[str, Any]
    description: str = ""
    deprecated: bool = False
    #: a query parameter the route cannot do without (path parameters always are)
    required: bool = False
    #: a query list given as repeated parameters (``?states=A&states=B``)
    explode: bool = False


@dataclass(frozen=True)
class Authorizer:
    """A check of the caller against the resource the path names (a team's roles), run
    after ``Route.role`` and before the body is read: a caller without the right gets the
    403 (or the 404 of what they may not see) whatever they sent. ``stated`` joins the
    document's ``x-ilertd-access``."""

    check: Callable[[web.Request, Any], Awaitable[None]]
    stated: Mapping[str, Any]
    #: the check itself decides whether the caller holds ``Route.role``, which a team role
    #: may raise (``http.team_access``): the route does not refuse them on their account
    #: role first
    raises_role: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    operation_id: str
    tag: str
    summary: str
    answers: Mapping[int, Answer]
    #: minimum role; None lets any authenticated caller in
    role: Role | None = None
    #: the path parameter that names a user (id or username): that user may call the route
    #: whatever their role (their own profile, keys, contacts); everyone else needs ``role``
    self_param: str | None = None
    #: a check against the resource the path names, before the body (``Authorizer``)
    authorize: Authorizer | None = None
    #: the msgspec type the JSON body must decode into; None: no body
    body: Any = None
    problems: tuple[int, ...] = ()
    params: tuple[Param, ...] = field(default_factory=tuple)
    #: no Bearer key: the route authenticates by other means (an integration key in the
    #: body, a provider's signature, a signed link); ``call.caller`` is None
    public: bool = False
    #: the body's media type: JSON, or FORM (fields decoded into ``body`` as strings)
    body_media: str = JSON
    #: a JSON body may be left out (``call.body`` is then None)
    body_optional: bool = False
    description: str = ""
    #: the route needs the database; one that does not (health, the document) answers while
    #: ilertd starts, every other one 503 from the readiness middleware
    database: bool = True
    #: a drop-in for another provider's API answers its errors in that provider's shape
    #: (PagerDuty's ``{"status": "invalid event", ...}``): the route's and the handler's
    #: ``ProblemError``s go through this instead of becoming problem documents
    problem_answer: Callable[[ProblemError], web.StreamResponse] | None = None


@dataclass(frozen=True)
class Resource:
    """A resource served by the five standard routes (list, create, get, replace, delete);
    ``crud_routes`` writes them, so each resource states only what differs."""

    base: str
    tag: str
    #: the operation ids' noun, singular and plural: "AlertSource", "AlertSources"
    name: str
    names: str
    #: the summaries' noun with its article, and the plural: "an alert source", "alert sources"
    one: str
    many: str
    type: Any
    id_param: Param
    write_role: Role = Role.ADMIN
    create_problems: tuple[int, ...] = (400,)
    replace_problems: tuple[int, ...] = (400, 404, 409)
    delete_problems: tuple[int, ...] = (404, 409)
    list_params: tuple[Param, ...] = ()


def crud_routes(
    resource: Resource,
    *,
    list_all: Handler,
    create: Handler,
    get: Handler,
    replace: Handler,
    delete: Handler,
) -> tuple[Route, ...]:
    """The five standard routes of ``resource``: GET and POST on its base, GET, PUT and
    DELETE on ``{base}/{id}``; create answers 201, delete 204, as ilert's clients check."""
    r = resource
    item = f"{r.base}/{{{r.id_param.name}}}"
    noun = r.one.split(" ", 1)[1]
    one = Answer(f"The {noun}", r.type)
    return (
        Route(
            "GET",
            r.base,
            list_all,
            f"list{r.names}",
            r.tag,
            f"List {r.many}",
            {200: Answer(r.many[:1].upper() + r.many[1:], list[r.type])},  # type: ignore[name-defined]
            problems=(400,),
            params=r.list_params,
        ),
        Route(
            "POST",
            r.base,
            create,
            f"create{r.name}",
            r.tag,
            f"Create {r.one}",
            {201: one},
            role=r.write_role,
            body=r.type,
            problems=r.create_problems,
        ),
        Route(
            "GET",
            item,
            get,
            f"get{r.name}",
            r.tag,
            f"One {noun}",
            {200: one},
            problems=(404,),
            params=(r.id_param,),
        ),
        Route(
            "PUT",
            item,
            replace,
            f"replace{r.name}",
            r.tag,
            f"Replace {r.one}",
            {200: one},
            role=r.write_role,
            body=r.type,
            problems=r.replace_problems,
            params=(r.id_param,),
        ),
        Route(
            "DELETE",
            item,
            delete,
            f"delete{r.name}",
            r.tag,
            f"Delete {r.one}",
            {204: Answer("Deleted")},
            role=r.write_role,
            problems=r.delete_problems,
            params=(r.id_param,),
        ),
    )


#: The routes declared ``database=False``, as aiohttp routes (what a request matched).
WITHOUT_DATABASE = web.AppKey("routes_without_database", set)


def register(app: web.Application, routes: Iterable[Route]) -> None:
    without = app.setdefault(WITHOUT_DATABASE, set())
    for route in routes:
        added = app.router.add_route(route.method, route.path, _bound(route))
        if not route.database:
            without.add(added)


def _bound(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    decoder = msgspec.json.Decoder(route.body) if route.body is not None else None
    form = route.body_media == FORM
    if route.self_param is not None and route.role is None:
        raise ValueError(f"{route.operation_id}: self_param needs the role everyone else needs")
    minimum = route.role or Role.ADMIN

    async def handle(request: web.Request) -> web.StreamResponse:
        if route.public:
            who = None
        elif route.self_param is not None:
            who = require_self_or(request, request.match_info[route.self_param], minimum)
        elif route.role is None or (route.authorize is not None and route.authorize.raises_role):
            who = caller(request)
        else:
            who = require_role(request, route.role)
        if route.authorize is not None:
            await route.authorize.check(request, who)
        if route.problem_answer is None:
            return await _decoded(request, who)
        try:
            return await _decoded(request, who)
        except ProblemError as exc:
            return route.problem_answer(exc)

    async def _decoded(request: web.Request, who: Any) -> web.StreamResponse:
        body = None
        if form:
            body = decode_form(await _form_fields(request), route.body)
        elif decoder is not None:
            raw = await request.read()
            if raw.strip() or not route.body_optional:
                body = decode(raw, decoder, route.body)
        return await route.handler(request, Call(who, body))

    handle.__name__ = route.operation_id
    return handle


# -- bodies ----------------------------------------------------------------------------


def decode(raw: bytes, decoder: msgspec.json.Decoder[Any], kind: Any) -> Any:
    """The body as ``kind``, or a 400 naming the field and what is wrong with it."""
    if not raw.strip():
        raise ProblemError(400, "BAD_REQUEST", "body: a JSON body is required", field="body")
    try:
        value = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        where, message = explain(str(exc), kind)
        raise ProblemError(400, "BAD_REQUEST", f"{where}: {message}", field=where) from None
    except msgspec.DecodeError as exc:
        raise ProblemError(
            400, "BAD_REQUEST", f"body: not valid JSON ({exc})", field="body"
        ) from None
    except RecursionError:  # msgspec gives up at about 1,000 levels, even in ignored fields
        raise ProblemError(400, "BAD_REQUEST", "body: nested too deeply", field="body") from None
    if NUL_ESCAPE in raw and (where := nul_at(orjson.loads(raw), "body")):
        # PostgreSQL's jsonb cannot hold U+0000; refuse it here rather than fail at commit.
        raise ProblemError(
            400, "BAD_REQUEST", f"{where}: contains a NUL character (U+0000)", field=where
        )
    return value


async def _form_fields(request: web.Request) -> dict[str, Any]:
    """The form's fields; a body that is not a form is a 400 (415 for another media)."""
    if request.content_type not in (FORM, "multipart/form-data"):
        raise ProblemError(415, "UNSUPPORTED_MEDIA_TYPE", f"body: must be {FORM}", field="body")
    try:
        return dict(await request.post())
    except ValueError as exc:  # a multipart body without its boundary, for one
        raise ProblemError(
            400, "BAD_REQUEST", f"body: not a valid form ({exc})", field="body"
        ) from None


def decode_form(fields: dict[str, Any], kind: Any) -> Any:
    """Form fields (strings) as ``kind``, or a 400 naming the field."""
    try:
        return msgspec.convert(
            {k: v for k, v in fields.items() if isinstance(v, str)}, kind, strict=False
        )
    except msgspec.ValidationError as exc:
        where, message = explain(str(exc), kind)
        raise ProblemError(400, "BAD_REQUEST", f"{where}: {message}", field=where) from None


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_EXPECTED = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_LENGTH = re.compile(r"Expected `(?P<kind>str|array|object)` of length (?P<op>[<>]=) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `(?P<kind>int|float)` (?P<op>[<>]=?) (?P<n>-?[\d.]+)")
_PATTERN = re.compile(r"Expected `str` matching regex '(?P<pattern>.*)'")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_ENUM = re.compile(r"Invalid enum value (?P<value>.+)")

_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def explain(error: str, kind: Any) -> tuple[str, str]:
    """(field, message) from msgspec's error text, in ilertd's wording:
    ``Expected `str | null`, got `int` - at `$.name``` -> ("name", "must be a string or
    null, got an integer")."""
    match = _AT.match(error)
    assert match is not None
    # msgspec names a dict's value "[...]", not by its key: name the dict then
    what, path = match["what"], (match["path"] or "").lstrip(".").split("[...]", 1)[0]
    where = path or "body"
    if found := _MISSING.fullmatch(what):
        name = found["name"]
        return (f"{path}.{name}" if path else name), "is required"
    if found := _EXPECTED.fullmatch(what):
        kinds = [_KINDS.get(k.strip(), k.strip()) for k in found["want"].split("|")]
        wanted = " or ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)
        return where, f"must be {wanted}, got {_KINDS.get(found['got'], found['got'])}"
    if found := _LENGTH.fullmatch(what):
        unit = {"str": "characters", "array": "items", "object": "entries"}[found["kind"]]
        most = "at most" if found["op"] == "<=" else "at least"
        return where, f"must have {most} {found['n']} {unit}"
    if found := _BOUND.fullmatch(what):
        words = {"<=": "at most", ">=": "at least", "<": "below", ">": "above"}
        return where, f"must be {words[found['op']]} {found['n']}"
    if found := _PATTERN.fullmatch(what):
        return where, f"must be a string matching {found['pattern']}"
    if found := _ENUM.fullmatch(what):
        allowed = _enum_values(kind, path)
        listed = f"; one of {', '.join(allowed)}" if allowed else ""
        return where, f"{found['value']} is not a known value{listed}"
    return where, what[:1].lower() + what[1:]


def _enum_values(kind: Any, path: str) -> list[str]:
    """The literal values the field at ``path`` (top level only) admits, for the message."""
    info = msgspec.inspect.type_info(kind)
    if isinstance(info, msgspec.inspect.Metadata):  # a body with rules for the document
        info = info.type
    if not isinstance(info, msgspec.inspect.StructType) or "." in path or "[" in path:
        return []
    for field_info in info.fields:
        if field_info.encode_name == path:
            return [str(v) for v in _literals(field_info.type)]
    return []


def _literals(info: msgspec.inspect.Type) -> list[Any]:
    if isinstance(info, msgspec.inspect.LiteralType):
        return list(info.values)
    if isinstance(info, msgspec.inspect.UnionType):
        return [v for t in info.types for v in _literals(t)]
    if isinstance(info, msgspec.inspect.Metadata):
        return _literals(info.type)
    return []


# -- the document ----------------------------------------------------------------------


def document_parts(
    routes: Iterable[Route],
    problem: Callable[[int], dict[str, Any]],
    auth_problems: tuple[int, ...] = (401, 403),
    extra_types: Iterable[Any] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, schemas) for ``routes``; ``problem(status)`` is the document's answer for a
    problem status (the hand-written part of the document owns the Problem schema).
    ``extra_types``: types the hand-written paths refer to by name, schemas only."""
    routes = list(routes)
    types = [r.body for r in routes if r.body is not None] + [
        a.type for r in routes for a in r.answers.values() if a.type is not None
    ]
    types += list(extra_types)
    schemas_of, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    schema_by_type = dict(zip(map(_key, types), schemas_of, strict=True))
    paths: dict[str, Any] = {}
    for route in routes:
        responses: dict[str, Any] = {}
        for status, answer in sorted(route.answers.items()):
            responses[str(status)] = {"description": answer.description}
            if answer.type is not None:
                schema = schema_by_type[_key(answer.type)]
                responses[str(status)]["content"] = {answer.media: {"schema": schema}}
        checks = () if route.public else auth_problems
        media = (400, 415) if route.body_media == FORM else ()
        timed = (408,) if route.body is not None else ()  # http.body_timeout_s
        for status in sorted({*route.problems, *checks, *media, *timed, 503}):
            responses.setdefault(str(status), problem(status))
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "tags": [route.tag],
            "summary": route.summary + (f" ({access_text(route)})" if route.role else ""),
            "responses": responses,
            ACCESS: access(route),
        }
        if route.description:
            operation["description"] = route.description
        if route.public:
            operation["security"] = []
        if route.params:
            operation["parameters"] = [_param(p) for p in route.params]
        if route.body is not None:
            operation["requestBody"] = {
                "required": not route.body_optional,
                "content": {route.body_media: {"schema": schema_by_type[_key(route.body)]}},
            }
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = operation
    return paths, components


#: The operation's extension that states who may call it (tests/integration/
#: test_permission_table.py asserts it against every role's answers).
ACCESS = "x-ilertd-access"


def access(route: Route) -> dict[str, Any]:
    """Who may call ``route``: ``{"public": true}`` (no API key: an integration key, a
    signature or a signed link instead), else the minimum ``role`` (null: any
    authenticated caller) and, where the route names a user, ``self``: that path
    parameter's user may call it too."""
    if route.public:
        return {"public": True}
    stated: dict[str, Any] = {"role": route.role.value if route.role else None}
    if route.self_param is not None:
        stated["self"] = route.self_param
    if route.authorize is not None:
        stated.update(route.authorize.stated)
    return stated


def access_text(route: Route) -> str:
    assert route.role is not None
    if route.self_param is not None:
        return f"the user themself or {route.role.value}"
    team = (route.authorize.stated.get("team") if route.authorize else None) or {}
    if "role" in team:
        return f"{route.role.value}, or {team['role']} in the team"
    return route.role.value


def _key(kind: Any) -> str:
    return repr(kind)


def _param(param: Param) -> dict[str, Any]:
    result: dict[str, Any] = {"name": param.name, "in": param.where, "schema": dict(param.schema)}
    if param.where == "path" or param.required:
        result["required"] = True
    if param.description:
        result["description"] = param.description
    if param.deprecated:
        result["deprecated"] = True
    if param.explode:
        result["explode"] = True
    return result
