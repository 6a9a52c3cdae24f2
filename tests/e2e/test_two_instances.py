"""Two ``ilertd serve`` on one database: one alert per key however the events are spread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from ..integration.receiver import Receiver
from .daemon import Daemon, http

ADMIN = "ilk_e2e_two_instances_admin_key_0123"


async def test_same_key_on_two_instances_opens_one_alert(tmp_path: Path, dsn: str) -> None:
    env = {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
        "ILERTD_LOG_LEVEL": "warning",
    }
    first = Daemon(tmp_path / "a", **env).start()
    second = Daemon(tmp_path / "b", **env).start()
    try:
        await asyncio.gather(
            asyncio.to_thread(first.wait_ready), asyncio.to_thread(second.wait_ready)
        )
        status, source = await asyncio.to_thread(
            http,
            "POST",
            first.url + "/api/alert-sources",
            key=ADMIN,
            body={"name": "twins", "integrationType": "API"},
        )
        assert status == 201, source
        await asyncio.sleep(2.5)  # past the other instance's 2 s source-lookup cache
        keys = [f"shared-{n}" for n in range(5)]

        async def post(session: aiohttp.ClientSession, url: str, key: str) -> dict:
            body = {
                "integrationKey": source["integrationKey"],
                "eventType": "ALERT",
                "summary": "race",
                "alertKey": key,
            }
            async with session.post(f"{url}/api/events", json=body) as response:
                assert response.status == 202, await response.text()
                return await response.json()

        async with aiohttp.ClientSession() as session:
            answers = await asyncio.gather(
                *(
                    post(session, daemon.url, key)
                    for _ in range(8)
                    for key in keys
                    for daemon in (first, second)
                )
            )
        by_key: dict[str, set[int]] = {}
        for answer in answers:
            by_key.setdefault(answer["alertKey"].lower(), set()).add(answer["alertId"])
        assert all(len(ids) == 1 for ids in by_key.values()), by_key
        assert sum(a["responseCode"] == "NEW_ALERT_CREATED" for a in answers) == len(keys)

        conn = await asyncpg.connect(dsn)
        try:
            created = await conn.fetchval(
                "SELECT count(*) FROM events WHERE type = 'alert-created'"
            )
            received = await conn.fetchval(
                "SELECT count(*) FROM events WHERE type = 'alert-event-received'"
            )
        finally:
            await conn.close()
        assert created == len(keys)
        assert created + received == len(answers)
        assert await asyncio.to_thread(first.terminate) == 0
        assert await asyncio.to_thread(second.terminate) == 0
    finally:
        first.close()
        second.close()


async def test_a_write_through_one_instance_is_read_at_once_through_the_other(
    tmp_path: Path, dsn: str
) -> None:
    """Read your writes across processes: an Events API 202 or a REST 2xx from one daemon,
    then at once a GET from the other, which must show it (no sleep, no retry). Deliveries
    are the engine's read model, kept by the leader's engine process: neither HTTP process
    keeps it, both wait for its tracking row."""
    env = {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
        "ILERTD_LOG_LEVEL": "warning",
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
        # instances on one database share the keys that seal action secrets (README)
        "ILERTD_SECRETS_KEYS": "ZTJlLXR3by1pbnN0YW5jZXMtc2hhcmUtdGhlLWtleSE=",
    }
    first = Daemon(tmp_path / "a", **env).start()
    second = Daemon(tmp_path / "b", **env).start()
    auth = {"Authorization": f"Bearer {ADMIN}"}
    try:
        await asyncio.gather(
            asyncio.to_thread(first.wait_ready), asyncio.to_thread(second.wait_ready)
        )
        async with aiohttp.ClientSession() as session:

            async def call(daemon: Daemon, method: str, path: str, body=None) -> tuple:
                kwargs = {"json": body} if body is not None else {}
                headers = {} if path.startswith("/api/events") else auth
                async with session.request(
                    method, daemon.url + path, headers=headers, **kwargs
                ) as response:
                    return response.status, await response.json(content_type=None)

            status, source = await call(
                first, "POST", "/api/alert-sources", {"name": "ryw", "integrationType": "API"}
            )
            assert status == 201, source
            key = source["integrationKey"]
            receiver = await Receiver().start()
            action = {
                "name": "siem",
                "connectorType": "webhook",
                "params": {"webhookUrl": receiver.url},
                "alertSources": [{"id": source["id"]}],
                "triggerTypes": ["alert-created"],
            }
            status, created = await call(second, "POST", "/api/alert-actions", action)
            assert status == 201, created
            for n in range(20):
                writer, reader = (first, second) if n % 2 else (second, first)
                body = {"integrationKey": key, "alertKey": f"k{n}", "summary": "disk"}
                status, created = await call(
                    writer, "POST", "/api/events", body | {"eventType": "ALERT"}
                )
                assert status == 202, created
                status, alert = await call(reader, "GET", f"/api/alerts/{created['alertId']}")
                assert status == 200 and alert["status"] == "PENDING", (n, alert)
                path = f"/api/deliveries?alert-id={created['alertId']}"
                status, deliveries = await call(reader, "GET", path)
                assert status == 200 and len(deliveries) == 1, (n, deliveries)
                status, _ = await call(
                    writer, "POST", "/api/events", body | {"eventType": "ACCEPT"}
                )
                assert status == 202
                status, alert = await call(reader, "GET", f"/api/alerts/{created['alertId']}")
                assert alert["status"] == "ACCEPTED", (n, alert)
                status, count = await call(reader, "GET", "/api/alerts/count?states=PENDING")
                assert count["count"] == 0, (n, count)
                person = {"email": f"u{n}@example.test", "firstName": f"u{n}", "lastName": "T"}
                status, user = await call(writer, "POST", "/api/users", person)
                assert status == 201, user
                status, found = await call(reader, "GET", f"/api/users/{user['id']}")
                assert status == 200 and found["firstName"] == f"u{n}", (n, found)
            await receiver.stop()
        assert await asyncio.to_thread(first.terminate) == 0
        assert await asyncio.to_thread(second.terminate) == 0
    finally:
        first.close()
        second.close()
