"""The outbox's part for incident channels: which channels an incident has as of each of
its events, and the post each timeline event owes each of them.

A post is a ``deliveries`` row of kind ``channel`` (``alert_id`` and ``alert_stream`` name
the incident, ``channel_id`` the channel, ``action_id`` is 0: no alert action is involved),
planned when the outbox applies the event, so it follows from the stored event alone: a
replay plans the same rows with the same ids (``ON CONFLICT DO NOTHING``) and the delivery
outcome events close them again, so a restart neither repeats nor loses a post. The
channels as of each event live in this projection's own ``outbox_channels``: an attach
counts from its own event (the channel is greeted with it), a detach before its own.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from eventstore import RecordedEvent
from ilertd.domain.incident_channel import channel_chain_id, channel_delivery_id

from .incidents import IncidentsProjection

DDL = """
CREATE TABLE IF NOT EXISTS outbox_channels (
    stream_id  uuid   NOT NULL,
    channel_id bigint NOT NULL,
    PRIMARY KEY (stream_id, channel_id)
);
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS channel_id bigint;
"""

ATTACHED = "incident-channel-attached"
DETACHED = "incident-channel-detached"
#: Every event on an incident's timeline but its declaration (no channel exists yet).
CHANNEL_EVENTS = frozenset((IncidentsProjection.event_types or frozenset()) - {"incident-declared"})

#: As the outbox's ``INSERT_SQL``, with the channel: the chain's head at once, or waiting
#: behind the chain's open head.
INSERT_SQL = """
INSERT INTO deliveries (id, chain, seq, alert_id, alert_stream, alert_version, action_id,
    event_type, manual, status, due_at, next_attempt_at, created_at, updated_at, kind,
    channel_id)
SELECT $1, $2::uuid, $3, $4, $5, $6, 0, $7, false, 'PENDING', $8::timestamptz,
    CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE chain = $2::uuid AND status = 'PENDING')
         THEN NULL ELSE $8::timestamptz END, $8::timestamptz, $8::timestamptz, 'channel', $9
ON CONFLICT (id) DO NOTHING
"""


async def plan_posts(conn: asyncpg.Connection, event: RecordedEvent, incident_id: int) -> bool:
    """Track the incident's channels and plan the posts ``event`` owes them; whether any
    was planned."""
    if event.type == ATTACHED:
        await conn.execute(
            "INSERT INTO outbox_channels VALUES ($1, $2) ON CONFLICT DO NOTHING",
            event.stream_id,
            event.data["channel_id"],
        )
    elif event.type == DETACHED:
        await conn.execute(
            "DELETE FROM outbox_channels WHERE stream_id = $1 AND channel_id = $2",
            event.stream_id,
            event.data["channel_id"],
        )
    if event.type not in CHANNEL_EVENTS:
        return False
    channels = await conn.fetch(
        "SELECT channel_id FROM outbox_channels WHERE stream_id = $1 ORDER BY channel_id",
        event.stream_id,
    )
    if not channels:
        return False
    at = datetime.fromisoformat(event.data["timestamp"])
    await conn.executemany(
        INSERT_SQL,
        [
            (
                channel_delivery_id(event.position, row["channel_id"]),
                channel_chain_id(event.stream_id, row["channel_id"]),
                event.position,
                incident_id,
                event.stream_id,
                event.version,
                event.type,
                at,
                row["channel_id"],
            )
            for row in channels
        ],
    )
    return True
