"""What an Events API request with an ``Idempotency-Key`` was answered the first time.

The event store keeps, per key, the positions of the append the first request made; the
first event of that append says what happened (a new alert, an event joining one, an
accept...). A retry is answered from there, with the first answer's ``responseCode`` and
alert, and writes nothing. The request's fingerprint (a hash of its canonical JSON) is
stored in the events' metadata, so the same key with a different body is told apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

#: The first event of the append -> the Events API's answer to it.
CODES = {
    "alert-created": "NEW_ALERT_CREATED",
    "alert-event-received": "ALERT_ALREADY_EXISTS",
    "alert-accepted": "ALERT_ACCEPTED",
    "alert-resolved": "ALERT_RESOLVED",
    "alert-commented": "COMMENT_ADDED",
    # a maintenance window held the event: ``alert_id`` is then the suppression's position
    "maintenance-suppression-recorded": "MAINTENANCE_WINDOW_ACTIVE",
}

_SQL = """
SELECT e.type, e.metadata->>'request_fingerprint' AS fingerprint,
       f.position AS alert_id, f.data->>'alert_key' AS alert_key,
       (f.data->>'window_id')::bigint AS window_id
FROM idempotency_keys k
JOIN events e ON e.position = k.first_position
JOIN events f ON f.stream_id = k.stream_id AND f.version = 1
WHERE k.key = $1
"""


@dataclass(frozen=True)
class FirstAnswer:
    code: str | None  # None: the append was not one the Events API makes
    alert_id: int
    alert_key: str | None
    fingerprint: str | None
    #: the maintenance window that held the first request's event
    window_id: int | None = None


def fingerprint(body: Any) -> str:
    """The same request gives the same text, whatever its key order or spacing."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


async def first_answer(pool: asyncpg.Pool, idempotency_key: str) -> FirstAnswer | None:
    row = await pool.fetchrow(_SQL, idempotency_key)
    if row is None:
        return None
    return FirstAnswer(
        CODES.get(row["type"]),
        row["alert_id"],
        row["alert_key"],
        row["fingerprint"],
        row["window_id"],
    )
