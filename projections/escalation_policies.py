"""Escalation policies, for /api/escalation-policies and for whoever escalates alerts.

A policy's integer API id is the global position of its ``escalation-policy-created`` event
(as for users and alert sources). Deleted policies keep their row, flagged, so ids are never
reused and alerts can still name them; every query here skips them.

Rules are one jsonb array of ``{"escalation_timeout_s", "users", "schedules"}`` (user and
schedule API ids); ``policy_rules`` reads them back. No unique constraint on the routing
key: the API checks it before appending, and a constraint that a racing duplicate broke
would stop the projection for good.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent
from ilertd.domain.durations import format_duration

from .base import Projection
from .team_scope import scope_sql, teams_json

Db = asyncpg.Connection | asyncpg.Pool
INT64_MAX = 2**63 - 1
#: Routing keys are at most 255 characters; longer lookups are answered without a query.
MAX_KEY_LENGTH = 255

#: Columns a ``-created`` or ``-updated`` event sets, all under their own names.
SETTINGS = ("name", "repeating", "frequency", "delay_min", "routing_key", "teams")


class EscalationPoliciesProjection(Projection):
    name = "escalation_policies"
    version = 1
    tables = ("escalation_policies",)
    event_types = frozenset(
        {
            "escalation-policy-created",
            "escalation-policy-updated",
            "escalation-policy-rule-replaced",
            "escalation-policy-deleted",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS escalation_policies (
                id               bigint      PRIMARY KEY,
                stream_id        uuid        NOT NULL UNIQUE,
                name             text        NOT NULL,
                escalation_rules jsonb       NOT NULL,
                repeating        boolean     NOT NULL,
                frequency        integer     NOT NULL,
                delay_min        integer     NOT NULL,
                routing_key      text,
                teams            bigint[]    NOT NULL,
                deleted          boolean     NOT NULL DEFAULT false,
                created_at       timestamptz NOT NULL,
                updated_at       timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS escalation_policies_routing_key
                ON escalation_policies (routing_key) WHERE NOT deleted;
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "escalation-policy-created":
            await conn.execute(
                """
                INSERT INTO escalation_policies (id, stream_id, escalation_rules, name,
                    repeating, frequency, delay_min, routing_key, teams, created_at, updated_at)
                VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $10)
                """,
                event.position,
                event.stream_id,
                orjson.dumps(data["escalation_rules"]).decode(),
                *(data.get(column) for column in SETTINGS),
                event.recorded_at,
            )
        elif event.type == "escalation-policy-updated":
            await conn.execute(
                """
                UPDATE escalation_policies SET escalation_rules = $2::jsonb, name = $3,
                    repeating = $4, frequency = $5, delay_min = $6, routing_key = $7,
                    teams = $8, updated_at = $9
                WHERE stream_id = $1
                """,
                event.stream_id,
                orjson.dumps(data["escalation_rules"]).decode(),
                *(data.get(column) for column in SETTINGS),
                event.recorded_at,
            )
        elif event.type == "escalation-policy-rule-replaced":
            await conn.execute(
                """
                UPDATE escalation_policies
                SET escalation_rules = jsonb_set(escalation_rules, ARRAY[$2::text], $3::jsonb),
                    updated_at = $4
                WHERE stream_id = $1
                """,
                event.stream_id,
                str(data["level"]),
                orjson.dumps(data["rule"]).decode(),
                event.recorded_at,
            )
        elif event.type == "escalation-policy-deleted":
            await conn.execute(
                """
                UPDATE escalation_policies SET deleted = true, updated_at = $2
                WHERE stream_id = $1
                """,
                event.stream_id,
                event.recorded_at,
            )


async def policy_by_id(conn: Db, policy_id: int) -> asyncpg.Record | None:
    """The live policy with this API id; None for ids beyond bigint rather than an error."""
    if not 0 < policy_id <= INT64_MAX:
        return None
    return await conn.fetchrow(
        "SELECT * FROM escalation_policies WHERE id = $1 AND NOT deleted", policy_id
    )


async def policy_by_routing_key(conn: Db, key: str) -> asyncpg.Record | None:
    """The live policy with exactly this routing key (case-sensitive). None, not an error,
    for what cannot be a key: empty, too long, or a NUL PostgreSQL refuses."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return None
    return await conn.fetchrow(
        "SELECT * FROM escalation_policies WHERE routing_key = $1 AND NOT deleted ORDER BY id",
        key,
    )


