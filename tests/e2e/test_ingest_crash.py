"""Ingest under load, kill -9, restart: nothing acknowledged is lost, timelines intact."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
import asyncpg

from .daemon import Daemon, http

ADMIN = "ilk_e2e_ingest_admin_key_0123456789"


async def _load(url: str, key: str, acknowledged: list[dict], stop: asyncio.Event) -> None:
    rng = random.Random(7)

    async def client(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            body = {
                "integrationKey": key,
                "eventType": "ALERT",
                "summary": "load",
                "alertKey": f"key-{rng.randrange(40)}",
            }
            try:
                async with session.post(f"{url}/api/events", json=body) as response:
                    if response.status == 202:
                        acknowledged.append(await response.json())
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.05)  # the daemon is gone; nothing was acknowledged

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        await asyncio.gather(*(client(session) for _ in range(16)))


async def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path: Path, dsn: str) -> None:
    env = {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
        "ILERTD_LOG_LEVEL": "warning",
    }
    daemon = Daemon(tmp_path, **env).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        status, source = await asyncio.to_thread(
            http,
            "POST",
            daemon.url + "/api/alert-sources",
            key=ADMIN,
            body={"name": "load", "integrationType": "API"},
        )
        assert status == 201, source
        acknowledged: list[dict] = []
        stop = asyncio.Event()
        load = asyncio.create_task(_load(daemon.url, source["integrationKey"], acknowledged, stop))
        while len(acknowledged) < 300:
            await asyncio.sleep(0.05)
        daemon.kill()  # SIGKILL in the middle of the load
        await asyncio.sleep(0.3)
        stop.set()
        await load
        daemon = Daemon(tmp_path, **env).start()
        await asyncio.to_thread(daemon.wait_ready)

        conn = await asyncpg.connect(dsn)
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM events "
                "WHERE type IN ('alert-created', 'alert-event-received')"
            )
            created = {
                r["position"]
                for r in await conn.fetch(
                    "SELECT position FROM events WHERE type = 'alert-created'"
                )
            }
            per_stream = {
                r["id"]: (r["events"], r["entries"], r["received"])
                for r in await conn.fetch(
                    """
                    SELECT a.id, a.events_received AS received,
                      (SELECT count(*) FROM events e WHERE e.stream_id = a.stream_id) AS events,
                      (SELECT count(*) FROM alert_log_entries l WHERE l.alert_id = a.id) AS entries
                    FROM alerts a
                    """
                )
            }
        finally:
            await conn.close()
        assert stored >= len(acknowledged)
        assert {a["alertId"] for a in acknowledged} <= created
        assert set(per_stream) == created
        for alert_id, (events, entries, received) in per_stream.items():
            assert events == entries == received, alert_id  # every event on the timeline
        assert sum(received for _, _, received in per_stream.values()) == stored
        status, listed = await asyncio.to_thread(daemon.get, "/api/alerts/count", ADMIN)
        assert status == 200 and listed["count"] == len(created)
        assert await asyncio.to_thread(daemon.terminate) == 0
    finally:
        daemon.close()
