"""Incidents read model: the list, responders, linked alerts, affected services, the
internal and the public impact intervals, status updates and the timeline.

One projection owns these tables because one event changes several of them and they must
agree at every position. An incident's id is the position of its ``incident-declared``
event; timeline entry and status update ids are the positions of their events.

``incident_impacts`` holds the incident's internal impact on a service as intervals: a row
opens when the incident lists the service with an impact and closes (``until``) when the
impact changes (a new row opens), the service is removed or the incident resolves; a reopen
opens rows again for the services still listed. ``public_impacts`` is the same from the
status updates alone: each update names what the public sees; a RESOLVED one closes all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection

DDL = """
CREATE TABLE IF NOT EXISTS incidents (
    id                bigint      PRIMARY KEY,
    stream_id         uuid        NOT NULL UNIQUE,
    number            integer     NOT NULL UNIQUE,
    reference         text        NOT NULL,
    title             text        NOT NULL,
    summary           text        NOT NULL,
    severity          integer     NOT NULL,
    status            text        NOT NULL,
    commander_id      bigint,
    message           text        NOT NULL DEFAULT '',
    send_notification boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    resolved_on       timestamptz,
    version           integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, id DESC);
CREATE INDEX IF NOT EXISTS incidents_created ON incidents (created_at);
CREATE TABLE IF NOT EXISTS incident_services (
    incident_id bigint NOT NULL,
    service_id  bigint NOT NULL,
    impact      text   NOT NULL,
    added_at    bigint NOT NULL,
    PRIMARY KEY (incident_id, service_id)
);
CREATE INDEX IF NOT EXISTS incident_services_service ON incident_services (service_id);
CREATE TABLE IF NOT EXISTS incident_impacts (
    incident_id bigint      NOT NULL,
    service_id  bigint      NOT NULL,
    impact      text        NOT NULL,
    since       timestamptz NOT NULL,
    until       timestamptz
);
CREATE INDEX IF NOT EXISTS incident_impacts_open ON incident_impacts (service_id)
    WHERE until IS NULL;
