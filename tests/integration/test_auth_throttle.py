"""Failed authentication throttled per client address and per user, on a real daemon with
short configured windows; clients on other loopback addresses (127.0.0.2, ...) are other
addresses to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from ilertd.http import auth
from ilertd.security import verify_password

from .conftest import ADMIN_KEY, Api, running_api
from .test_basic_auth import PASSWORD, basic
from .test_users_api import create, key_for

MAX_FAILURES = 3
WINDOW_S = 1.5
WRONG_KEY = "ilk_not_a_key_anyone_holds_000000000000000"


@pytest.fixture
async def api(dsn: str) -> AsyncIterator[Api]:
    async with running_api(
        dsn,
        ILERTD_AUTH_MAX_FAILURES=str(MAX_FAILURES),
        ILERTD_AUTH_FAILURE_WINDOW_S=str(WINDOW_S),
    ) as running:
        yield running


@pytest.fixture
async def from_address(api: Api) -> AsyncIterator[Callable[[str], Api]]:
    """A client of the same daemon whose connections come from another loopback address."""
    sessions: list[aiohttp.ClientSession] = []

    def client(address: str) -> Api:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
        sessions.append(session)
        return Api(api.services, api.server, session)

    yield client
    for session in sessions:
        await session.close()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per password check authentication runs (the real check, counted)."""
    calls: list[None] = []

    async def counted(password_hash: str | None, password: str) -> bool:
        calls.append(None)
        return await verify_password(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counted)
    return calls


async def status_of(api: Api, **kw: object) -> int:
    status, _ = await api.call("GET", "/api/users/current", **kw)  # type: ignore[arg-type]
    return status


async def retry_after_of(api: Api, **kw: object) -> int:
    """The Retry-After of a 429 (the answer checked against the document as well)."""
    async with api.session.get(api.url("/api/users/current"), **kw) as response:  # type: ignore[arg-type]
        assert response.status == 429
        return int(response.headers["Retry-After"])


