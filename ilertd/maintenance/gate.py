"""The check every new alert passes: is its source in an active maintenance window?

Asked before an alert opens, by the Events API and by ``POST /api/alerts`` alike
(``alerts.creation``): in an active window no alert opens, nobody is paged, and the event
is recorded as a ``MaintenanceSuppression`` instead (one append on a stream of its own), so
it is never silently lost. Events for alerts already open (an ALERT joining one, ACCEPT,
RESOLVE, COMMENT) never reach this check and still apply.

Cheap on the hot path: each source's windows that have not ended are kept in memory and
compared with the clock on every event (so a window starts and ends without a timer). The
entries are dropped whenever the windows' read model changes: on this instance before the
write's answer (the projection's ``batch_committed`` calls ``changed``), on the others by
the projection's ``read-model:maintenance_windows`` notification (``invalidate``). A load
that overlapped a change is not kept.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from eventstore.repository import Repository
from projections.maintenance_windows import windows_of_source

from ..clock import Clock
from ..domain.maintenance_window import MaintenanceSuppression, Span, active_in

MAX_ENTRIES = 4096


class Suppressed(Exception):
    """A maintenance window held the new alert: ``position`` is the suppression's event
    (of an earlier request, when ``duplicate``: a replayed idempotency key)."""

    def __init__(self, window: Span, position: int, duplicate: bool = False) -> None:
        super().__init__(f"suppressed by maintenance window {window.window_id}")
        self.window = window
        self.position = position
        self.duplicate = duplicate

    @property
    def message(self) -> str:
        return (
            f"alert source in maintenance window {self.window.window_id} "
            f"({self.window.summary}): no alert was created, the event is recorded"
        )


class MaintenanceGate:
    def __init__(
        self, repository: Repository, pool: asyncpg.Pool, clock: Clock, *, cache: bool = True
    ) -> None:
        """``cache``: keep windows in memory; only where ``changed`` and ``invalidate`` are
        wired to the projection and the notifications (``runtime``)."""
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self.cache = cache
        self._spans: dict[int, tuple[Span, ...]] = {}
        self._invalidations = 0

    def invalidate(self) -> None:
        """Drop every entry: the windows changed (here or on another instance)."""
        self._spans.clear()
        self._invalidations += 1

    async def changed(self) -> None:
        """The projection's listener: called once a batch of window changes committed."""
        self.invalidate()

    async def spans_of(self, source_id: int) -> tuple[Span, ...]:
        """The source's windows that had not ended when they were read."""
        spans = self._spans.get(source_id)
        if spans is not None:
            return spans
        invalidations = self._invalidations
        rows = await windows_of_source(self.pool, source_id, self.clock.now())
        spans = tuple(
            Span(row["id"], row["summary"], row["starts_at"], row["ends_at"]) for row in rows
        )
        if self.cache and self._invalidations == invalidations:
            if len(self._spans) >= MAX_ENTRIES:
                del self._spans[next(iter(self._spans))]
            self._spans[source_id] = spans
        return spans

    async def active_window(self, source_id: int) -> Span | None:
        spans = await self.spans_of(source_id)
        return active_in(spans, self.clock.now()) if spans else None

    async def hold(
        self,
        source: asyncpg.Record,
        summary: str,
        alert_key: str | None,
        metadata: dict[str, Any],
        idempotency_key: str | None,
    ) -> None:
        """Return when no window holds the source; else record the suppression and raise
        ``Suppressed``."""
        window = await self.active_window(source["id"])
        if window is None:
            return
        suppression = MaintenanceSuppression(
            window_id=window.window_id,
            source_id=source["id"],
            alert_key=alert_key,
            summary=summary,
            via=str(metadata.get("via", "rest-api")),
        )
        result = await self.repository.save(
            suppression, metadata=metadata, idempotency_key=idempotency_key
        )
        assert result is not None
        raise Suppressed(window, result.first_position, result.duplicate)