CREATE INDEX IF NOT EXISTS incident_impacts_service ON incident_impacts (service_id, since);
CREATE INDEX IF NOT EXISTS incident_impacts_incident ON incident_impacts (incident_id);
CREATE TABLE IF NOT EXISTS incident_responders (
    incident_id bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    status      text        NOT NULL,
    via         text        NOT NULL,
    added_at    bigint      NOT NULL,
    joined_at   timestamptz,
    PRIMARY KEY (incident_id, user_id)
);
CREATE TABLE IF NOT EXISTS incident_alerts (
    incident_id bigint      NOT NULL,
    alert_id    bigint      NOT NULL,
    linked_at   timestamptz NOT NULL,
    PRIMARY KEY (incident_id, alert_id)
);
CREATE INDEX IF NOT EXISTS incident_alerts_alert ON incident_alerts (alert_id);
CREATE TABLE IF NOT EXISTS incident_timeline (
    id          bigint      PRIMARY KEY,
    incident_id bigint      NOT NULL,
    timestamp   timestamptz NOT NULL,
    type        text        NOT NULL,
    text        text        NOT NULL,
    actor       jsonb       NOT NULL,
    vars        jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline (incident_id, id);
CREATE TABLE IF NOT EXISTS status_updates (
    id                bigint      PRIMARY KEY,
    incident_id       bigint      NOT NULL,
    status            text        NOT NULL,
    summary           text        NOT NULL,
    message           text        NOT NULL,
    services          jsonb       NOT NULL,
    send_notification boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS status_updates_incident ON status_updates (incident_id, id);
CREATE INDEX IF NOT EXISTS status_updates_created ON status_updates (created_at);
CREATE TABLE IF NOT EXISTS public_impacts (
    incident_id bigint      NOT NULL,
    service_id  bigint      NOT NULL,
    impact      text        NOT NULL,
    since       timestamptz NOT NULL,
    until       timestamptz
);
CREATE INDEX IF NOT EXISTS public_impacts_open ON public_impacts (service_id)
    WHERE until IS NULL;
CREATE INDEX IF NOT EXISTS public_impacts_service ON public_impacts (service_id, since);
CREATE TABLE IF NOT EXISTS incident_channels (
    incident_id  bigint      NOT NULL,
    channel_id   bigint      NOT NULL,
    name         text        NOT NULL,
    url          text        NOT NULL,
    type         text        NOT NULL,
    connector_id bigint      NOT NULL,
    attached_at  timestamptz NOT NULL,
    PRIMARY KEY (incident_id, channel_id)
);
"""

#: Derived service status sources (``projections/service_status.py``): the impacts open
#: now, and every interval overlapping [$2, $3), for the services ``$1``.
CURRENT_IMPACTS_SQL = (
    "SELECT service_id, impact FROM incident_impacts "
    "WHERE until IS NULL AND service_id = ANY($1::bigint[])"
)
IMPACT_INTERVALS_SQL = (
    "SELECT service_id, impact, since, until FROM incident_impacts "
    "WHERE service_id = ANY($1::bigint[]) AND since < $3 AND (until IS NULL OR until > $2)"
)
PUBLIC_CURRENT_IMPACTS_SQL = CURRENT_IMPACTS_SQL.replace("incident_impacts", "public_impacts")
PUBLIC_IMPACT_INTERVALS_SQL = IMPACT_INTERVALS_SQL.replace("incident_impacts", "public_impacts")

_SKIP_VARS = {"timestamp", "originator_topic", "actor"}


def _actor_text(actor: dict[str, Any]) -> str:
    if actor.get("type") == "user":
        return f"user {actor.get('id')}"
    return "ilertd"


def describe(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(entry type, text) of an incident event on its timeline."""
    by = _actor_text(data.get("actor") or {})
    services = ", ".join(
        f"service {s['service_id']} {s['impact']}" for s in data.get("services") or ()
    )
    text = {
        "declared": f"Incident declared by {by}: {data.get('title', '')}",
        "title-changed": f"Title changed by {by} to {data.get('title')!r}",
        "summary-changed": f"Summary changed by {by}",
        "severity-changed": f"Severity changed by {by} from SEV{data.get('previous')} "
        f"to SEV{data.get('severity')}",
        "status-changed": f"Status changed by {by} from {data.get('previous')} "
        f"to {data.get('status')}",
        "resolved": f"Incident resolved by {by}",
        "reopened": f"Incident reopened by {by}",
        "commented": f"Comment by {by}: {data.get('content', '')}",
        "alert-linked": f"Alert {data.get('alert_id')} linked by {by}",
        "alert-unlinked": f"Alert {data.get('alert_id')} unlinked by {by}",
        "responder-added": f"User {data.get('user_id')} added as responder by {by}",
        "responder-joined": f"User {data.get('user_id')} joined",
        "responder-removed": f"User {data.get('user_id')} removed as responder by {by}",
        "commander-set": (
            f"User {data.get('user_id')} made incident commander by {by}"
            if data.get("user_id") is not None
            else f"Incident commander cleared by {by}"
        ),
        "service-affected": f"Service {data.get('service_id')} affected "
        f"({data.get('impact')}), set by {by}",
        "service-unaffected": f"Service {data.get('service_id')} no longer affected, set by {by}",
        "status-update-posted": f"Status update {data.get('status')} posted by {by}: "
        f"{data.get('message', '')}" + (f" ({services})" if services else ""),
        "channel-attached": f"{data.get('channel_type')} channel {data.get('name')!r} "
        f"attached by {by}",
        "channel-detached": f"Channel {data.get('channel_id')} detached by {by}",
    }[kind]
    return kind.upper().replace("-", "_"), text


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


class IncidentsProjection(Projection):
    name = "incidents"
    version = 1
    tables = (
        "incident_channels",
        "public_impacts",
        "status_updates",
        "incident_timeline",
        "incident_alerts",
        "incident_responders",
        "incident_impacts",
        "incident_services",
        "incidents",
    )
    event_types = frozenset(
        f"incident-{kind}"
        for kind in (
            "declared",
            "title-changed",
            "summary-changed",
            "severity-changed",
            "status-changed",
            "resolved",
            "reopened",
            "commented",
            "alert-linked",
            "alert-unlinked",
            "responder-added",
            "responder-joined",
            "responder-removed",
            "commander-set",
            "service-affected",
            "service-unaffected",
            "status-update-posted",
            "channel-attached",
            "channel-detached",
        )
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        at = _ts(data["timestamp"])
        kind = event.type.removeprefix("incident-")
        if kind == "declared":
            incident_id = event.position
            await conn.execute(
                "INSERT INTO incidents (id, stream_id, number, reference, title, summary, "
                "severity, status, created_at, updated_at, version) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, 'DECLARED', $8, $8, $9)",
                incident_id,
                event.stream_id,
                data["number"],
                f"INC-{data['number']}",
                data["title"],
                data["summary"],
                data["severity"],
                at,
                event.version,
            )
        else:
            incident_id = await conn.fetchval(
                "UPDATE incidents SET updated_at = $2, version = $3 WHERE stream_id = $1 "
                "RETURNING id",
                event.stream_id,
                at,
                event.version,
            )
            if incident_id is None:
                return
            await getattr(self, "_" + kind.replace("-", "_"))(conn, incident_id, event, data, at)
        entry_type, text = describe(kind, data)
        await conn.execute(
            "INSERT INTO incident_timeline VALUES ($1, $2, $3, $4, $5, $6, $7)",
            event.position,
            incident_id,
            at,
            entry_type,
            text,
            orjson.dumps(data.get("actor") or {}).decode(),
            orjson.dumps({k: v for k, v in data.items() if k not in _SKIP_VARS}).decode(),
        )

    @staticmethod
    async def _set(conn: asyncpg.Connection, incident_id: int, column: str, value: Any) -> None:
        await conn.execute(f"UPDATE incidents SET {column} = $2 WHERE id = $1", incident_id, value)

    async def _title_changed(self, conn, incident_id, event, data, at) -> None:
        await self._set(conn, incident_id, "title", data["title"])

    async def _summary_changed(self, conn, incident_id, event, data, at) -> None:
        await self._set(conn, incident_id, "summary", data["summary"])

    async def _severity_changed(self, conn, incident_id, event, data, at) -> None:
        await self._set(conn, incident_id, "severity", data["severity"])

    async def _status_changed(self, conn, incident_id, event, data, at) -> None:
        await self._set(conn, incident_id, "status", data["status"])

    async def _resolved(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "UPDATE incidents SET status = 'RESOLVED', resolved_on = $2 WHERE id = $1",
            incident_id,
            at,
        )
        await conn.execute(
            "UPDATE incident_impacts SET until = $2 WHERE incident_id = $1 AND until IS NULL",
            incident_id,
            at,
        )

    async def _reopened(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "UPDATE incidents SET status = $2, resolved_on = NULL WHERE id = $1",
            incident_id,
            data["status"],
        )
        await conn.execute(
            "INSERT INTO incident_impacts SELECT incident_id, service_id, impact, $2, NULL "
            "FROM incident_services WHERE incident_id = $1",
            incident_id,
            at,
        )

    async def _commented(self, conn, incident_id, event, data, at) -> None:
        pass  # only the timeline entry

    async def _alert_linked(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "INSERT INTO incident_alerts VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            incident_id,
            data["alert_id"],
            at,
        )

    async def _alert_unlinked(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "DELETE FROM incident_alerts WHERE incident_id = $1 AND alert_id = $2",
            incident_id,
            data["alert_id"],
        )

    async def _responder_added(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "INSERT INTO incident_responders VALUES ($1, $2, 'ADDED', $3, $4, NULL) "
            "ON CONFLICT DO NOTHING",
            incident_id,
            data["user_id"],
            data.get("via") or "user",
            event.position,
        )

    async def _responder_joined(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "UPDATE incident_responders SET status = 'JOINED', joined_at = $3 "
            "WHERE incident_id = $1 AND user_id = $2",
            incident_id,
            data["user_id"],
            at,
        )

    async def _responder_removed(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "DELETE FROM incident_responders WHERE incident_id = $1 AND user_id = $2",
            incident_id,
            data["user_id"],
        )
        await conn.execute(
            "UPDATE incidents SET commander_id = NULL WHERE id = $1 AND commander_id = $2",
            incident_id,
            data["user_id"],
        )

    async def _commander_set(self, conn, incident_id, event, data, at) -> None:
        await self._set(conn, incident_id, "commander_id", data.get("user_id"))

    async def _service_affected(self, conn, incident_id, event, data, at) -> None:
        service_id, impact = data["service_id"], data["impact"]
        await conn.execute(
            "INSERT INTO incident_services VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (incident_id, service_id) DO UPDATE SET impact = $3",
            incident_id,
            service_id,
            impact,
            event.position,
        )
        await self._close_impact(conn, "incident_impacts", incident_id, service_id, at)
        await conn.execute(
            "INSERT INTO incident_impacts VALUES ($1, $2, $3, $4, NULL)",
            incident_id,
            service_id,
            impact,
            at,
        )

    async def _service_unaffected(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "DELETE FROM incident_services WHERE incident_id = $1 AND service_id = $2",
            incident_id,
            data["service_id"],
        )
        await self._close_impact(conn, "incident_impacts", incident_id, data["service_id"], at)

    @staticmethod
    async def _close_impact(
        conn: asyncpg.Connection, table: str, incident_id: int, service_id: int, at: datetime
    ) -> None:
        await conn.execute(
            f"UPDATE {table} SET until = $3 WHERE incident_id = $1 AND service_id = $2 "
            "AND until IS NULL",
            incident_id,
            service_id,
            at,
        )

    async def _status_update_posted(self, conn, incident_id, event, data, at) -> None:
        services = data.get("services") or []
        await conn.execute(
            "INSERT INTO status_updates VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            event.position,
            incident_id,
            data["status"],
            data["summary"],
            data["message"],
            orjson.dumps(services).decode(),
            bool(data.get("send_notification")),
            at,
        )
        await conn.execute(
            "UPDATE incidents SET message = $2, send_notification = $3 WHERE id = $1",
            incident_id,
            data["message"],
            bool(data.get("send_notification")),
        )
        wanted = (
            {} if data["status"] == "RESOLVED" else {s["service_id"]: s["impact"] for s in services}
        )
        open_rows = await conn.fetch(
            "SELECT service_id, impact FROM public_impacts WHERE incident_id = $1 "
            "AND until IS NULL",
            incident_id,
        )
        current = {r["service_id"]: r["impact"] for r in open_rows}
        for service_id, impact in current.items():
            if wanted.get(service_id) != impact:
                await self._close_impact(conn, "public_impacts", incident_id, service_id, at)
        for service_id, impact in wanted.items():
            if current.get(service_id) != impact:
                await conn.execute(
                    "INSERT INTO public_impacts VALUES ($1, $2, $3, $4, NULL)",
                    incident_id,
                    service_id,
                    impact,
                    at,
                )

    async def _channel_attached(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "INSERT INTO incident_channels VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT DO NOTHING",
            incident_id,
            data["channel_id"],
            data["name"],
            data["url"],
            data["channel_type"],
            data["connector_id"],
            at,
        )

    async def _channel_detached(self, conn, incident_id, event, data, at) -> None:
        await conn.execute(
            "DELETE FROM incident_channels WHERE incident_id = $1 AND channel_id = $2",
            incident_id,
            data["channel_id"],
        )