async def test_wrong_keys_from_one_address_get_429_until_the_window_passes(
    api: Api, from_address: Callable[[str], Api]
) -> None:
    for _ in range(MAX_FAILURES):
        assert await status_of(api, key=WRONG_KEY) == 403
    status, problem = await api.call("GET", "/api/users/current", key=WRONG_KEY)
    assert status == 429 and problem["code"] == "TOO_MANY_REQUESTS", problem
    assert "client address" in problem["message"]
    # refused before any check: the right key from this address too
    assert await status_of(api) == 429
    wait = await retry_after_of(api, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert 1 <= wait <= WINDOW_S + 1
    # another address is not affected, and a success there counts for nothing
    other = from_address("127.0.0.2")
    assert await status_of(other) == 200
    assert await status_of(other, key=WRONG_KEY) == 403  # its own count: one failure
    await asyncio.sleep(wait)
    assert await status_of(api) == 200
    # counting starts afresh: MAX_FAILURES more, then refused again
    for _ in range(MAX_FAILURES):
        assert await status_of(api, key=WRONG_KEY) == 403
    assert await status_of(api, key=WRONG_KEY) == 429


async def test_a_concurrent_burst_gets_no_more_answers_than_the_limit(api: Api) -> None:
    """The finding: 500 wrong keys in 0.5 s, all answered. Now only MAX_FAILURES are."""
    started = time.monotonic()
    statuses = await asyncio.gather(*(status_of(api, key=f"{WRONG_KEY}{i}") for i in range(200)))
    assert statuses.count(403) == MAX_FAILURES
    assert statuses.count(429) == 200 - MAX_FAILURES
    assert time.monotonic() - started < WINDOW_S  # all within one window
    statuses = await asyncio.gather(*(status_of(api) for _ in range(20)))
    assert set(statuses) == {429}  # the address is refused, right key or not


async def test_wrong_passwords_count_for_their_user_from_any_address(
    api: Api, from_address: Callable[[str], Api]
) -> None:
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    await create(api, "bob", username="bob", password=PASSWORD)
    ann_key = await key_for(api, ann["id"])
    # one wrong password from each of three addresses: no address reaches the limit...
    for n in range(MAX_FAILURES):
        client = from_address(f"127.0.0.{n + 2}")
        assert await status_of(client, key=False, headers=basic("ann@acme", "wrong" * 4)) == 401
    # ...but ann's password login does, even with the right password from a fresh address
    fresh = from_address("127.0.0.9")
    status, problem = await fresh.call(
        "GET", "/api/users/current", key=False, headers=basic("ann@acme", PASSWORD)
    )
    assert status == 429 and "this user" in problem["message"], problem
    wait = await retry_after_of(fresh, headers=basic("ann@acme", PASSWORD))
    assert 1 <= wait <= WINDOW_S + 1
    # her API key still works, and so does bob's password, from the same address
    assert await status_of(fresh, key=ann_key) == 200
    assert await status_of(fresh, key=False, headers=basic("bob@acme", PASSWORD)) == 200
    await asyncio.sleep(wait)
    assert await status_of(fresh, key=False, headers=basic("ann@acme", PASSWORD)) == 200


async def test_concurrent_guesses_at_one_user_are_bounded_too(
    api: Api, from_address: Callable[[str], Api], hashed: list[None]
) -> None:
    """Password checks for one user run one at a time, so guesses from many addresses at
    once still get MAX_FAILURES answers per window, and no more."""
    await create(api, "ann", username="ann", password=PASSWORD)
    clients = [from_address(f"127.0.1.{n + 1}") for n in range(12)]
    statuses = await asyncio.gather(
        *(
            status_of(client, key=False, headers=basic("ann", f"guess number {n:04d}"))
            for n, client in enumerate(clients)
        )
    )
    assert statuses.count(401) == MAX_FAILURES
    assert statuses.count(429) == len(clients) - MAX_FAILURES
    assert len(hashed) == MAX_FAILURES


async def test_a_burst_of_password_guesses_from_one_address_costs_only_the_limit(
    api: Api, hashed: list[None]
) -> None:
    """Password checks from one address run one at a time: guesses at unknown users (each
    checked against a decoy hash, about 20 ms of CPU) stop costing a hash at the limit."""
    statuses = await asyncio.gather(
        *(status_of(api, key=False, headers=basic(f"nobody{n}@acme", PASSWORD)) for n in range(60))
    )
    assert statuses.count(401) == MAX_FAILURES
    assert statuses.count(429) == 60 - MAX_FAILURES
    assert len(hashed) == MAX_FAILURES


async def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(dsn: str) -> None:
    """Behind a reverse proxy every client shares the proxy's address: with the proxy
    trusted, X-Forwarded-For names who failed, so one client's guesses do not lock out the
    others; from an untrusted address the header is ignored (anyone could send it)."""
    async with running_api(
        dsn,
        ILERTD_AUTH_MAX_FAILURES=str(MAX_FAILURES),
        ILERTD_AUTH_FAILURE_WINDOW_S="60",
        ILERTD_HTTP_TRUSTED_PROXIES="127.0.0.1/32",
    ) as api:

        def via(client: str) -> dict[str, dict[str, str]]:
            return {"headers": {"X-Forwarded-For": f"{client}, 127.0.0.1"}}

        for _ in range(MAX_FAILURES):
            assert await status_of(api, key=WRONG_KEY, **via("203.0.113.7")) == 403
        assert await status_of(api, key=WRONG_KEY, **via("203.0.113.7")) == 429
        assert await status_of(api, **via("203.0.113.7")) == 429
        # another client through the same proxy is not locked out
        assert await status_of(api, **via("198.51.100.9")) == 200
        # a forged left-hand entry does not move the count elsewhere
        forged = {"headers": {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}}
        assert await status_of(api, **forged) == 429
