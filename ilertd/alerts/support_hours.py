"""The priority a new alert gets from its source's ``alertPriorityRule``, asking the support
hours the source names at the event's arrival (``domain.support_hours``).

A HIGH or LOW rule costs nothing: the source's row already says it. A
``*_DURING_SUPPORT_HOURS`` rule asks the support hours' ``Calendar``, kept in memory per id
(support hours change a few times a year, events arrive hundreds a second): one query the
first time, none after, so the ingest cost stays flat. Entries are dropped whenever the
support hours' read model changes, on this instance before the write's answer (the
projection's ``batch_committed`` calls ``changed``), on the others by its
``read-model:support_hours`` notification (``invalidate``); a load that overlapped a change
is not kept, as ``maintenance.gate`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from projections.support_hours import support_hours_by_id

from ..domain.support_hours import Calendar, calendar, priority

MAX_ENTRIES = 1024


class SupportHoursBook:
    def __init__(self, pool: asyncpg.Pool, *, cache: bool = True) -> None:
        """``cache``: keep calendars in memory; only where ``changed`` and ``invalidate``
        are wired to the projection and the notifications (``runtime``)."""
        self.pool = pool
        self.cache = cache
        self._calendars: dict[int, Calendar] = {}
        self._invalidations = 0

    def invalidate(self) -> None:
        """Drop every entry: support hours changed (here or on another instance)."""
        self._calendars.clear()
        self._invalidations += 1

    async def changed(self) -> None:
        """The projection's listener: called once a batch of changes committed."""
        self.invalidate()

    async def calendar_of(self, ident: int) -> Calendar | None:
        """The calendar of the live support hours ``ident``; None if there are none."""
        found = self._calendars.get(ident)
        if found is not None:
            return found
        invalidations = self._invalidations
        row = await support_hours_by_id(self.pool, ident)
        if row is None:
            return None
        found = calendar(row["settings"])
        if self.cache and self._invalidations == invalidations:
            if len(self._calendars) >= MAX_ENTRIES:
                del self._calendars[next(iter(self._calendars))]
            self._calendars[ident] = found
        return found

    async def priority(self, source: Mapping[str, Any], now: datetime) -> str:
        """The priority ``source``'s rule gives an alert arriving at ``now``. Support hours
        gone (deleted in a race with the source's update) count as none: the rule's
        named level."""
        rule = source["alert_priority_rule"] or "HIGH"
        if not rule.endswith("_DURING_SUPPORT_HOURS"):
            return priority(rule, None)
        ident = source.get("support_hours_id")
        found = await self.calendar_of(ident) if ident is not None else None
        return priority(rule, None if found is None else found.within(now))