async def list_policies(
    conn: Db,
    start: int,
    limit: int,
    *,
    viewer: int | None = None,
    only: list[int] | None = None,
) -> list[asyncpg.Record]:
    """One page of live policies, oldest first (stable across pages): those ``viewer`` may
    see (None: all) of the teams ``only`` (None: any), as ``team_scope.scope_sql``."""
    return await conn.fetch(
        f"""
        SELECT * FROM escalation_policies p
        WHERE NOT deleted AND {scope_sql("p.teams", "$3", "$4")}
        ORDER BY id OFFSET $1 LIMIT $2
        """,
        start,
        limit,
        viewer,
        only,
    )


async def policy_teams(conn: Db, policy_id: int) -> list[int] | None:
    """The team ids of the live policy with this API id; None when there is none."""
    row = await policy_by_id(conn, policy_id)
    return None if row is None else list(row["teams"])


def policy_rules(row: Any) -> list[dict]:
    """The row's rules as ``[{"escalation_timeout_s": int, "users": [int],
    "schedules": [int]}]``, level 0 first."""
    raw = row["escalation_rules"]
    rules = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return [
        {
            "escalation_timeout_s": int(rule["escalation_timeout_s"]),
            "users": [int(user) for user in rule.get("users", [])],
            "schedules": [int(schedule) for schedule in rule.get("schedules", [])],
        }
        for rule in rules
    ]


async def users_by_ids(conn: Db, ids: list[int]) -> dict[int, asyncpg.Record]:
    """Name fields of these users (deleted ones too: a policy still names them), by id."""
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, username, first_name, last_name FROM users WHERE id = ANY($1::bigint[])",
        sorted(set(ids)),
    )
    return {row["id"]: row for row in rows}


def referenced_users(rows: list[Any]) -> list[int]:
    """Every user id the rules of these rows name."""
    return sorted({user for row in rows for rule in policy_rules(row) for user in rule["users"]})


def timeout_json(seconds: int) -> int | str:
    """``escalationTimeout`` on output: integer minutes (as ilert) when the seconds are a
    whole number of minutes, else an ISO-8601 duration such as ``PT30S`` or ``PT1M30S``."""
    minutes, rest = divmod(seconds, 60)
    return minutes if rest == 0 else format_duration(seconds)


def _user_json(user_id: int, users: dict[int, Any]) -> dict[str, Any]:
    row = users.get(user_id)
    if row is None:
        return {"id": user_id, "firstName": None, "lastName": None, "username": None}
    return {
        "id": user_id,
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "username": row["username"],
    }


def rule_json(rule: dict[str, Any], users: dict[int, Any]) -> dict[str, Any]:
    return {
        "escalationTimeout": timeout_json(rule["escalation_timeout_s"]),
        "users": [_user_json(user, users) for user in rule["users"]],
        "schedules": [{"id": schedule} for schedule in rule["schedules"]],
    }


def policy_json(row: Any, users: dict[int, Any], teams: dict[int, str]) -> dict[str, Any]:
    """The API representation; ``users`` as ``users_by_ids`` gives them, ``teams`` as
    ``team_scope.team_names``."""
    return {
        "id": row["id"],
        "name": row["name"],
        "escalationRules": [rule_json(rule, users) for rule in policy_rules(row)],
        "repeating": row["repeating"],
        "frequency": row["frequency"],
        "delayMin": row["delay_min"],
        "routingKey": row["routing_key"],
        "teams": teams_json(row["teams"], teams),
    }
