"""Read your writes: before a read, wait until the read models it uses hold everything
committed before it started.

Positions are gapless and commit in order (appends hold the store's lock), so the store's
head read after a request started (``EventStore.fresh_head``: one query, shared by the
requests that arrive together) covers every write answered before it, on any instance. A
read model holds position ``p`` when its tables reflect every event up to ``p``:

- one this runner keeps (every projection, and a leader-only one while this instance leads):
  ``runner.positions`` says so and ``wait_until`` wakes at the advance that gets there. The
  tables are shared by all instances, and a runner that finds another instance applied a
  batch takes that position over, so this covers other instances' work too.
- a leader-only one the leader keeps elsewhere: its tracking row, polled. The leader moves
  that row only with batches that change its tables (skipping costs no write), so the row
  also counts as caught up when no event it wants lies between the row and the head.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

from eventstore import EventStore

from .runner import ProjectionRunner

#: Says whether what one read needs of a read model is already there, however far the rest
#: of it lags (one alert's row, say).
Current = Callable[[], Awaitable[bool]]

#: Polling a leader-only read model kept by another instance: first pause, longest pause.
POLL_FIRST_S = 0.002
POLL_MAX_S = 0.05


class ReadModelsBehind(Exception):
    """The read models did not reach the head within the bound."""

    def __init__(self, head: int, behind: dict[str, int], waited_s: float) -> None:
        names = ", ".join(f"{name} at {position}" for name, position in sorted(behind.items()))
        super().__init__(
            f"the read models are behind the event store (head {head}: {names}) "
            f"after {waited_s:.1f} s"
        )
        self.head = head
        self.behind = behind


_APPLIED_ELSEWHERE = """
SELECT t.position,
       t.position >= $2 OR NOT EXISTS (
           SELECT 1 FROM events e
           WHERE e.position > t.position AND e.position <= $2
             AND ($3::text[] IS NULL OR e.type = ANY($3::text[])))
FROM projection_tracking t WHERE t.name = $1
"""


class ReadBarrier:
    def __init__(self, store: EventStore, runner: ProjectionRunner) -> None:
        self.store = store
        self.runner = runner
        self._types = {
            name: sorted(p.event_types) if p.event_types is not None else None
            for name, p in runner.projections.items()
        }

    async def wait(
        self,
        names: Collection[str],
        timeout: float,
        *,
        current: Mapping[str, Current] | None = None,
    ) -> float:
        """Return once every projection in ``names`` holds the head as of now; the seconds
        spent waiting (0.0 on the fast path: one query, no wait). ``ReadModelsBehind``
        past ``timeout``. A read model behind the head whose ``current`` check says the
        read's part of it is there is not waited for."""
        head = await self.store.fresh_head()
        runner = self.runner
        local = [name for name in names if runner.runs(name)]
        remote = [name for name in names if not runner.runs(name)]
        if not remote and all(runner.positions[name] >= head for name in local):
            return 0.0
        started = time.monotonic()
        seen: dict[str, int] = {}
        try:
            async with asyncio.timeout(timeout):
                for name, check in (current or {}).items():
                    if name in local and runner.positions[name] < head and await check():
                        local.remove(name)
                await runner.wait_until(head, local)
                for name in remote:
                    await self._applied_elsewhere(name, head, seen)
        except TimeoutError:
            behind = {name: runner.positions[name] for name in local}
            behind.update(seen)
            behind = {name: position for name, position in behind.items() if position < head}
            raise ReadModelsBehind(head, behind, time.monotonic() - started) from None
        return time.monotonic() - started

    async def _applied_elsewhere(self, name: str, head: int, seen: dict[str, int]) -> None:
        pause = POLL_FIRST_S
        while True:
            row = await self.store.pool.fetchrow(_APPLIED_ELSEWHERE, name, head, self._types[name])
            if row is not None and row[1]:
                seen.pop(name, None)
                return
            seen[name] = row[0] if row is not None else 0
            await asyncio.sleep(pause)
            pause = min(pause * 2, POLL_MAX_S)
