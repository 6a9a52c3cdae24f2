"""Auto-resolve: timers from events, fired by the engine, re-checked at fire time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ilertd.alerts.creation import NewAlert
from ilertd.alerts.service import AlertCommands

from .conftest import Api
from .test_events_api import make_source, send


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


async def wait_for_status(api: Api, alert_id: int, status: str, timeout: float) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, alert = await api.call("GET", f"/api/alerts/{alert_id}")
        if alert["status"] == status or asyncio.get_running_loop().time() > deadline:
            return alert
        await asyncio.sleep(0.1)


async def test_alert_resolves_itself_after_the_timeout_and_events_postpone_it(api: Api) -> None:
    source = await make_source(api, autoResolutionTimeout="PT2S")
    body = {
        "integrationKey": source["integrationKey"],
        "eventType": "ALERT",
        "summary": "x",
        "alertKey": "flappy",
    }
    started = asyncio.get_running_loop().time()
    _, created = await send(api, body)
    await asyncio.sleep(1.2)
    _, again = await send(api, body)  # moves the deadline to ~3.2 s after start
    assert again["responseCode"] == "ALERT_ALREADY_EXISTS"
    await asyncio.sleep(1.2)
    _, alert = await api.call("GET", f"/api/alerts/{created['alertId']}")
    assert alert["status"] == "PENDING", "a new event postponed the auto-resolve"
    alert = await wait_for_status(api, created["alertId"], "RESOLVED", timeout=5)
    assert alert["status"] == "RESOLVED"
    elapsed = asyncio.get_running_loop().time() - started
    assert 3.0 <= elapsed <= 5.5
    _, entries = await api.call("GET", f"/api/alerts/{created['alertId']}/log-entries")
    assert entries[-1]["logEntryType"] == "AlertResolvedLogEntry"
    assert "auto-resolve" in entries[-1]["text"]
    assert await api.runtime.store.pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_timer_firing_early_or_after_resolve_does_nothing(api: Api) -> None:
    """The command re-checks the alert: a fake clock before the deadline, then after it."""
    clock = FakeClock()
    commands = AlertCommands(api.runtime.repository, api.runtime.store.pool, clock)
    source = await api.runtime.store.pool.fetchrow("SELECT * FROM alert_sources LIMIT 1")
    if source is None:
        await make_source(api, autoResolutionTimeout="PT1H")
        source = await api.runtime.store.pool.fetchrow("SELECT * FROM alert_sources LIMIT 1")
    actor = {"type": "user", "id": 1}
    alert, _ = await commands.create(source, NewAlert(summary="s"), actor, {})
    assert alert.auto_resolve_due_at() == alert.created_on + timedelta(hours=1)
    clock.at = alert.created_on + timedelta(minutes=59)
    assert await commands.auto_resolve(alert.id) is False
    clock.at = alert.created_on + timedelta(hours=1, seconds=1)
    assert await commands.auto_resolve(alert.id) is True
    assert await commands.auto_resolve(alert.id) is False  # resolved stays resolved
    reloaded = await api.runtime.repository.load(alert.id)
    assert reloaded.status.value == "RESOLVED" and reloaded.version == 2
