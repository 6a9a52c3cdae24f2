"""An in-process ilertd (real aiohttp server, real PostgreSQL) for API tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ilertd.app import Services
from ilertd.clock import Clock
from ilertd.config import load_config
from ilertd.http.server import build_app
from ilertd.runtime import Runtime

from ..contract import check_answer

ADMIN_KEY = "ilk_integration_admin_key_0123456789abcdef"
#: Seals connector and action secrets in the tests' scratch databases (a key file in the
#: home directory otherwise); tests of the key file pass ILERTD_SECRETS_KEYS="".
SECRETS_KEY = "aWxlcnRkLWludGVncmF0aW9uLXRlc3RzLWtleS0wMDA="


@dataclass
class Api:
    """A client bound to the running app; ``key`` is sent as the Bearer token."""

    services: Services
    server: TestServer
    session: aiohttp.ClientSession
    key: str | None = ADMIN_KEY

    @property
    def runtime(self) -> Runtime:
        """The started daemon's parts (store, runner, repository, engine...)."""
        assert self.services.runtime is not None, "not started"
        return self.services.runtime

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        key: str | bool | None = True,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        token = self.key if key is True else key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.url(path), json=json, headers=headers, **kwargs
        ) as response:
            body = await response.read()
            if response.content_type.endswith("json") and body:
                parsed = await response.json(content_type=None)
            else:
                parsed = body.decode() if body else None
            check_answer(method, path, response.status, response.content_type, parsed)
            return response.status, parsed

    async def settle(self) -> None:
        """Wait until projections have applied everything committed so far."""
        await self.runtime.runner.wait_for(await self.runtime.store.head_position())


@contextlib.asynccontextmanager
async def running_api(dsn: str, clock: Clock | None = None, **env: str) -> AsyncIterator[Api]:
    """An in-process daemon on ``dsn``; ``env`` adds ``ILERTD_*`` settings; ``clock`` is
    the one every part reads (the system's by default)."""
    config = load_config(
        None,
        env={
            "ILERTD_DATABASE_URL": dsn,
            "ILERTD_ADMIN_API_KEY": ADMIN_KEY,
            "ILERTD_DATABASE_POOL_SIZE": "5",
            "ILERTD_SECRETS_KEYS": SECRETS_KEY,
            **env,
        },
    )
    services = Services(config, clock=clock)
    await services.start()
    server = TestServer(build_app(services))
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Api(services, server, session)
    finally:
        await session.close()
        await server.close()
        await services.close()


@pytest.fixture
async def api(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn) as running:
        yield running
