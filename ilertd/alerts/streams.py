"""Where an alert's events live: handlers and timers name an alert by its read-model id
(or already by its stream), commands work on the stream."""

from __future__ import annotations

from uuid import UUID

import asyncpg

#: Times a command is applied again after losing a race on the stream's version.
MAX_ATTEMPTS = 8


class AlertNotFoundError(LookupError):
    pass


async def stream_of(pool: asyncpg.Pool, alert_id: int) -> UUID:
    """The stream of the alert with this id (AlertNotFoundError if there is none)."""
    stream = await pool.fetchval("SELECT stream_id FROM alerts WHERE id = $1", alert_id)
    if stream is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return stream
