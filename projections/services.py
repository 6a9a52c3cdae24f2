"""Services, for their API, the incidents that affect them and the status pages that show
them.

One row per service with its settings as one jsonb document (the aggregate's own settings:
``name, alias, description, teams, one_open_incident_only, show_uptime_history``), kept by
``settings_table``. The status is not here: it is derived (``service_status``).
"""

from __future__ import annotations

import asyncpg

from eventstore import RecordedEvent

from .base import Projection
from .settings_table import SettingsTable, row_teams

__all__ = [
    "ServicesProjection",
    "list_services",
    "live_ids",
    "row_teams",
    "service_by_id",
    "service_by_name",
    "teams_of",
    "visible_names",
]

SERVICES = SettingsTable("services", "service")


class ServicesProjection(Projection):
    name = "services"
    version = 1
    tables = ("services",)
    event_types = SERVICES.event_types

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(SERVICES.ddl)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await SERVICES.apply(conn, event)


service_by_id = SERVICES.by_id
service_by_name = SERVICES.by_name
list_services = SERVICES.page
live_ids = SERVICES.live_ids
visible_names = SERVICES.visible_names
teams_of = SERVICES.teams_of
