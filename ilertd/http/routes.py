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
from .authz import caller, require_role
from .body import NUL_ESCAPE, nul_at
from .problems import ProblemError

REF_TEMPLATE = "#/components/schemas/{name}"


@dataclass(frozen=True)
class Call:
    """What the route checked before the handler runs: who calls, and the decoded body."""

    caller: Any
    body: Any = None


Handler = Callable[[web.Request, Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Answer:
    """One documented answer: its description and the type its JSON body has (None: none)."""

    description: str
    type: Any = None


@dataclass(frozen=True)
class Param:
    """A path or query parameter, for the document (handlers parse their own)."""

    name: str
    where: str
    schema: Mapping[str, Any]
    description: str = ""


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
    #: the msgspec type the JSON body must decode into; None: no body
    body: Any = None
    problems: tuple[int, ...] = ()
    params: tuple[Param, ...] = field(default_factory=tuple)


def register(app: web.Application, routes: Iterable[Route]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, _bound(route))


def _bound(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    decoder = msgspec.json.Decoder(route.body) if route.body is not None else None

    async def handle(request: web.Request) -> web.StreamResponse:
        who = caller(request) if route.role is None else require_role(request, route.role)
        body = None
        if decoder is not None:
            body = decode(await request.read(), decoder, route.body)
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
    if NUL_ESCAPE in raw and (where := nul_at(orjson.loads(raw), "body")):
        # PostgreSQL's jsonb cannot hold U+0000; refuse it here rather than fail at commit.
        raise ProblemError(
            400, "BAD_REQUEST", f"{where}: contains a NUL character (U+0000)", field=where
        )
    return value


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
                responses[str(status)]["content"] = {"application/json": {"schema": schema}}
        for status in sorted({*route.problems, *auth_problems, 503}):
            responses[str(status)] = problem(status)
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "tags": [route.tag],
            "summary": route.summary + (f" ({route.role.value})" if route.role else ""),
            "responses": responses,
        }
        if route.params:
            operation["parameters"] = [_param(p) for p in route.params]
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_by_type[_key(route.body)]}},
            }
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = operation
    return paths, components


def _key(kind: Any) -> str:
    return repr(kind)


def _param(param: Param) -> dict[str, Any]:
    result: dict[str, Any] = {"name": param.name, "in": param.where, "schema": dict(param.schema)}
    if param.where == "path":
        result["required"] = True
    if param.description:
        result["description"] = param.description
    return result
