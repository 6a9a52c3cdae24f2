"""The loop shared by the engine leader's senders (webhook dispatcher, notifier).

Each round picks due items from a read model and runs each as a task; an item stays busy
while its task runs and, once its outcome is appended, until the read model (``projection``)
has applied that position, so it is never picked twice, however far behind the projection
is. A task that fails unexpectedly cools its items down for a few seconds instead of
spinning. Sleeping ends early when the projection committed something (its ``Wakeup``).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from projections import ProjectionRunner

log = structlog.get_logger(__name__)

COOL_DOWN_S = 5.0
IDLE_POLL_S = 1.0
#: Rounds are at least this far apart: under load every finished item and every projection
#: commit wakes the loop, and one round per burst of wake-ups serves them all.
MIN_ROUND_GAP_S = 0.02


class Wakeup(asyncio.Event):
    """ "The read model changed": the projection's listener (calling it sets the event), what
    its worker sleeps on. Made before both: the worker reads the projection's position from
    the runner, so the projection (inside the runner) cannot be given the worker itself."""

    async def __call__(self) -> None:
        self.set()


class LeaderWorker(ABC):
    #: The read model whose position says an appended outcome is visible.
    projection: str

    def __init__(self, runner: ProjectionRunner, concurrency: int, woken_by: Wakeup) -> None:
        self.runner = runner
        self.concurrency = concurrency
        self._wakeup = woken_by
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._cooling: dict[str, float] = {}
        #: Items whose outcome is appended, by its position, until the projection has it.
        self._recorded: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        await self._open()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=type(self).__name__)
        log.info("worker started", worker=type(self).__name__)

    async def stop(self) -> None:
        """Stop; items in flight are abandoned and picked up again later (at least once)."""
        tasks = [t for t in (self._task, *self._inflight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self._inflight.clear()
        self._recorded.clear()
        await self._close()

    async def _open(self) -> None:  # noqa: B027 - optional hook
        """Acquire what the rounds need (an HTTP session...)."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release it."""

    @abstractmethod
    async def _round(self) -> float:
        """Start what is due (``_start``); return how long to sleep unless woken."""

    @property
    def free(self) -> int:
        return self.concurrency - len(self._inflight)

    def _busy(self) -> list[str]:
        """Items not to pick now: running, cooling down, or recorded but not yet visible."""
        now = asyncio.get_running_loop().time()
        self._cooling = {k: v for k, v in self._cooling.items() if v > now}
        applied = self.runner.positions.get(self.projection, 0)
        self._recorded = {k: p for k, p in self._recorded.items() if p > applied}
        return [*self._inflight, *self._cooling, *self._recorded]

    def _start(self, keys: list[str], work: Callable[[], Awaitable[int | None]]) -> None:
        """Run ``work()`` (returning the position of its outcome, if any) for ``keys``; the
        coroutine is made inside the task, so a task cancelled before it ran leaves none
        behind unawaited."""
        task = asyncio.get_running_loop().create_task(self._guarded(keys, work))
        for key in keys:
            self._inflight[key] = task

    async def _guarded(self, keys: list[str], work: Callable[[], Awaitable[int | None]]) -> None:
        try:
            position = await work()
            if position is not None:
                self._recorded.update(dict.fromkeys(keys, position))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("work item failed unexpectedly; cooling down", items=keys)
            until = asyncio.get_running_loop().time() + COOL_DOWN_S
            self._cooling.update(dict.fromkeys(keys, until))
        finally:
            for key in keys:
                self._inflight.pop(key, None)
            self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                wait = await self._round()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("worker cannot read its read model; retrying", error=str(exc))
                wait = COOL_DOWN_S
            await asyncio.sleep(min(wait, MIN_ROUND_GAP_S))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), max(0.0, wait - MIN_ROUND_GAP_S))
