"""Heartbeat monitors over HTTP: CRUD and its 400s and 409, every ping spelling, 404, 429,
and the overdue alert the engine's timer opens (once, across a restart) and the next ping
resolves. Real short intervals: the daemon's clock runs a fixed offset behind the real
one while pinging, so a 25 s interval (the API's minimum) falls due a second or two later
in real time, when the test sets the offset back to zero."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import Api, running_api

INTERVAL = 25


class ShiftedClock:
    """The real time plus ``offset``: the daemon's timers still fire in real time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def make_monitor(api: Api, **fields: object) -> dict:
    body = {"name": "backup job", "intervalSec": INTERVAL, **fields}
    status, monitor = await api.call("POST", "/api/heartbeat-monitors", json=body)
    assert status == 201, monitor
    return monitor


async def alerts_of(api: Api, source_id: int) -> list[dict]:
    status, alerts = await api.call("GET", f"/api/alerts?sources={source_id}")
    assert status == 200, alerts
    return alerts


async def wait_alerts(api: Api, source_id: int, status: str, timeout: float = 8) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [a for a in await alerts_of(api, source_id) if a["status"] == status]
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_crud_includes_and_a_new_key_for_a_new_interval(api: Api) -> None:
    monitor = await make_monitor(api, alertSummary="backups stopped")
    assert monitor["state"] == "UNKNOWN"
    assert monitor["integrationUrl"] == api.url(f"/api/heartbeats/{monitor['integrationKey']}")
    source_id = monitor["alertSource"]["id"]
    status, source = await api.call("GET", f"/api/alert-sources/{source_id}")
    assert status == 200 and source["integrationType"] == "HEARTBEAT2"
    path = f"/api/heartbeat-monitors/{monitor['id']}"
    status, plain = await api.call("GET", path)
    assert status == 200 and "integrationKey" not in plain and "integrationUrl" not in plain
    status, full = await api.call("GET", path + "?include=integrationKey,alertSource")
    assert full["integrationKey"] == monitor["integrationKey"]
    assert full["alertSource"]["name"] == "backup job" and "integrationUrl" not in full
    status, named = await api.call("GET", "/api/heartbeat-monitors/name/backup job")
    assert status == 200 and named["id"] == monitor["id"]
    status, listed = await api.call("GET", "/api/heartbeat-monitors?include=integrationUrl")
    assert [m["id"] for m in listed] == [monitor["id"]] and "integrationUrl" in listed[0]

    same = {"name": "backup job", "intervalSec": INTERVAL, "alertSummary": "backups stopped"}
    status, kept = await api.call("PUT", path + "?include=integrationKey", json=same)
    assert status == 200 and kept["integrationKey"] == monitor["integrationKey"]
    status, changed = await api.call(
        "PUT", path + "?include=integrationKey", json={**same, "intervalSec": 60}
    )
    assert status == 200 and changed["intervalSec"] == 60
    assert changed["integrationKey"] != monitor["integrationKey"]
    status, _ = await api.call("HEAD", f"/api/heartbeats/{monitor['integrationKey']}", key=False)
    assert status == 404, "the old key stopped working"

    status, taken = await api.call(
        "POST", "/api/heartbeat-monitors", json={"name": "backup job", "intervalSec": 30}
    )
    assert status == 409 and taken["id"] == monitor["id"]
    other = await make_monitor(api, name="other job")
    status, problem = await api.call(
        "PUT", f"/api/heartbeat-monitors/{other['id']}", json={**same, "intervalSec": 30}
    )
    assert status == 409 and "name" in problem["message"]
    assert (await api.call("DELETE", path))[0] == 204
    assert (await api.call("GET", path))[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "intervalSec": 24}, "intervalSec"),
        ({"name": "x", "intervalSec": 2678401}, "intervalSec"),
        ({"name": "x"}, "intervalSec"),
        ({"name": " ", "intervalSec": 30}, "name"),
        ({"name": "x", "intervalSec": 30, "alertSource": {"id": 999999}}, "alertSource.id"),
        ({"name": "x", "intervalSec": 30, "teams": [{"id": 999999}]}, "teams[0].id"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(api: Api, body: dict, field: str) -> None:
    status, problem = await api.call("POST", "/api/heartbeat-monitors", json=body)
    assert status == 400, problem
    assert field in problem["message"]
    status, listed = await api.call("GET", "/api/heartbeat-monitors")
    assert listed == []


async def test_every_ping_spelling_answers_202_and_unknown_keys_404(dsn: str) -> None:
    async with running_api(dsn, ILERTD_HEARTBEATS_RATE_LIMIT_PER_MINUTE="0") as api:
        monitor = await make_monitor(api)
        key = monitor["integrationKey"]
        for prefix in ("/api", "/api/v1"):
            for method in ("HEAD", "GET", "POST"):
                status, body = await api.call(
                    method,
                    f"{prefix}/heartbeats/{key}",
                    key=False,
                    headers={"accept": "text/plain"},
                )
                assert (status, body) == (202, None), (method, prefix)
        _, read = await api.call("GET", f"/api/heartbeat-monitors/{monitor['id']}")
        assert read["state"] == "HEALTHY"
        # one event for the first ping; the others changed nothing the events record
        pinged = await api.runtime.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'heartbeat-monitor-pinged'"
        )
        assert pinged == 1
        for method in ("HEAD", "GET", "POST"):
            status, _ = await api.call(method, "/api/heartbeats/nosuchkey", key=False)
            assert status == 404


