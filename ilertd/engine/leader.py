"""Leadership: exactly one instance runs the engine (timers, and later escalations).

The leader holds ``pg_try_advisory_lock`` on a connection of its own. PostgreSQL releases
the lock when that connection ends, so a leader that is killed hands over as soon as its
backend notices; the others retry every ``retry_s`` seconds. A leader whose connection
breaks steps down at once. Every command the engine issues re-checks the aggregate at its
current version, so the brief overlap a network partition can cause does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)

LEADER_LOCK_KEY = 0x11E27D_0002
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

Callback = Callable[[], Awaitable[None]]

#: Is the leader lock held by a session of this name?
HELD_BY_SQL = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1
      AND ((l.classid::bigint << 32) | l.objid::bigint) = $2)
"""


def engine_session_name(serve_pid: int) -> str:
    """The leader session name of the engine that ``ilertd serve`` (pid) started."""
    return f"ilertd-engine:{serve_pid}"


class Leadership:
    def __init__(
        self,
        dsn: str,
        on_gain: Callback,
        on_loss: Callback,
        *,
        retry_s: float = 2.0,
        key: int = LEADER_LOCK_KEY,
        application_name: str = "ilertd-engine",
    ) -> None:
        self.dsn = dsn
        #: Names the lock's session, so an ``ilertd serve`` whose engine runs in a child
        #: process can tell (for /metrics) whether that child leads.
        self.application_name = application_name
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.retry_s = retry_s
        self.key = key
        self.is_leader = False
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._step_down()

    async def _run(self) -> None:
        while True:
            try:
                if self.is_leader and (self._conn is None or self._conn.is_closed()):
                    # the session that held the lock is gone, and the lock with it
                    log.warning("leadership lost: its connection closed")
                    await self._step_down()
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self.dsn,
                        timeout=10,
                        server_settings={"application_name": self.application_name},
                    )
                if not self.is_leader:
                    if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                        self.is_leader = True
                        log.info("leadership gained")
                        await self.on_gain()
                else:
                    await asyncio.wait_for(self._conn.fetchval("SELECT 1"), self.retry_s * 2)
            except DATABASE_ERRORS as exc:
                if self.is_leader:
                    log.warning("leadership lost: its connection failed", error=str(exc))
                await self._step_down()
            await asyncio.sleep(self.retry_s)

    async def _step_down(self) -> None:
        was_leader, self.is_leader = self.is_leader, False
        if was_leader:
            await self.on_loss()
        if self._conn is not None:
            self._conn.terminate()  # ends the session, and with it the lock
            self._conn = None
