"""Outbound delivery survives kill -9: a real ``ilertd serve`` killed while webhooks are in
flight sends every pending delivery after the restart (duplicates only under the same
delivery id)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.integration.receiver import Receiver

from .daemon import Daemon, http

ADMIN = "ilk_e2e_delivery_admin_key_0123456789ab"
ALERTS = 20


def _env(dsn: str) -> dict[str, str]:
    return {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
        "ILERTD_LOG_LEVEL": "warning",
        "ILERTD_ENGINE_LEADER_RETRY_S": "0.5",
        "ILERTD_OUTBOUND_RETRY_BASE_S": "0.5",
        "ILERTD_OUTBOUND_RETRY_MAX_S": "1",
        "ILERTD_OUTBOUND_TIMEOUT_S": "5",
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
    }


def _call(daemon: Daemon, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    status, answer = http(method, daemon.url + path, key=ADMIN, body=body)
    assert status == expect, (method, path, status, answer)
    return answer


def _setup(daemon: Daemon, url: str) -> str:
    source = _call(
        daemon, "POST", "/api/alert-sources", {"name": "e2e", "integrationType": "API"}, 201
    )
    _call(
        daemon,
        "POST",
        "/api/alert-actions",
        {
            "name": "hook",
            "connectorType": "webhook",
            "triggerTypes": ["alert-created"],
            "params": {"webhookUrl": url},
        },
        201,
    )
    return source["integrationKey"]


def _raise(daemon: Daemon, key: str, n: int) -> int:
    body = {"integrationKey": key, "eventType": "ALERT", "summary": f"a{n}", "alertKey": f"k{n}"}
    status, answer = http("POST", daemon.url + "/api/events", body=body)
    assert status == 202, answer
    return answer["alertId"]


def _pending(daemon: Daemon) -> int:
    return len(_call(daemon, "GET", "/api/deliveries?status=PENDING&max-results=100"))


async def test_kill_9_mid_delivery_sends_the_pending_after_restart(
    tmp_path: Path, dsn: str
) -> None:
    receiver = await Receiver(delay_s=3.0).start()  # slow: deliveries are in flight
    daemon = Daemon(tmp_path, **_env(dsn)).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        key = await asyncio.to_thread(_setup, daemon, receiver.url + "/hook")
        alerts = [await asyncio.to_thread(_raise, daemon, key, n) for n in range(ALERTS)]
        await asyncio.sleep(1.0)  # the first requests are now waiting on the receiver
        daemon.kill()
        receiver.delay_s = 0.0
        assert len(receiver.requests) == 0  # none answered before the kill
        daemon = Daemon(tmp_path, **_env(dsn)).start()
        await asyncio.to_thread(daemon.wait_ready)
        await receiver.wait_for(ALERTS, timeout=30)
        await asyncio.to_thread(
            daemon.wait_until, lambda: _pending(daemon) == 0, 30, "no pending deliveries"
        )
        assert await asyncio.to_thread(daemon.terminate) == 0
    finally:
        daemon.close()
        await receiver.stop()
    received = {r.json["id"] for r in receiver.requests}
    assert received == {str(a) for a in alerts}
    by_delivery: dict[str, set[str]] = {}
    for request in receiver.requests:
        by_delivery.setdefault(request.headers["X-Ilertd-Delivery"], set()).add(request.json["id"])
    assert len(by_delivery) == ALERTS and all(len(v) == 1 for v in by_delivery.values())
