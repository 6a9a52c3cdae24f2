"""The status page mail outbox: every mail a subscriber is owed, and where each one stands.

A leader-only read model (the subscriber mailer's, ``ilertd.status_site.mailer``), so it
keeps its own copies of what it matches on, from the events alone: the pages with their
services (``status_mail_pages``), the subscriptions (``status_mail_subscribers``) and the
maintenance windows' ids. Replaying the events rebuilds exactly this table.

What is owed, one row per (subscription, item), ``id`` ``<subscription>/<kind>/<ref>``:

- ``confirm``: a visitor's request (ref: its round), due at once;
- ``update``: a status update posted with ``sendNotification`` on an incident naming a
  service of the page, to each subscriber confirmed then (ref: the update's id);
- ``maintenance-scheduled`` (``notifications.atCreation``) when a window of a service of the
  page is created, ``maintenance-started`` (``atStart``) due at its start; a window moved
  before its start moves the row, one deleted or no longer ``atStart`` cancels it.

The subscription's ``mail-sent`` and ``mail-failed`` events close the rows or set the next
attempt; unsubscribing or deleting the page cancels what is still pending.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from eventstore import RecordedEvent

from .base import Projection

DDL = """
CREATE TABLE IF NOT EXISTS status_mail_pages (
    stream_id uuid    PRIMARY KEY,
    page_id   bigint  NOT NULL UNIQUE,
    name      text    NOT NULL,
    slug      text    NOT NULL,
    services  bigint[] NOT NULL,
    private   boolean NOT NULL DEFAULT false,
    deleted   boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS status_mail_subscribers (
    stream_id uuid   PRIMARY KEY,
    page_id   bigint NOT NULL,
    email     text   NOT NULL,
    status    text,
    round     integer NOT NULL DEFAULT 0,
    -- added by an ADMIN, or asked for by a signed-in user: gets a PRIVATE page's news
    trusted   boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS status_mail_subscribers_page ON status_mail_subscribers (page_id)
    WHERE status = 'CONFIRMED';
CREATE TABLE IF NOT EXISTS status_mail_windows (
    stream_id uuid   PRIMARY KEY,
    window_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS status_mail (
    id              text        PRIMARY KEY,
    subscription    uuid        NOT NULL,
    page_id         bigint      NOT NULL,
    kind            text        NOT NULL,
    ref             bigint      NOT NULL,
    content         jsonb       NOT NULL,
    due_at          timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    status          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS status_mail_due ON status_mail (next_attempt_at)
    WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS status_mail_subscription ON status_mail (subscription)
    WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS status_mail_ref ON status_mail (kind, ref) WHERE status = 'PENDING';
"""

#: One row per subscriber confirmed now of each live page showing one of the services ($5);
#: of a PRIVATE page, only the subscribers an ADMIN added or a signed-in user asked for.
FAN_OUT_SQL = """
INSERT INTO status_mail (id, subscription, page_id, kind, ref, content, due_at,
    next_attempt_at, status, created_at, updated_at)
SELECT s.stream_id::text || '/' || $1::text || '/' || $2::bigint, s.stream_id, s.page_id,
    $1::text, $2::bigint, $3::jsonb, $4::timestamptz, $4::timestamptz, 'PENDING',
    $6::timestamptz, $6::timestamptz
FROM status_mail_subscribers s JOIN status_mail_pages p USING (page_id)
WHERE s.status = 'CONFIRMED' AND NOT p.deleted AND p.services && $5::bigint[]
    AND (NOT p.private OR s.trusted)
ON CONFLICT (id) DO UPDATE SET content = $3::jsonb, due_at = $4::timestamptz,
    next_attempt_at = $4::timestamptz, updated_at = $6::timestamptz
WHERE status_mail.status = 'PENDING' AND status_mail.attempts = 0
"""

CANCEL_SQL = "UPDATE status_mail SET status = 'CANCELLED', updated_at = $2 WHERE status = 'PENDING'"

SUBSCRIPTION = "status-page-subscription-"
_PAGE_EVENTS = frozenset({"status-page-created", "status-page-updated", "status-page-deleted"})
_SUBSCRIPTION_EVENTS = frozenset(
    SUBSCRIPTION + kind
    for kind in (
        "opened",
        "requested",
        "confirmed",
        "added",
        "unsubscribed",
        "mail-sent",
        "mail-failed",
    )
)
_WINDOW_EVENTS = frozenset(
    {"maintenance-window-created", "maintenance-window-updated", "maintenance-window-deleted"}
)
STATUS_UPDATE = "incident-status-update-posted"

Listener = Callable[[], Awaitable[None]]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class StatusMailProjection(Projection):
    name = "status_mail"
    leader_only = True
    tables = ("status_mail", "status_mail_windows", "status_mail_subscribers", "status_mail_pages")
    event_types = _PAGE_EVENTS | _SUBSCRIPTION_EVENTS | _WINDOW_EVENTS | {STATUS_UPDATE}

    def __init__(self, listener: Listener | None = None) -> None:
        #: Told after a batch that owed or moved mails (the mailer wakes up).
        self.listener = listener
        self._changed = False

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(DDL)

    def batch_started(self) -> None:
        self._changed = False

    async def batch_committed(self) -> None:
        if self._changed and self.listener is not None:
            await self.listener()

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.type in _PAGE_EVENTS:
            await self._page(conn, event)
        elif event.type in _WINDOW_EVENTS:
            await self._window(conn, event)
        elif event.type == STATUS_UPDATE:
            await self._status_update(conn, event)
        else:
            await self._subscription(conn, event)

    # -- pages -------------------------------------------------------------------------

    async def _page(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.type == "status-page-deleted":
            page_id = await conn.fetchval(
                "UPDATE status_mail_pages SET deleted = true WHERE stream_id = $1 "
                "RETURNING page_id",
                event.stream_id,
            )
            await conn.execute(CANCEL_SQL + " AND page_id = $1", page_id, event.recorded_at)
            return
        settings = event.data["settings"]
        await conn.execute(
            "INSERT INTO status_mail_pages VALUES ($1, $2, $3, $4, $5, $6, false) "
            "ON CONFLICT (stream_id) DO UPDATE SET name = $3, slug = $4, services = $5, "
            "private = $6",
            event.stream_id,
            event.position,  # the id, when this is the creating event
            settings.get("page_title") or settings["name"],
            str(settings["subdomain"]).split(".", 1)[0],
            [int(ident) for ident in settings.get("services", ())],
            settings.get("visibility") == "PRIVATE",
        )

    # -- subscriptions -----------------------------------------------------------------

    async def _subscription(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data, kind, at = event.data, event.type.removeprefix(SUBSCRIPTION), event.recorded_at
        stream = event.stream_id
        if kind == "opened":
            await conn.execute(
                "INSERT INTO status_mail_subscribers (stream_id, page_id, email) "
                "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                stream,
                data["page_id"],
                data["email"],
            )
        elif kind == "requested":
            page_id = await conn.fetchval(
                "UPDATE status_mail_subscribers SET status = 'PENDING', round = $2, "
                "trusted = $3 WHERE stream_id = $1 RETURNING page_id",
                stream,
                data["round"],
                data.get("user_id") is not None,
            )
            await conn.execute(
                CANCEL_SQL + " AND subscription = $1 AND kind = 'confirm'", stream, at
            )
            await conn.execute(
                "INSERT INTO status_mail (id, subscription, page_id, kind, ref, content, due_at, "
                "next_attempt_at, status, created_at, updated_at) VALUES ($1, $2, $3, "
                "'confirm', $4, '{}', $5, $5, 'PENDING', $5, $5) ON CONFLICT DO NOTHING",
                f"{stream}/confirm/{data['round']}",
                stream,
                page_id,
                data["round"],
                at,
            )
            self._changed = True
        elif kind in ("confirmed", "added"):
            await conn.execute(
                "UPDATE status_mail_subscribers SET status = 'CONFIRMED', "
                "trusted = trusted OR $2 WHERE stream_id = $1",
                stream,
                kind == "added",
            )
            await conn.execute(
                CANCEL_SQL + " AND subscription = $1 AND kind = 'confirm'", stream, at
            )
        elif kind == "unsubscribed":
            await conn.execute(
                "UPDATE status_mail_subscribers SET status = 'UNSUBSCRIBED' WHERE stream_id = $1",
                stream,
            )
            await conn.execute(CANCEL_SQL + " AND subscription = $1", stream, at)
        elif kind == "mail-sent":
            await conn.execute(
                "UPDATE status_mail SET status = 'SENT', attempts = attempts + 1, "
                "updated_at = $2 WHERE id = ANY($1::text[]) AND status = 'PENDING'",
                data["items"],
                at,
            )
            self._changed = True
        else:  # mail-failed: retried at retry_at, or given up
            retry_at = data.get("retry_at")
            await conn.execute(
                "UPDATE status_mail SET attempts = $2, updated_at = $3, "
                "status = CASE WHEN $4::timestamptz IS NULL THEN 'DEAD' ELSE status END, "
                "next_attempt_at = coalesce($4::timestamptz, next_attempt_at) "
                "WHERE id = ANY($1::text[]) AND status = 'PENDING'",
                data["items"],
                data["attempts"],
                at,
                datetime.fromisoformat(retry_at) if retry_at else None,
            )
            self._changed = True

    # -- status updates ----------------------------------------------------------------

    async def _status_update(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if not data.get("send_notification"):
            return
        services = [int(s["service_id"]) for s in data.get("services") or ()]
        if not services:
            return
        content = {
            "status": data["status"],
            "summary": data["summary"],
            "message": data["message"],
            "at": event.recorded_at.isoformat(),
        }
        result = await conn.execute(
            FAN_OUT_SQL,
            "update",
            event.position,
            _json(content),
            event.recorded_at,
            services,
            event.recorded_at,
        )
        self._changed = self._changed or not result.endswith(" 0")

    # -- maintenance windows -----------------------------------------------------------

    async def _window(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        at = event.recorded_at
        if event.type == "maintenance-window-created":
            window_id = event.position
            await conn.execute(
                "INSERT INTO status_mail_windows VALUES ($1, $2) ON CONFLICT DO NOTHING",
                event.stream_id,
                window_id,
            )
        else:
            window_id = await conn.fetchval(
                "SELECT window_id FROM status_mail_windows WHERE stream_id = $1", event.stream_id
            )
            if window_id is None:
                return
        if event.type == "maintenance-window-deleted":
            await conn.execute(
                CANCEL_SQL + " AND kind LIKE 'maintenance-%' AND ref = $1", window_id, at
            )
            return
        data = event.data
        notify = data.get("notifications") or {}
        start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        content = {
            "summary": data["summary"],
            "description": data.get("description") or "",
            "start": data["start"],
            "end": data["end"],
        }
        services = [int(ident) for ident in data.get("services") or ()]
        if event.type == "maintenance-window-created" and notify.get("at_creation") and end > at:
            await self._fan_out(conn, "maintenance-scheduled", window_id, content, at, services, at)
        if notify.get("at_start"):
            if start >= at:  # one that started already keeps what it owed
                await self._fan_out(
                    conn, "maintenance-started", window_id, content, start, services, at
                )
        else:
            await conn.execute(
                CANCEL_SQL + " AND kind = 'maintenance-started' AND ref = $1", window_id, at
            )

    async def _fan_out(
        self,
        conn: asyncpg.Connection,
        kind: str,
        ref: int,
        content: dict[str, Any],
        due: datetime,
        services: list[int],
        at: datetime,
    ) -> None:
        if services:
            await conn.execute(FAN_OUT_SQL, kind, ref, _json(content), due, services, at)
            self._changed = True


# -- queries (the mailer's) --------------------------------------------------------------

#: Subscriptions with a mail ripe now ($1): a first attempt of a subscriber's item waits
#: the bundling window ($2) after it fell due, so a storm's updates go out as one mail.
RIPE_SQL = """
SELECT subscription FROM status_mail
WHERE status = 'PENDING' AND subscription <> ALL($3::uuid[]) AND next_attempt_at
    + CASE WHEN attempts = 0 AND kind <> 'confirm' THEN $2::interval ELSE interval '0' END <= $1
GROUP BY subscription ORDER BY min(next_attempt_at) LIMIT $4
"""

ITEMS_SQL = """
SELECT m.id, m.subscription, m.kind, m.ref, m.content, m.due_at, m.attempts, m.page_id,
    s.email, s.round, p.name, p.slug
FROM status_mail m JOIN status_mail_subscribers s ON s.stream_id = m.subscription
    JOIN status_mail_pages p ON p.page_id = m.page_id
WHERE m.subscription = ANY($1::uuid[]) AND m.status = 'PENDING' AND m.due_at <= $2
ORDER BY m.due_at, m.id
"""


async def ripe(
    conn: asyncpg.Connection | asyncpg.Pool,
    now: datetime,
    window: Any,
    busy: list[Any],
    limit: int,
) -> list[dict[str, Any]]:
    """The items of up to ``limit`` subscriptions with a mail ripe at ``now`` (not ``busy``),
    each with its subscriber's address and round and its page's name and slug."""
    subscriptions = [
        row["subscription"] for row in await conn.fetch(RIPE_SQL, now, window, busy, limit)
    ]
    if not subscriptions:
        return []
    items = []
    for row in await conn.fetch(ITEMS_SQL, subscriptions, now):
        item = dict(row)
        item["content"] = orjson.loads(item["content"])
        items.append(item)
    return items


async def next_ripe(conn: asyncpg.Connection | asyncpg.Pool, window: Any) -> datetime | None:
    """When the next pending mail ripens (as ``RIPE_SQL`` counts), if one is pending."""
    return await conn.fetchval(
        "SELECT min(next_attempt_at + CASE WHEN attempts = 0 AND kind <> 'confirm' "
        "THEN $1::interval ELSE interval '0' END) FROM status_mail WHERE status = 'PENDING'",
        window,
    )
