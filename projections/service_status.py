"""A service's derived status, now and over time: what the open incidents and the active
maintenance windows say about it, the worst winning (``domain.service.worst_status``).

Nothing stores a service's status. Each part that affects it contributes a *source*: a SQL
text constant defined in that part's own projection module and listed in the tuples below.

- A current source is a SELECT of rows ``(service_id bigint, status text)``: the statuses
  in force now for the services among ``$1`` (``bigint[]``) at ``$2`` (``timestamptz``,
  now). Internal sources go in ``CURRENT_SOURCES`` (the API's ``status``), public ones in
  ``PUBLIC_CURRENT_SOURCES`` (the status pages': what status updates published, and
  maintenance).
- An interval source is a SELECT of rows ``(service_id bigint, status text, since
  timestamptz, until timestamptz NULL)``: the statuses in force for the services among
  ``$1`` at some time of ``[$2, $3)`` (an open one has ``until`` NULL). Internal ones in
  ``INTERVAL_SOURCES``, public ones in ``PUBLIC_INTERVAL_SOURCES``.

A source may leave out a parameter it does not need (the types are declared here). Every
status is one of ``domain.service.ServiceStatus`` but OPERATIONAL (a service with no row is
OPERATIONAL); unknown names are ignored. All sources are combined in one query per call,
so a page of services costs one round trip whatever its length.

Contributors: incidents (``incident_impacts``: open rows now, all rows as intervals;
``public_impacts`` for the public tuples), maintenance (windows with ``starts_at <= now <
ends_at`` listing the service, as UNDER_MAINTENANCE, in both).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg

from ilertd.domain.service import ServiceStatus, worst_status

from . import maintenance_windows
from .incidents import (
    CURRENT_IMPACTS_SQL,
    IMPACT_INTERVALS_SQL,
    PUBLIC_CURRENT_IMPACTS_SQL,
    PUBLIC_IMPACT_INTERVALS_SQL,
)

Db = asyncpg.Connection | asyncpg.Pool

#: Internal current sources: (service_id, status) in force at $2 for services among $1.
CURRENT_SOURCES: tuple[str, ...] = (CURRENT_IMPACTS_SQL, maintenance_windows.CURRENT_SQL)
#: Internal interval sources: (service_id, status, since, until) overlapping [$2, $3).
INTERVAL_SOURCES: tuple[str, ...] = (IMPACT_INTERVALS_SQL, maintenance_windows.INTERVALS_SQL)
#: What a status page may show: the same, from published status updates and maintenance.
PUBLIC_CURRENT_SOURCES: tuple[str, ...] = (
    PUBLIC_CURRENT_IMPACTS_SQL,
    maintenance_windows.CURRENT_SQL,
)
PUBLIC_INTERVAL_SOURCES: tuple[str, ...] = (
    PUBLIC_IMPACT_INTERVALS_SQL,
    maintenance_windows.INTERVALS_SQL,
)

#: Declares the parameters' types and yields no row, so a source may use any of them.
_CURRENT_TYPES = (
    "SELECT NULL::bigint, NULL::text WHERE $1::bigint[] IS NULL AND $2::timestamptz IS NULL"
)
_INTERVAL_TYPES = (
    "SELECT NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz "
    "WHERE $1::bigint[] IS NULL AND $2::timestamptz IS NULL AND $3::timestamptz IS NULL"
)


class StatusInterval(NamedTuple):
    service_id: int
    status: str
    since: datetime
    until: datetime | None


def _union(types: str, sources: Sequence[str], columns: str) -> str:
    branches = " UNION ALL ".join(f"({sql})" for sql in (types, *sources))
    return f"SELECT {columns} FROM ({branches}) AS s({columns})"


async def current_statuses(
    conn: Db, service_ids: Sequence[int], now: datetime, *, public: bool = False
) -> dict[int, str]:
    """Each service's status at ``now`` (OPERATIONAL without any source row), from the
    internal sources or, ``public``, from what status pages may show."""
    ids = sorted(set(service_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    sources = PUBLIC_CURRENT_SOURCES if public else CURRENT_SOURCES
    if ids and sources:
        sql = _union(_CURRENT_TYPES, sources, "service_id, status")
        for row in await conn.fetch(sql, ids, now):
            if row["service_id"] in found:
                found[row["service_id"]].append(row["status"])
    return {i: worst_status(statuses).value for i, statuses in found.items()}


async def status_intervals(
    conn: Db,
    service_ids: Sequence[int],
    since: datetime,
    until: datetime,
    *,
    public: bool = False,
) -> list[StatusInterval]:
    """The statuses in force for the services at some time of ``[since, until)``, as the
    sources give them (overlapping; ``domain.service.timeline`` makes one line of them)."""
    ids = sorted(set(service_ids))
    sources = PUBLIC_INTERVAL_SOURCES if public else INTERVAL_SOURCES
    if not ids or not sources:
        return []
    sql = _union(_INTERVAL_TYPES, sources, "service_id, status, since, until")
    wanted = set(ids)
    return [
        StatusInterval(row["service_id"], row["status"], row["since"], row["until"])
        for row in await conn.fetch(sql, ids, since, until)
        if row["service_id"] in wanted and row["status"] != ServiceStatus.OPERATIONAL
    ]
