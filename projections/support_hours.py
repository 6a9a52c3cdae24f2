"""Support hours, for /api/support-hours and for the priority rule new alerts ask.

One row per support hours with their settings as one jsonb document (the aggregate's own:
``name, timezone, support_days, exceptions, teams``), kept by ``settings_table`` as services
are. Every change notifies ``read-model:support_hours`` (other instances drop their cached
calendars) and, once a batch committed, tells the listener (this instance's cache).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from eventstore import RecordedEvent
from eventstore.notifier import READ_MODEL_PREFIX
from eventstore.writer import NOTIFY_CHANNEL

from .base import Projection
from .settings_table import SettingsTable, row_teams

__all__ = [
    "NAME",
    "Listener",
    "SupportHoursProjection",
    "list_support_hours",
    "row_teams",
    "support_hours_by_id",
    "support_hours_by_name",
    "teams_of",
]

NAME = "support_hours"
CHANGED_PAYLOAD = READ_MODEL_PREFIX + NAME
SUPPORT_HOURS = SettingsTable(NAME, "support-hours")

#: Told after a batch of changes committed (the priority rule's cache drops its entries).
Listener = Callable[[], Awaitable[None]]


class SupportHoursProjection(Projection):
    name = NAME
    version = 1
    tables = ("support_hours",)
    event_types = SUPPORT_HOURS.event_types

    def __init__(self, listener: Listener | None = None) -> None:
        self.listener = listener

    async def batch_committed(self) -> None:
        # before the runner's position moves on: a write's answer finds the cache emptied
        if self.listener is not None:
            await self.listener()

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(SUPPORT_HOURS.ddl)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, CHANGED_PAYLOAD)
        await SUPPORT_HOURS.apply(conn, event)


support_hours_by_id = SUPPORT_HOURS.by_id
support_hours_by_name = SUPPORT_HOURS.by_name
list_support_hours = SUPPORT_HOURS.page
teams_of = SUPPORT_HOURS.teams_of
