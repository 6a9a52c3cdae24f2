"""The one place timers run: APScheduler jobs mirroring the timers projection.

At start every pending timer is loaded from the projection (overdue ones fire at once);
afterwards the projection reports each committed change and the matching job is added,
moved or removed. A firing job issues a command that re-checks the aggregate at its current
version, so a timer that fires late, twice, or after the alert changed does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg
import structlog
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from projections.timers import TimerChange, pending_timers

from ..clock import Clock
from ..metrics import Metrics

log = structlog.get_logger(__name__)

Handler = Callable[[UUID], Awaitable[object]]


class TimerEngine:
    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: dict[str, Handler],
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool = pool
        self.handlers = handlers
        self.clock = clock
        self.metrics = metrics
        self.scheduler: AsyncIOScheduler | None = None
        self.fired = 0
        # loading and applying changes never interleave: the newest due time always wins
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        """Load every pending timer (overdue ones fire at once) and follow changes."""
        async with self._lock:
            self.scheduler = AsyncIOScheduler(timezone="UTC")
            self.scheduler.start()
            timers = await pending_timers(self.pool)
            self._schedule(timers)
        log.info("timers loaded", count=len(timers))

    async def stop(self) -> None:
        async with self._lock:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
                self.scheduler = None

    async def apply(self, changes: list[TimerChange]) -> None:
        """Committed timer changes from the projection; ignored while not running."""
        async with self._lock:
            if self.scheduler is not None:
                self._schedule(changes)

    def _schedule(self, changes: list[TimerChange]) -> None:
        assert self.scheduler is not None
        for change in changes:
            if change.due_at is None:
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(change.name)
                continue
            self.scheduler.add_job(
                self._fire,
                trigger="date",
                run_date=change.due_at,
                args=(change,),
                id=change.name,
                replace_existing=True,
                misfire_grace_time=None,  # overdue (after a restart): fire at once
                coalesce=True,
            )

    async def _fire(self, timer: TimerChange) -> None:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            log.error("no handler for timer", timer=timer.name, kind=timer.kind)
            return
        assert timer.due_at is not None
        lag = (self.clock.now() - timer.due_at).total_seconds()
        if self.metrics is not None:
            self.metrics.timer_lag.labels(timer.kind).observe(max(lag, 0.0))
        try:
            result = await handler(timer.stream_id)
            self.fired += 1
            log.info(
                "timer fired", timer=timer.name, lag_ms=round(lag * 1000, 1), acted=bool(result)
            )
        except Exception:
            log.exception("timer handler failed", timer=timer.name)