async def test_over_five_pings_a_minute_is_a_429(api: Api) -> None:
    key = (await make_monitor(api))["integrationKey"]
    answers = [(await api.call("GET", f"/api/heartbeats/{key}", key=False))[0] for _ in range(6)]
    assert answers == [202] * 5 + [429]


async def test_overdue_opens_one_alert_and_the_next_ping_resolves_it(dsn: str) -> None:
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as api:
        monitor = await make_monitor(api)
        key, source_id = monitor["integrationKey"], monitor["alertSource"]["id"]
        clock.offset = -timedelta(seconds=INTERVAL - 1.5)  # due 1.5 s from now, real time
        assert (await api.call("HEAD", f"/api/heartbeats/{key}", key=False))[0] == 202
        clock.offset = timedelta(0)
        assert await alerts_of(api, source_id) == []
        opened = await wait_alerts(api, source_id, "PENDING")
        assert len(opened) == 1 and "backup job" in opened[0]["summary"]
        assert opened[0]["alertKey"] == f"heartbeat-{monitor['id']}"
        _, read = await api.call("GET", f"/api/heartbeat-monitors/{monitor['id']}")
        assert read["state"] == "OVERDUE"
        await asyncio.sleep(1)
        assert len(await alerts_of(api, source_id)) == 1, "once per overdue period"
        assert (await api.call("GET", f"/api/v1/heartbeats/{key}", key=False))[0] == 202
        alerts = await alerts_of(api, source_id)
        assert [a["status"] for a in alerts] == ["RESOLVED"], "resolved before the 202"
        _, read = await api.call("GET", f"/api/heartbeat-monitors/{monitor['id']}")
        assert read["state"] == "HEALTHY"


async def test_a_newer_ping_moves_the_deadline_instead_of_alerting(dsn: str) -> None:
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as api:
        monitor = await make_monitor(api)
        key, source_id = monitor["integrationKey"], monitor["alertSource"]["id"]
        clock.offset = -timedelta(seconds=INTERVAL - 1)  # the recorded ping: due in 1 s
        await api.call("GET", f"/api/heartbeats/{key}", key=False)
        clock.offset = -timedelta(seconds=INTERVAL - 3)  # a later one, written only
        await api.call("GET", f"/api/heartbeats/{key}", key=False)
        clock.offset = timedelta(0)
        await asyncio.sleep(2)
        assert await alerts_of(api, source_id) == [], "the timer found the newer ping"
        pinged = await api.runtime.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'heartbeat-monitor-pinged'"
        )
        assert pinged == 2, "first ping, then the checkpoint of the newer one"
        assert len(await wait_alerts(api, source_id, "PENDING")) == 1


async def test_overdue_across_a_restart_opens_the_alert_exactly_once(dsn: str) -> None:
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as api:
        monitor = await make_monitor(api)
        key, source_id = monitor["integrationKey"], monitor["alertSource"]["id"]
        clock.offset = -timedelta(seconds=INTERVAL - 1)
        assert (await api.call("POST", f"/api/heartbeats/{key}", key=False))[0] == 202
    clock.offset = timedelta(0)
    await asyncio.sleep(1.5)  # due while nothing ran
    for _ in range(2):  # the second start finds the period recorded: no second alert
        async with running_api(dsn, clock=clock) as api:
            opened = await wait_alerts(api, source_id, "PENDING")
            await asyncio.sleep(0.5)
            assert len(await alerts_of(api, source_id)) == 1
            assert len(opened) == 1
    overdue = await _count(dsn, "heartbeat-monitor-went-overdue")
    assert overdue == 1


