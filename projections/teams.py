"""Teams and their members, for /api/teams and for every resource that belongs to a team.

A team's integer API id is the global position of its ``team-created`` event (as for users
and escalation policies). Deleted teams keep their row, flagged, so ids are never reused;
their members are dropped, so ``teams_of_user`` never names a deleted team.

A deleted user leaves every team here, from ``user-deleted``: the team streams are not
rewritten. Projections run independently, so this one keeps its own map of user streams
to API ids (``team_users``: registered and not deleted) instead of reading the users
table, which may lag behind it.

No unique constraint on names: the API checks them before appending, and a constraint that
a racing duplicate broke would stop the projection for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.wire_time import wire_time

from .base import Projection

Db = asyncpg.Connection | asyncpg.Pool
INT64_MAX = 2**63 - 1
MAX_NAME = 255

_MEMBER_SQL = """
    INSERT INTO team_members (team_id, user_id, role, added_at, idx)
    SELECT id, $2, $3, $4, $5 FROM teams WHERE stream_id = $1
    ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role
"""


class TeamsProjection(Projection):
    name = "teams"
    version = 1
    tables = ("team_members", "team_users", "teams")
    event_types = frozenset(
        {
            "team-created",
            "team-updated",
            "team-member-added",
            "team-member-role-changed",
            "team-member-removed",
            "team-deleted",
            "user-registered",
            "user-deleted",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS teams (
                id          bigint      PRIMARY KEY,
                stream_id   uuid        NOT NULL UNIQUE,
                name        text        NOT NULL,
                visibility  text        NOT NULL,
                deleted     boolean     NOT NULL DEFAULT false,
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS teams_name ON teams (name) WHERE NOT deleted;
            CREATE TABLE IF NOT EXISTS team_members (
                team_id     bigint      NOT NULL,
                user_id     bigint      NOT NULL,
                role        text        NOT NULL,
                -- members in the order they were given: the event's position, then the
                -- index in its list
                added_at    bigint      NOT NULL,
                idx         integer     NOT NULL,
                PRIMARY KEY (team_id, user_id)
            );
            CREATE INDEX IF NOT EXISTS team_members_user ON team_members (user_id);
            CREATE TABLE IF NOT EXISTS team_users (
                stream_id   uuid        PRIMARY KEY,
                user_id     bigint      NOT NULL
            );
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data, kind = event.data, event.type
        if kind == "user-registered":
            await conn.execute(
                "INSERT INTO team_users VALUES ($1, $2) ON CONFLICT DO NOTHING",
                event.stream_id,
                event.position,
            )
        elif kind == "user-deleted":
            await conn.execute(
                """
                WITH gone AS (DELETE FROM team_users WHERE stream_id = $1 RETURNING user_id)
                DELETE FROM team_members WHERE user_id IN (SELECT user_id FROM gone)
                """,
                event.stream_id,
            )
        elif kind == "team-created":
            await conn.execute(
                "INSERT INTO teams (id, stream_id, name, visibility, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $5)",
                event.position,
                event.stream_id,
                data["name"],
                data["visibility"],
                event.recorded_at,
            )
            await self._members(conn, event, data["members"])
        elif kind == "team-updated":
            await self._touch(conn, event, name=data["name"], visibility=data["visibility"])
            await conn.execute(
                "DELETE FROM team_members WHERE team_id = "
                "(SELECT id FROM teams WHERE stream_id = $1)",
                event.stream_id,
            )
            await self._members(conn, event, data["members"])
        elif kind in ("team-member-added", "team-member-role-changed"):
            await self._touch(conn, event)
            await self._members(conn, event, [data])
        elif kind == "team-member-removed":
            await self._touch(conn, event)
            await conn.execute(
                "DELETE FROM team_members WHERE user_id = $2 AND team_id = "
                "(SELECT id FROM teams WHERE stream_id = $1)",
                event.stream_id,
                data["user"],
            )
        elif kind == "team-deleted":
            await self._touch(conn, event, deleted=True)
            await conn.execute(
                "DELETE FROM team_members WHERE team_id = "
                "(SELECT id FROM teams WHERE stream_id = $1)",
                event.stream_id,
            )

    async def _touch(self, conn: asyncpg.Connection, event: RecordedEvent, **columns: Any) -> None:
        """Set ``columns`` (names from this module only) and ``updated_at``."""
        sets = "".join(f", {name} = ${index}" for index, name in enumerate(columns, start=3))
        await conn.execute(
            f"UPDATE teams SET updated_at = $2{sets} WHERE stream_id = $1",
            event.stream_id,
            event.recorded_at,
            *columns.values(),
        )

    async def _members(
        self, conn: asyncpg.Connection, event: RecordedEvent, members: list[dict[str, Any]]
    ) -> None:
        """Insert (or re-role) these members of the event's team. A member who is no live
        user (deleted after the check, or never registered) is left out, so a deleted user
        never comes back."""
        if not members:
            return
        live = {
            row["user_id"]
            for row in await conn.fetch(
                "SELECT user_id FROM team_users WHERE user_id = ANY($1::bigint[])",
                [m["user"] for m in members],
            )
        }
        await conn.executemany(
            _MEMBER_SQL,
            [
                (event.stream_id, m["user"], m["role"], event.position, index)
                for index, m in enumerate(members)
                if m["user"] in live
            ],
        )


# -- queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """One team a user belongs to, and their role in it."""

    team_id: int
    role: str


async def team_by_id(conn: Db, team_id: int) -> asyncpg.Record | None:
    """The live team with this API id; None for ids beyond bigint rather than an error."""
    if not 0 < team_id <= INT64_MAX:
        return None
    return await conn.fetchrow("SELECT * FROM teams WHERE id = $1 AND NOT deleted", team_id)


async def team_by_name(conn: Db, name: str) -> asyncpg.Record | None:
    """The live team with exactly this name (names are unique among live teams)."""
    if not name or len(name) > MAX_NAME or "\x00" in name:
        return None
    return await conn.fetchrow(
        "SELECT * FROM teams WHERE name = $1 AND NOT deleted ORDER BY id LIMIT 1", name
    )


async def list_teams(
    conn: Db, start: int, limit: int, *, visible_to: int | None = None
) -> list[asyncpg.Record]:
    """One page of live teams, oldest first. ``visible_to`` (a user id) leaves out the
    PRIVATE teams that user is not a member of; None lists every team."""
    return await conn.fetch(
        """
        SELECT * FROM teams t
        WHERE NOT deleted AND ($1::bigint IS NULL OR visibility = 'PUBLIC' OR EXISTS (
            SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_id = $1))
        ORDER BY id OFFSET $2 LIMIT $3
        """,
        visible_to,
        start,
        limit,
    )


async def members_of(conn: Db, team_ids: list[int]) -> dict[int, list[asyncpg.Record]]:
    """Each team's members, in the order given, with their names (``user_id``, ``role``,
    ``username``, ``first_name``, ``last_name``)."""
    if not team_ids:
        return {}
    rows = await conn.fetch(
        """
        SELECT m.team_id, m.user_id, m.role, u.username, u.first_name, u.last_name
        FROM team_members m LEFT JOIN users u ON u.id = m.user_id
        WHERE m.team_id = ANY($1::bigint[])
        ORDER BY m.team_id, m.added_at, m.idx
        """,
        team_ids,
    )
    found: dict[int, list[asyncpg.Record]] = {team: [] for team in team_ids}
    for row in rows:
        found[row["team_id"]].append(row)
    return found


async def team_role_of(conn: Db, team_id: int, user_id: int) -> str | None:
    """The user's role in the team; None when they are not a member (or it is deleted)."""
    if not (0 < team_id <= INT64_MAX and 0 < user_id <= INT64_MAX):
        return None
    return await conn.fetchval(
        "SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2", team_id, user_id
    )


async def teams_of_user(conn: Db, user_id: int) -> list[Membership]:
    """Every live team the user is a member of, with their role there, by team id."""
    rows = await conn.fetch(
        "SELECT team_id, role FROM team_members WHERE user_id = $1 ORDER BY team_id", user_id
    )
    return [Membership(row["team_id"], row["role"]) for row in rows]


async def team_ids_of_user(conn: Db, user_id: int) -> list[int]:
    """The ids of every live team the user is a member of, ascending."""
    return [membership.team_id for membership in await teams_of_user(conn, user_id)]


def _member_json(row: Any) -> dict[str, Any]:
    return {
        "user": {
            "id": row["user_id"],
            "username": row["username"],
            "firstName": row["first_name"],
            "lastName": row["last_name"],
        },
        "role": row["role"],
    }


def team_json(row: Any, members: list[Any]) -> dict[str, Any]:
    """The API representation; ``members`` as ``members_of`` gives them for this team."""
    return {
        "id": row["id"],
        "name": row["name"],
        "visibility": row["visibility"],
        "members": [_member_json(member) for member in members],
        "createdAt": wire_time(row["created_at"]),
        "updatedAt": wire_time(row["updated_at"]),
    }
