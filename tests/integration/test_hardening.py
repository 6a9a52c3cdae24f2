"""A daemon that slow clients and a stuck database cannot hold open, and logs without
secrets: real requests to a real server on real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import structlog

from ilertd.config import ConfigError, load_config
from ilertd.outbound.guard import DestinationDeniedError
from ilertd.outbound.settings import dispatch_settings

from .conftest import ADMIN_KEY, Api, running_api
from .test_events_api import make_source, send

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWxpbmstdG9rZW4.c2ln"
KEY = "il1api0SECRETKEY0123456789abcdef"
FEED = "feedtokenSECRET0123456789abcdefgh"


def _host_port(api: Api) -> tuple[str, int]:
    return api.server.host, int(api.server.port)  # type: ignore[arg-type]


# --- 1. secrets never in logs ---------------------------------------------------------


async def test_request_log_never_holds_tokens_or_keys(api: Api) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    targets = [
        ("GET", f"/r/{TOKEN}", {}),
        ("POST", f"/r/{TOKEN}", {}),
        ("GET", f"/api/alert-sources/{KEY}", auth),
        ("POST", f"/api/v1/events/prtg/{KEY}", {}),
        ("POST", f"/api/v1/events/{KEY}", {}),
        ("GET", f"/api/schedules/1/ical?token={FEED}", {}),
    ]
    with structlog.testing.capture_logs() as logs:
        for method, path, headers in targets:
            async with api.session.request(method, api.url(path), headers=headers) as answer:
                await answer.read()
                assert answer.status < 500, (path, answer.status)
    requests = [entry for entry in logs if entry["event"] == "request"]
    assert len(requests) == len(targets)
    assert {entry["path"] for entry in requests} >= {
        "/r/***",
        "/api/alert-sources/***",
        "/api/v1/events/prtg/***",
        "/api/schedules/1/ical?token=***",
    }
    text = repr(logs)
    for secret in (TOKEN, KEY, FEED, ADMIN_KEY):
        assert secret not in text


# --- 2. outbound deny-by-default ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.169.254", "100.64.0.1", "fd00::1", "::1"],
)
def test_the_default_policy_denies_internal_destinations(address: str) -> None:
    policy = dispatch_settings(load_config(None, env={})).policy
    with pytest.raises(DestinationDeniedError):
        policy.check(address)
    policy.check("93.184.216.34")  # public


def test_allow_networks_lets_an_intranet_range_in() -> None:
    config = load_config(None, env={"ILERTD_OUTBOUND_ALLOW_NETWORKS": "10.20.0.0/16"})
    policy = dispatch_settings(config).policy
    policy.check("10.20.5.6")
    with pytest.raises(DestinationDeniedError):
        policy.check("10.21.0.1")
    with pytest.raises(DestinationDeniedError):
        policy.check("169.254.169.254")


# --- 3. timeouts, Retry-After, Allow, admin key -------------------------------------------


@pytest.fixture
async def strict(dsn: str) -> AsyncIterator[Api]:
    env = {
        "ILERTD_HTTP_HEADER_TIMEOUT_S": "1",
        "ILERTD_HTTP_BODY_TIMEOUT_S": "1",
        "ILERTD_DATABASE_POOL_SIZE": "2",
        "ILERTD_DATABASE_ACQUIRE_TIMEOUT_S": "0.5",
        "ILERTD_DATABASE_STATEMENT_TIMEOUT_S": "0.5",
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "1",
        "ILERTD_ENGINE_PROCESS": "inline",
    }
    async with running_api(dsn, **env) as running:
        yield running


async def _dribble(host: str, port: int, stop: asyncio.Event) -> float:
    """Send a request head a header line at a time, never finishing; seconds until closed."""
    reader, writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    writer.write(b"GET /api/alerts HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        n = 0
        while not stop.is_set():
            await asyncio.sleep(0.2)
            n += 1
            writer.write(f"X-Slow-{n}: y\r\n".encode())
            await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""
        return time.monotonic() - started
    finally:
        trickling.cancel()
        writer.close()
        await asyncio.gather(trickling, return_exceptions=True)


async def test_connections_dribbling_headers_are_closed_within_the_bound(strict: Api) -> None:
    host, port = _host_port(strict)
    stop = asyncio.Event()
    held = await asyncio.gather(*(_dribble(host, port, stop) for _ in range(50)))
    stop.set()
    assert max(held) < 3.0, held  # bound 1 s; generous for a loaded machine
    assert min(held) >= 0.9, held
    status, _ = await strict.call("GET", "/api/users/current")  # others are still served
    assert status == 200


async def test_a_body_sent_too_slowly_is_a_408_and_the_connection_closes(strict: Api) -> None:
    host, port = _host_port(strict)
    reader, writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    writer.write(
        b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"integ'
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)  # read() to EOF: closed
    elapsed = time.monotonic() - started
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"field":"body"' in answer
    assert 0.9 <= elapsed < 3.0


async def test_an_exhausted_pool_is_a_503_with_retry_after_not_a_hang(strict: Api) -> None:
    pool = strict.runtime.pool
    held = [await pool.acquire(timeout=10) for _ in range(2)]
    try:
        started = time.monotonic()
        async with strict.session.get(
            strict.url("/api/alerts"), headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ) as answer:
            body = await answer.json(content_type=None)
        elapsed = time.monotonic() - started
    finally:
        for conn in held:
            await pool.release(conn)
    assert answer.status == 503, body
    assert body["code"] == "DATABASE_BUSY"
    assert answer.headers["Retry-After"] == "1"
    assert elapsed < 3.0
    status, _ = await strict.call("GET", "/api/alerts")  # and served again once free
    assert status == 200


async def test_a_statement_blocked_by_a_lock_is_a_503_within_the_bound(
    strict: Api, dsn: str
) -> None:
    await strict.call("GET", "/api/alerts")  # the admin is known, the caches are warm
    blocker = await asyncpg.connect(dsn)
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            status, body = await strict.call("GET", "/api/alerts")
            elapsed = time.monotonic() - started
    finally:
        await blocker.close()
    assert status == 503, body
    assert body["code"] == "DATABASE_BUSY"
    assert elapsed < 3.0
    assert (await strict.call("GET", "/api/alerts"))[0] == 200


async def test_every_429_says_when_to_retry(strict: Api) -> None:
    source = await make_source(strict)
    event = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    assert (await send(strict, event))[0] == 202
    async with strict.session.post(strict.url("/api/events"), json=event) as answer:
        assert answer.status == 429
        assert int(answer.headers["Retry-After"]) >= 30  # 1 a minute: the next token's wait


async def test_a_405_names_the_allowed_methods(api: Api) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with api.session.patch(api.url("/api/alerts"), headers=headers) as answer:
        body = await answer.json(content_type=None)
    assert answer.status == 405, body
    assert set(answer.headers["Allow"].split(",")) == {"GET", "POST"}
    assert body["status"] == 405


@pytest.mark.parametrize("key", ["a", "ilk_" + "x" * 27])
def test_a_short_admin_key_is_refused_naming_the_setting(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"ILERTD_ADMIN_API_KEY": key})
    message = str(caught.value)
    assert "ILERTD_ADMIN_API_KEY" in message and "admin_api_key" in message
    assert "at least 32 characters" in message and f"got {len(key)}" in message
    assert "xxxx" not in message  # the key itself is never shown


def test_a_long_admin_key_is_accepted() -> None:
    key = "ilk_" + "x" * 28
    assert load_config(None, env={"ILERTD_ADMIN_API_KEY": key})["admin_api_key"] == key


class FreezableProxy:
    """A TCP relay to PostgreSQL that can stop passing bytes: a database that hangs (a
    stopped VM, a dead network path) rather than one that refuses connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[:2]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self.flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()

    async def close(self) -> None:
        self.flowing.set()
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def test_a_database_that_hangs_is_a_503_within_the_bound_not_a_hang(dsn: str) -> None:
    parts = urlsplit(dsn)
    proxy = FreezableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    host, port = await proxy.start()
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@{host}:{port}"))
    env = {
        "ILERTD_DATABASE_ACQUIRE_TIMEOUT_S": "1",
        "ILERTD_DATABASE_STATEMENT_TIMEOUT_S": "1",
        "ILERTD_ENGINE_PROCESS": "inline",
    }
    try:
        async with running_api(proxied, **env) as api:
            assert (await api.call("GET", "/api/alerts"))[0] == 200
            proxy.flowing.clear()
            started = time.monotonic()
            status, body = await api.call("GET", "/api/alerts")
            elapsed = time.monotonic() - started
            proxy.flowing.set()
            assert status == 503, body
            assert elapsed < 6.0, elapsed  # 1 s bounds, +2 s client-side margin
    finally:
        await proxy.close()
