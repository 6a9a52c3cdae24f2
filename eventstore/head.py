"""The head as of a moment after the caller asked, one query for many callers.

A reader that must see every commit made before it started (read your writes, across
instances) asks the database for the head: positions commit in order, so ``max(position)``
read after the reader started covers them all. Concurrent readers share that query: one
that is already running started too early for a newcomer, so newcomers wait for the next
one, which starts as soon as the running one returns and serves all of them. The queries go
over a connection of their own (no pool checkout per read), one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

HEAD_SQL = "SELECT coalesce(max(position), 0) FROM events"

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class HeadReader:
    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
        self._busy = False
        #: The next query's result, for the callers that arrived while one was running.
        self._next: asyncio.Future[int] | None = None
        self._rounds: set[asyncio.Task[None]] = set()
        self._closed = False

    async def head(self) -> int:
        """The highest committed position, read after this call began."""
        if self._busy:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            return await asyncio.shield(self._next)
        self._busy = True
        try:
            return await self._query()
        finally:
            self._done()

    def _done(self) -> None:
        """The running query returned: start the next one if anybody waits for it."""
        self._busy = False
        if self._next is None:
            return
        waiting, self._next = self._next, None
        self._busy = True
        task = asyncio.get_running_loop().create_task(self._round(waiting))
        self._rounds.add(task)
        task.add_done_callback(self._rounds.discard)

    async def _round(self, waiting: asyncio.Future[int]) -> None:
        try:
            waiting.set_result(await self._query())
        except asyncio.CancelledError:
            waiting.cancel()
            raise
        except Exception as exc:
            waiting.set_exception(exc)
            waiting.exception()  # retrieved: each waiter gets it from its own await
        finally:
            self._done()

    async def _query(self) -> int:
        if self._closed:
            raise asyncpg.InterfaceError("the event store is closed")
        conn = self._conn
        if conn is None or conn.is_closed():
            conn = self._conn = await self._connect()
        try:
            return await conn.fetchval(HEAD_SQL)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()  # a fresh connection next time
            self._conn = None
            raise

    async def close(self) -> None:
        self._closed = True
        for task in list(self._rounds):
            task.cancel()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close(timeout=5)
        self._conn = None
