"""Wakes subscribers when events commit: LISTEN/NOTIFY, with polling when it is down.

One listening connection per process is shared by every subscription. When that connection
drops (a restart, ``pg_terminate_backend``), subscribers fall back to polling at a short
interval while the notifier reconnects in the background; nothing is missed either way,
because subscribers always re-read from their own position.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from .writer import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


#: The payload prefix of a read model's change notification.
READ_MODEL_PREFIX = "read-model:"


class Notifier:
    def __init__(
        self,
        connect: Connect,
        *,
        idle_poll_s: float = 2.0,
        fallback_poll_s: float = 0.2,
        reconnect_s: float = 1.0,
    ) -> None:
        self._connect = connect
        self.idle_poll_s = idle_poll_s
        self.fallback_poll_s = fallback_poll_s
        self.reconnect_s = reconnect_s
        self._conn: asyncpg.Connection | None = None
        self._changed: asyncio.Future[None] | None = None
        self.sequence = 0
        #: Highest position announced so far (by this process's appends or a notification).
        self.announced = 0
        #: Called with a read model's name when any instance commits a change to it (the
        #: projection sends ``read-model:<name>`` on the same channel in its transaction):
        #: in-memory caches of that read model drop their rows at once, on every instance.
        self.read_model_listeners: list[Callable[[str], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closed = False

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed() and not self._lost.is_set()

    @property
    def connection_pid(self) -> int | None:
        return self._conn.get_server_pid() if self.listening else None

    async def start(self) -> None:
        self._changed = asyncio.get_running_loop().create_future()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self._listen()
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name="notifier")

    async def close(self) -> None:
        self._closed = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close(timeout=5)

    async def wait(self, seen: int) -> None:
        """Return once something may have committed after ``seen`` (or a poll is due)."""
        if self.sequence != seen:
            return
        timeout = self.idle_poll_s if self.listening else self.fallback_poll_s
        assert self._changed is not None, "start() the notifier first"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._changed), timeout)

    def poke(self, position: int | None = None) -> None:
        """Something committed (up to ``position``, when known): wake every waiter.
        Synchronous and cheap: it runs after every local append.

        A position announced already wakes nobody again (an append's own notification
        arriving after its poke, or the other way round): positions commit in order, so
        the waiters woken then read up to it anyway."""
        if position is not None:
            if position <= self.announced:
                return
            self.announced = position
        self.sequence += 1
        changed = self._changed
        self._changed = asyncio.get_running_loop().create_future()
        if changed is not None and not changed.done():
            changed.set_result(None)

    def _on_notify(self, _conn: object, _pid: object, _channel: object, payload: str) -> None:
        """A commit of any instance, this one's included; the payload is the new head, or
        ``read-model:<name>`` for a read model's change."""
        if payload.startswith(READ_MODEL_PREFIX):
            for listener in self.read_model_listeners:
                listener(payload.removeprefix(READ_MODEL_PREFIX))
            return
        try:
            position: int | None = int(payload)
        except ValueError:
            position = None
        self.poke(position)

    def _on_terminate(self, *_args: object) -> None:
        if self._closed:
            return
        log.warning("event notification connection lost; polling until it is back")
        self._lost.set()

    async def _listen(self) -> None:
        conn = await self._connect()
        conn.add_termination_listener(self._on_terminate)
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._conn = conn
        self._lost.clear()
        self.poke()  # something may have committed while we were not listening

    async def _supervise(self) -> None:
        while not self._closed:
            if self.listening:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), self.reconnect_s * 5)
                if self.listening:
                    # asyncpg notices a dead socket only when it next uses it.
                    try:
                        await asyncio.wait_for(self._conn.execute("SELECT 1"), 5)
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                        self._lost.set()
                continue
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None
            try:
                await self._listen()
                log.info("event notification connection restored")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.debug("notification reconnect failed", error=str(exc))
                await asyncio.sleep(self.reconnect_s)