async def _count(dsn: str, event_type: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM events WHERE type = $1", event_type)
    finally:
        await conn.close()


async def test_a_legacy_heartbeat_source_key_pings_and_goes_overdue(dsn: str) -> None:
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as api:
        status, source = await api.call(
            "POST", "/api/alert-sources", json={"name": "old cron", "integrationType": "HEARTBEAT"}
        )
        assert status == 201
        clock.offset = -timedelta(seconds=300 - 1.5)  # LEGACY_INTERVAL_S
        ping = f"/api/heartbeats/{source['integrationKey']}"
        assert (await api.call("HEAD", ping, key=False))[0] == 202
        clock.offset = timedelta(0)
        assert len(await wait_alerts(api, source["id"], "PENDING")) == 1
        assert (await api.call("HEAD", ping, key=False))[0] == 202
        assert [a["status"] for a in await alerts_of(api, source["id"])] == ["RESOLVED"]
        _, listed = await api.call("GET", "/api/heartbeat-monitors")
        assert listed == [], "the implicit monitor belongs to the source, not the list"
        status, api_source = await api.call(
            "POST", "/api/alert-sources", json={"name": "not a heartbeat"}
        )
        ping = f"/api/heartbeats/{api_source['integrationKey']}"
        assert (await api.call("GET", ping, key=False))[0] == 404


async def test_two_instances_checking_at_once_open_one_alert(dsn: str) -> None:
    """The leader's timer and both instances' checks race on one overdue period: the
    idempotency key and the version check leave one alert and one WentOverdue."""
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as a, running_api(dsn, clock=clock) as b:
        monitor = await make_monitor(a)
        source_id = monitor["alertSource"]["id"]
        clock.offset = -timedelta(seconds=INTERVAL + 5)  # overdue the moment it is recorded
        ping = f"/api/heartbeats/{monitor['integrationKey']}"
        assert (await b.call("HEAD", ping, key=False))[0] == 202
        clock.offset = timedelta(0)
        stream = await a.runtime.store.pool.fetchval(
            "SELECT stream_id FROM heartbeat_monitors WHERE id = $1", monitor["id"]
        )
        await asyncio.gather(
            a.runtime.heartbeats.check_due(stream), b.runtime.heartbeats.check_due(stream)
        )
        await asyncio.sleep(1)
        await a.settle()
        assert len(await alerts_of(a, source_id)) == 1
        assert await _count(dsn, "heartbeat-monitor-went-overdue") == 1


async def test_a_check_repeated_after_a_crash_adds_nothing_to_the_alert(dsn: str) -> None:
    """A leader that opened the alert and died before recording WentOverdue: the next
    check opens it again under the same idempotency key, which replays instead of adding
    an event to the alert, then records the overdue period."""
    clock = ShiftedClock()
    async with running_api(dsn, clock=clock) as api:
        monitor = await make_monitor(api)
        ping = f"/api/heartbeats/{monitor['integrationKey']}"
        assert (await api.call("HEAD", ping, key=False))[0] == 202  # due in 25 s, real
        clock.offset = timedelta(seconds=INTERVAL + 1)  # and overdue on the daemon's clock
        heartbeats = api.runtime.heartbeats
        stream = await api.runtime.store.pool.fetchval(
            "SELECT stream_id FROM heartbeat_monitors WHERE id = $1", monitor["id"]
        )
        before_crash = await api.runtime.repository.load(stream)
        assert await heartbeats.open_alert(monitor["id"], before_crash)  # the half done
        assert await heartbeats.check_due(stream) is True
        await api.settle()
        assert len(await alerts_of(api, monitor["alertSource"]["id"])) == 1
        assert await _count(dsn, "alert-event-received") == 0, "the replay wrote nothing"
        assert await _count(dsn, "heartbeat-monitor-went-overdue") == 1


async def test_the_source_made_for_a_monitor_pings_that_monitor(api: Api) -> None:
    monitor = await make_monitor(api)
    _, source = await api.call("GET", f"/api/alert-sources/{monitor['alertSource']['id']}")
    assert source["integrationUrl"] == api.url(f"/api/heartbeats/{source['integrationKey']}")
    status, _ = await api.call("GET", f"/api/heartbeats/{source['integrationKey']}", key=False)
    assert status == 202
    _, read = await api.call("GET", f"/api/heartbeat-monitors/{monitor['id']}")
    assert read["state"] == "HEALTHY", "no implicit monitor of its own"
    implicit = await api.runtime.store.pool.fetchval(
        "SELECT count(*) FROM heartbeat_monitors WHERE legacy_source_id IS NOT NULL"
    )
    assert implicit == 0
