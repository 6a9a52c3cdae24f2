"""GET /api/audit-events: who changed which configuration when, read from the event store.

Configuration changes are events already (every write appends one with ``actor`` and
``request_id`` in its metadata); this makes them readable for ADMINs, newest first,
filterable by resource, by user and by time. An entry names the fields the event recorded,
never their values: those include secrets (header values, integration keys, key and
password hashes) that the resources themselves mask.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from ..contract.audit import RESOURCE_TYPES, AuditEvent
from ..domain.registry import build_registry
from ..domain.user import Role
from ..domain.wire_time import wire_time
from .paging import MAX_BIGINT, PAGING, page, query_int
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .writes import pool

TAG = "Audit"

#: Event data that is bookkeeping, not a recorded field.
_BOOKKEEPING = frozenset({"timestamp", "originator_topic", "originator_id", "originator_version"})


def stream_type(resource_type: str) -> str:
    """``ALERT_SOURCE`` is the ``alert-source`` stream type."""
    return resource_type.lower().replace("_", "-")


@cache
def _audited_types() -> dict[str, tuple[str, ...]]:
    """Per resource type, the event types its streams hold (the events table's type index
    finds them among millions of alert events)."""
    registry = build_registry()
    return {kind: registry.types_of(stream_type(kind)) for kind in RESOURCE_TYPES}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            f"{name}: must be an ISO-8601 time such as 2026-12-01T08:00:00Z",
            field=name,
        ) from None
    if value.tzinfo is None:
        raise ProblemError(400, "BAD_REQUEST", f"{name}: give a UTC offset", field=name)
    return value


def _filters(request: web.Request) -> tuple[str, list[Any]]:
    kind = request.query.get("resource-type")
    if kind is not None and kind.upper() not in RESOURCE_TYPES:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            f"resource-type: must be one of {', '.join(RESOURCE_TYPES)}, got {kind[:40]!r}",
            field="resource-type",
        )
    kinds = [kind.upper()] if kind is not None else list(RESOURCE_TYPES)
    types = [t for k in kinds for t in _audited_types()[k]]
    args: list[Any] = [types]
    clauses = ["e.type = ANY($1::text[])"]
    if "resource-id" in request.query:
        if kind is None:
            raise ProblemError(
                400, "BAD_REQUEST", "resource-id: give resource-type too", field="resource-id"
            )
        args.append(query_int(request, "resource-id", 0, 1, MAX_BIGINT))
        clauses.append(f"first.position = ${len(args)}")
    if "user-id" in request.query:
        args.append(f"user:{query_int(request, 'user-id', 0, 1, MAX_BIGINT)}")
        clauses.append(f"e.metadata->>'actor' = ${len(args)}")
    for name, op in (("from", ">="), ("until", "<")):
        value = _query_time(request, name)
        if value is not None:
            args.append(value)
            clauses.append(f"e.recorded_at {op} ${len(args)}")
    return " AND ".join(clauses), args


def _actor(row: asyncpg.Record, metadata: dict[str, Any]) -> dict[str, Any]:
    kind, _, name = str(metadata.get("actor", "system:unknown")).partition(":")
    if kind == "user" and name.isdigit():
        return {"id": int(name), "username": row["username"]}
    return {"system": name or kind}


def _entry(row: asyncpg.Record) -> dict[str, Any]:
    metadata = orjson.loads(row["metadata"])
    data = orjson.loads(row["data"])
    return {
        "id": row["position"],
        "time": wire_time(row["recorded_at"]),
        "resourceType": row["stream_type"].upper().replace("-", "_"),
        "resourceId": row["resource_id"],
        "action": row["type"],
        "actor": _actor(row, metadata),
        "fields": sorted(_camel(k) for k in data if k not in _BOOKKEEPING),
        "requestId": metadata.get("request_id"),
    }


async def list_audit_events(request: web.Request, call: Call) -> web.Response:
    start, size = page(request)
    where, args = _filters(request)
    rows = await pool(request).fetch(
        f"""
        SELECT e.position, e.stream_type, e.type, e.data::text AS data,
               e.metadata::text AS metadata, e.recorded_at, first.position AS resource_id,
               u.username
        FROM events e
        JOIN events first ON first.stream_id = e.stream_id AND first.version = 1
        LEFT JOIN users u ON e.metadata->>'actor' = 'user:' || u.id
        WHERE {where}
        ORDER BY e.position DESC OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}
        """,
        *args,
        start,
        size,
    )
    return json_response([_entry(row) for row in rows])


_ID = {"type": "integer", "format": "int64", "minimum": 1}
_TIME = {"type": "string", "format": "date-time"}

ROUTES = (
    Route(
        "GET",
        "/api/audit-events",
        list_audit_events,
        "listAuditEvents",
        TAG,
        "Configuration changes, newest first: who changed which resource when (ilertd)",
        {200: Answer("Audit events", list[AuditEvent])},
        role=Role.ADMIN,
        problems=(400,),
        params=(
            *PAGING,
            Param("resource-type", "query", {"enum": list(RESOURCE_TYPES)}, "case-insensitive"),
            Param("resource-id", "query", _ID, "the resource's API id (with resource-type)"),
            Param("user-id", "query", _ID, "changes made by this user"),
            Param("from", "query", _TIME, "recorded at or after (give an offset)"),
            Param("until", "query", _TIME, "recorded before (give an offset)"),
        ),
        description="Every write to users, teams, alert sources, escalation policies, "
        "schedules, connectors and alert actions, from the event store. Fields are named, "
        "not shown: values can be secrets.",
    ),
)
