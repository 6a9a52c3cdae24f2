"""What every read model of a resource that belongs to teams asks of the teams tables:
who may see a row, which rows a ``team-context`` selects, and the teams' names.

A resource keeps the API ids of its teams (``bigint[]``, or a jsonb list turned into one by
``array_of_json``). Deleted teams count as none: a resource whose teams were all deleted is
visible to everyone, and its answers leave them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

Db = asyncpg.Connection | asyncpg.Pool


def array_of_json(column: str) -> str:
    """A jsonb list of team ids (``column``) as a ``bigint[]`` expression."""
    return f"ARRAY(SELECT jsonb_array_elements_text({column})::bigint)"


def scope_sql(teams: str, viewer: str, only: str) -> str:
    """A condition on a row whose team ids are the ``bigint[]`` expression ``teams``: it is
    visible to the user ``viewer`` (a ``bigint`` parameter; NULL: sees everything, an
    ADMIN) and belongs to one of ``only`` (a ``bigint[]`` parameter; NULL: any, none too).

    Visible: no live team, or a PUBLIC one among them, or the viewer is a member of one
    (deleted teams have no members)."""
    return f"""(
        ({viewer}::bigint IS NULL
         OR NOT EXISTS (SELECT 1 FROM teams st WHERE st.id = ANY({teams}) AND NOT st.deleted)
         OR EXISTS (SELECT 1 FROM teams st WHERE st.id = ANY({teams}) AND NOT st.deleted
                    AND st.visibility <> 'PRIVATE')
         OR EXISTS (SELECT 1 FROM team_members sm WHERE sm.team_id = ANY({teams})
                    AND sm.user_id = {viewer}::bigint))
        AND ({only}::bigint[] IS NULL OR {teams} && {only}::bigint[])
    )"""


async def visible(conn: Db, viewer: int | None, teams: Iterable[int]) -> bool:
    """Whether a resource of ``teams`` is visible to ``viewer`` (None: an ADMIN)."""
    if viewer is None:
        return True
    condition = scope_sql("$1::bigint[]", "$2", "NULL")
    return bool(await conn.fetchval(f"SELECT {condition}", list(teams), viewer))


async def team_names(conn: Db, teams: Iterable[int]) -> dict[int, str]:
    """The names of the live teams among ``teams``, by id."""
    wanted = sorted(set(teams))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT id, name FROM teams WHERE id = ANY($1::bigint[]) AND NOT deleted", wanted
    )
    return {row["id"]: row["name"] for row in rows}


async def names_for(conn: Db, rows: Iterable[Iterable[int]]) -> dict[int, str]:
    """``team_names`` for every team of these rows' team lists, in one query."""
    return await team_names(conn, (team for teams in rows for team in teams))


def teams_json(teams: Iterable[int], names: dict[int, str]) -> list[dict[str, Any]]:
    """The ``teams`` field of an answer: the live ones, sorted by id, with their names."""
    return [{"id": team, "name": names[team]} for team in sorted(set(teams)) if team in names]
