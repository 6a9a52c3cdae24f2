"""A periodic check that the engine is keeping its promises, run by the leader.

It logs (never fixes) open alerts whose escalation is overdue, or that have no next step
although their policy has one: a lost timer or an engine bug shows up in the log with the
alert ids, instead of as a silence nobody notices.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import structlog

from ..clock import Clock

log = structlog.get_logger(__name__)

STUCK_SQL = """
SELECT a.id,
       CASE WHEN a.next_escalation_at IS NOT NULL THEN 'overdue' ELSE 'no next step' END AS why
FROM alerts a JOIN escalation_policies p ON p.id = a.escalation_policy_id AND NOT p.deleted
WHERE a.status = 'PENDING'
  AND (
    a.next_escalation_at < $1
    OR (a.next_escalation_at IS NULL AND NOT a.escalation_ended AND a.priority = 'HIGH'
        AND (a.next_escalation_level < jsonb_array_length(p.escalation_rules) OR p.repeating))
  )
ORDER BY a.id
LIMIT 100
"""


class InvariantCheck:
    def __init__(
        self, pool: asyncpg.Pool, clock: Clock, *, interval_s: float = 60.0, grace_s: float = 30.0
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.interval_s = interval_s
        self.grace = timedelta(seconds=grace_s)
        self._task: asyncio.Task[None] | None = None

    async def check_once(self) -> list[tuple[int, str]]:
        rows = await self.pool.fetch(STUCK_SQL, self.clock.now() - self.grace)
        stuck = [(r["id"], r["why"]) for r in rows]
        if stuck:
            log.warning(
                "open alerts without their next escalation step although their policy has one",
                alerts=[{"id": i, "why": why} for i, why in stuck],
            )
        return stuck

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="invariants")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("invariant check failed", error=str(exc))
