"""What this process knows of each (source, key)'s latest alert, for the Events API.

A dedup hit answered from here costs no read at all; an entry is dropped whenever an append
with it fails (stale: someone else moved the alert on) or it holds an unsaved change, and
then the latest alert is read from the store again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

from eventstore.repository import Repository

from ..domain.alert import Alert, keyed_alert_id, normalize_key

#: (source, key) pairs whose latest alert is kept in memory, least recently used out.
RECENT_ALERTS = 20_000


@dataclass
class KnownAlert:
    """The latest alert of a (source, key) as this process last saw it."""

    alert: Alert
    generation: int
    alert_id: int


class KnownAlerts:
    def __init__(self, repository: Repository, pool: asyncpg.Pool) -> None:
        self.repository = repository
        self.pool = pool
        #: by (source id, normalised key), least recently remembered first
        self.recent: OrderedDict[tuple[int, str], KnownAlert] = OrderedDict()

    async def load_latest(self, source: asyncpg.Record, key: str) -> KnownAlert | None:
        """The latest generation for this key, from the store (the projection only gives a
        starting hint for the probe; anything newer is found in the store)."""
        # one round trip answers the common case, a key never seen: no hint, no first stream
        hint, first_exists = await self.pool.fetchrow(
            "SELECT (SELECT max(generation) FROM alerts WHERE source_id = $1 "
            "AND alert_key_norm = $2), EXISTS (SELECT 1 FROM events WHERE stream_id = $3)",
            source["id"],
            normalize_key(key),
            keyed_alert_id(source["stream_id"], key, 0),
        )
        if hint is None and not first_exists:
            return None
        generation = hint if hint is not None else 0
        store = self.repository.store
        while await store.stream_version(keyed_alert_id(source["stream_id"], key, generation + 1)):
            generation += 1
        rows = await store.read_stream(keyed_alert_id(source["stream_id"], key, generation))
        alert: Alert | None = None
        for row in rows:
            alert = self.repository.mapper.to_domain_event(row).mutate(alert)
        assert alert is not None
        return KnownAlert(alert, generation, rows[0].position)

    async def get(self, source: asyncpg.Record, key: str, fresh: bool) -> KnownAlert | None:
        """The key's latest alert: remembered, or (``fresh``, or not remembered) read."""
        cache_key = (source["id"], normalize_key(key))
        known = None if fresh else self.recent.get(cache_key)
        if known is None:
            known = await self.load_latest(source, key)
        return known

    def remember(self, source: asyncpg.Record, key: str, known: KnownAlert | None) -> None:
        """Keep ``known`` as the key's latest alert (None: forget the key)."""
        cache_key = (source["id"], normalize_key(key))
        self.recent.pop(cache_key, None)
        if known is not None:
            self.recent[cache_key] = known
            while len(self.recent) > RECENT_ALERTS:
                self.recent.popitem(last=False)
