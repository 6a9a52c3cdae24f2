"""For every resource field, who may read it: the table, and its use by every answer.

The table is declared on the contract types (``contract.visibility.secret`` on a field);
``table(kind)`` reads it back as rows (``FieldRule``: a wire path such as
``params.headers[].value`` and its ``Visibility``). An answer's renderer passes its body
through ``shown(kind, body, viewer)`` once, for list, get, create, replace and name lookups
alike; handlers decide nothing about fields themselves.

Writes: ``restored`` puts the stored secret back where a request sends a value exactly as
masked (a client that GETs, edits and PUTs back never wipes or overwrites a secret it could
not read), and ``refuse_masked`` answers 400 for any masked value still left, so a mask is
never stored. Today only ADMINs write these resources and ADMINs read every secret, so
this guards clients that copy answers between callers, and the team admins to come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from projections.teams import teams_of_user

from ..contract.visibility import Masking, Visibility, at_path, looks_masked, masked
from ..domain.user import Role
from .authz import has_role
from .writes import bad, pool

ITEM = "[]"


@dataclass(frozen=True)
class FieldRule:
    """One row of the table: the field at ``path`` (wire names, ``[]`` for a list's items)
    of ``kind``'s answers."""

    kind: type
    path: tuple[str, ...]
    visibility: Visibility

    @property
    def name(self) -> str:
        return ".".join(self.path).replace(f".{ITEM}", ITEM)


@cache
def table(kind: type) -> tuple[FieldRule, ...]:
    """The secret fields of the contract type ``kind``, at any depth."""
    rules: list[FieldRule] = []
    _walk(kind, msgspec.inspect.type_info(kind), (), rules, set())
    return tuple(rules)


def _walk(
    kind: type,
    info: msgspec.inspect.Type,
    path: tuple[str, ...],
    rules: list[FieldRule],
    seen: set[type],
) -> None:
    if isinstance(info, msgspec.inspect.StructType):
        if info.cls in seen:
            return
        seen = seen | {info.cls}
        for field in info.fields:
            here = (*path, field.encode_name)
            rule = _visibility(field.type)
            if rule is not None:
                rules.append(FieldRule(kind, here, rule))
            else:
                _walk(kind, field.type, here, rules, seen)
    elif isinstance(info, msgspec.inspect.ListType):
        _walk(kind, info.item_type, (*path, ITEM), rules, seen)
    elif isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            _walk(kind, member, path, rules, seen)
    elif isinstance(info, msgspec.inspect.Metadata):
        _walk(kind, info.type, path, rules, seen)


def _visibility(info: msgspec.inspect.Type) -> Visibility | None:
    """The field's ``secret(...)`` annotation, wherever in its union it sits."""
    if isinstance(info, msgspec.inspect.Metadata):
        found = (info.extra or {}).get("visibility")
        return found if isinstance(found, Visibility) else _visibility(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            if (found := _visibility(member)) is not None:
                return found
    return None


# --- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who reads an answer: their users row (None: nobody known) and the teams they are
    an ADMIN member of (whose resources' secrets they read, as they may write them)."""

    user: Any
    admin_of: frozenset[int] = field(default_factory=frozenset)


_VIEWER: web.RequestKey[Viewer] = web.RequestKey("field_access_viewer", Viewer)


async def viewer_of(request: web.Request, user: asyncpg.Record) -> Viewer:
    """The caller as a Viewer, with their team ADMIN memberships (read once a request)."""
    found = request.get(_VIEWER)
    if found is None:
        memberships = await teams_of_user(pool(request), user["id"])
        admin_of = frozenset(m.team_id for m in memberships if m.role == Role.ADMIN.value)
        found = request[_VIEWER] = Viewer(user, admin_of)
    return found


def readable(
    viewer: Viewer, rule: Visibility, holder: dict[str, Any], resource: dict[str, Any]
) -> bool:
    """Whether ``viewer`` reads the field held in ``holder`` (an object of the answer
    ``resource``): an ADMIN, the owner of a field that has one, or an ADMIN member of a
    team the resource belongs to."""
    user = viewer.user
    if user is None:
        return False
    if has_role(user, Role.ADMIN):
        return True
    if rule.owner is not None and at_path(holder, rule.owner) == user["id"]:
        return True
    return owning_team_admin(viewer, resource)


def owning_team_admin(viewer: Viewer, resource: dict[str, Any]) -> bool:
    """Whether ``viewer`` is an ADMIN member of a team in the resource's ``teams``."""
    teams = resource.get("teams") or ()
    return any(isinstance(t, dict) and t.get("id") in viewer.admin_of for t in teams)


def shown(kind: type, body: dict[str, Any], viewer: Any) -> dict[str, Any]:
    """``body`` (an answer of type ``kind``) as ``viewer`` (a ``Viewer``, or a users row
    where the answer belongs to no team) may read it; parts that change are copies,
    ``body`` itself is left as it was."""
    if not isinstance(viewer, Viewer):
        viewer = Viewer(viewer)
    answer = body
    for rule in table(kind):
        answer = _Masker(rule.visibility, viewer, body).at(answer, body, rule.path)
    return answer


@dataclass(frozen=True)
class _Masker:
    rule: Visibility
    viewer: Viewer
    resource: dict[str, Any]

    def at(self, current: Any, original: Any, path: tuple[str, ...]) -> Any:
        """``current`` with the field at ``path`` masked, computed from ``original`` (the
        unmasked answer: a text's contact is read before its neighbour is masked)."""
        head, rest = path[0], path[1:]
        if head == ITEM:
            if not isinstance(current, list):
                return current
            return [self.at(c, o, rest) for c, o in zip(current, original, strict=True)]
        if not isinstance(current, dict) or head not in current:
            return current
        if rest:
            inner = self.at(current[head], original[head], rest)
            return current if inner is current[head] else {**current, head: inner}
        return self.leaf(current, original, head)

    def leaf(self, current: dict[str, Any], original: dict[str, Any], head: str) -> Any:
        rule = self.rule
        if readable(self.viewer, rule, original, self.resource):
            return current
        copy = dict(current)
        if rule.masking is Masking.OMIT:
            del copy[head]
        else:
            copy[head] = masked(rule, original[head], original)
        return copy


# --- writing --------------------------------------------------------------------------


def restored(kind: type, incoming: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``incoming`` (a request body of ``kind``, as builtins) with every secret sent back
    exactly as masked (at the same place of ``stored``, the unmasked answer) replaced by
    the stored value."""
    for rule in table(kind):
        incoming = _restore_at(incoming, stored, rule.path, rule.visibility)
    return incoming


def _restore_at(incoming: Any, stored: Any, path: tuple[str, ...], rule: Visibility) -> Any:
    head, rest = path[0], path[1:]
    if head == ITEM:
        if not isinstance(incoming, list) or not isinstance(stored, list):
            return incoming
        return [
            _restore_at(item, _counterpart(item, i, stored, rest), rest, rule)
            for i, item in enumerate(incoming)
        ]
    if not isinstance(incoming, dict) or not isinstance(stored, dict) or head not in incoming:
        return incoming
    if rest:
        return {**incoming, head: _restore_at(incoming[head], stored.get(head), rest, rule)}
    if rule.masking is Masking.OMIT or stored.get(head) is None:
        return incoming
    value = _restore_value(incoming[head], stored[head], masked(rule, stored[head], stored))
    return {**incoming, head: value}


def _counterpart(item: Any, index: int, stored: list[Any], rest: tuple[str, ...]) -> Any:
    """The stored item a sent list item stands for: the one whose other fields are the
    same (a header of the same name), at its own index if that one is; None if none is, so
    reordered headers never swap their secrets."""
    if len(rest) != 1 or not isinstance(item, dict):
        return stored[index] if index < len(stored) else None
    field = rest[0]

    def same(candidate: Any) -> bool:
        if not isinstance(candidate, dict):
            return False
        others = {k: v for k, v in candidate.items() if k != field}
        return others == {k: v for k, v in item.items() if k != field}

    if index < len(stored) and same(stored[index]):
        return stored[index]
    return next((candidate for candidate in stored if same(candidate)), None)


def _restore_value(value: Any, stored: Any, shown_as: Any) -> Any:
    if isinstance(value, dict) and isinstance(stored, dict) and isinstance(shown_as, dict):
        return {
            k: _restore_value(v, stored[k], shown_as.get(k)) if k in stored else v
            for k, v in value.items()
        }
    return stored if value == shown_as and value != stored else value


def refuse_masked(kind: type, incoming: dict[str, Any]) -> None:
    """400 naming the first secret field whose value is still a mask: it would be stored
    in place of the secret."""
    for rule in table(kind):
        for where, value in _values_at(incoming, rule.path, ""):
            if looks_masked(value):
                raise bad(
                    where,
                    "holds a masked value (***), as answers show secrets to those who may "
                    "not read them: send the real value, or the value as read to keep it",
                )


def _values_at(node: Any, path: tuple[str, ...], where: str) -> list[tuple[str, Any]]:
    if not path:
        if isinstance(node, dict):
            return [found for k, v in node.items() for found in _values_at(v, (), f"{where}.{k}")]
        return [(where, node)]
    head, rest = path[0], path[1:]
    if head == ITEM:
        if not isinstance(node, list):
            return []
        return [
            found
            for i, item in enumerate(node)
            for found in _values_at(item, rest, f"{where}[{i}]")
        ]
    if not isinstance(node, dict) or head not in node:
        return []
    return _values_at(node[head], rest, f"{where}.{head}" if where else head)
