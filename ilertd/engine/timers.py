"""The one place timers run: the timers projection's pending timers, fired by APScheduler.

At start every pending timer is loaded from the projection (overdue ones fire at once);
afterwards the projection reports each committed change. The timers wait in a heap by due
time, and one APScheduler job is set for the earliest: a storm of alerts is thousands of
timers, and adding a job each (APScheduler inspects the callable's signature on every
``add_job``) cost the engine a tenth of its time. When the job runs, every timer due by
then fires at once, so steps falling due together are taken in one round. A firing timer
issues a command that re-checks the aggregate at its current version, so a timer that
fires late, twice, or after the alert changed does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from projections.timers import TimerChange, pending_timers

from ..clock import Clock
from ..domain.timers import TimerKind
from ..metrics import Metrics

log = structlog.get_logger(__name__)

Handler = Callable[[UUID], Awaitable[object]]

#: The one APScheduler job: set for the earliest pending timer.
NEXT_JOB = "next-timers"


class TimerEngine:
    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: Mapping[TimerKind, Handler],
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
        #: Pending timers by name; the heap holds (due, n, name), stale entries skipped.
        self._pending: dict[str, TimerChange] = {}
        self._heap: list[tuple[datetime, int, str]] = []
        self._order = itertools.count()
        #: When the job is set to run (None: not set).
        self._wake_at: datetime | None = None
        self._firing: set[asyncio.Task[None]] = set()

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
            self._pending.clear()
            self._heap.clear()
            self._wake_at = None

    async def apply(self, changes: list[TimerChange]) -> None:
        """Committed timer changes from the projection; ignored while not running."""
        async with self._lock:
            if self.scheduler is not None:
                self._schedule(changes)

    def _schedule(self, changes: list[TimerChange]) -> None:
        for change in changes:
            if change.due_at is None:
                self._pending.pop(change.name, None)
                continue
            self._pending[change.name] = change
            heapq.heappush(self._heap, (change.due_at, next(self._order), change.name))
        self._arm()

    def _earliest(self) -> datetime | None:
        """The earliest pending due time (stale heap entries dropped on the way)."""
        while self._heap:
            due, _, name = self._heap[0]
            timer = self._pending.get(name)
            if timer is not None and timer.due_at == due:
                return due
            heapq.heappop(self._heap)
        return None

    def _arm(self) -> None:
        """Set the job for the earliest timer, unless it is set to run by then already."""
        assert self.scheduler is not None
        due = self._earliest()
        if due is None:
            if self._wake_at is not None:
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(NEXT_JOB)
                self._wake_at = None
            return
        if self._wake_at is not None and self._wake_at <= due:
            return
        self.scheduler.add_job(
            self._fire_due,
            trigger="date",
            run_date=due,
            args=(due,),
            id=NEXT_JOB,
            replace_existing=True,
            misfire_grace_time=None,  # overdue (after a restart): fire at once
            coalesce=True,
            # set again from inside its own run, for a due time that may have passed by
            # then: the new run must not be skipped as a second instance of the running one
            max_instances=1_000_000,
        )
        self._wake_at = due

    async def _fire_due(self, wake_at: datetime) -> None:
        """Fire every timer due by now (or by the time the job was set for)."""
        if self.scheduler is None:
            return
        self._wake_at = None
        now = max(self.clock.now(), wake_at)
        while (due := self._earliest()) is not None and due <= now:
            _, _, name = heapq.heappop(self._heap)
            timer = self._pending.pop(name)
            task = asyncio.get_running_loop().create_task(self._fire(timer))
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)
        self._arm()

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
