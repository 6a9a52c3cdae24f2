"""A real HTTP receiver on loopback that records what ilertd sends it.

It stands in for a webhook consumer (a SIEM, a chat service, Jira): the tests assert the
requests it received. ``answers`` scripts the next statuses (then 200), ``delay_s`` makes it
slow, and ``reply`` may give a JSON body (Jira's created issue).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    reply: dict[str, Any] | None = None
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.answers.pop(0) if self.answers else 200
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if status == 200:
            self.requests.append(
                Received(request.method, request.path_qs, dict(request.headers), body)
            )
            self._arrived.set()
        payload = self.reply if self.reply is not None else {"ok": status == 200}
        return web.json_response(payload, status=status)

    async def start(self, port: int = 0) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Until ``count`` requests were accepted (200) or the timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.requests) < count and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.01, deadline - loop.time()))
            except TimeoutError:
                break
        return self.requests
