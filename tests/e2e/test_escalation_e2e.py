"""Escalations end to end: real ``ilertd serve`` processes, real short timeouts (seconds).

Each level of the policy waits ``PT3S``; level 0 is due the moment the alert is created.
The times asserted on are the log entries' own timestamps (the daemon's clock, same host).
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .daemon import Daemon, http

ADMIN = "ilk_e2e_escalation_admin_key_0123456789"
TIMEOUT_S = 3.0


def _env(dsn: str) -> dict[str, str]:
    return {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
        "ILERTD_LOG_LEVEL": "warning",
        "ILERTD_ENGINE_LEADER_RETRY_S": "0.5",
    }


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _call(daemon: Daemon, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    status, answer = http(method, daemon.url + path, key=ADMIN, body=body)
    assert status == expect, (method, path, status, answer)
    return answer


def _setup_policy(daemon: Daemon) -> dict:
    """Two users, a two-level policy (PT3S each), an API source on it."""
    users = [
        _call(
            daemon,
            "POST",
            "/api/users",
            {
                "email": f"{name}@example.test",
                "firstName": name,
                "lastName": "T",
                "role": "RESPONDER",
            },
            201,
        )["id"]
        for name in ("ann", "bob")
    ]
    policy = _call(
        daemon,
        "POST",
        "/api/escalation-policies",
        {
            "name": "two levels",
            "escalationRules": [
                {"escalationTimeout": "PT3S", "users": [{"id": u}], "schedules": []} for u in users
            ],
        },
        201,
    )
    source = _call(
        daemon,
        "POST",
        "/api/alert-sources",
        {"name": "e2e", "integrationType": "API", "escalationPolicy": {"id": policy["id"]}},
        201,
    )
    return source


def _raise(daemon: Daemon, source: dict, key: str) -> int:
    status, answer = http(
        "POST",
        daemon.url + "/api/events",
        body={
            "integrationKey": source["integrationKey"],
            "eventType": "ALERT",
            "summary": key,
            "alertKey": key,
        },
    )
    assert status == 202, answer
    return answer["alertId"]


def _escalations(daemon: Daemon, alert_id: int) -> list[tuple[int, float]]:
    """(level, timestamp) of each AlertEscalatedLogEntry, in log order."""
    status, found = http("GET", f"{daemon.url}/api/alerts/{alert_id}/log-entries", key=ADMIN)
    if status == 404:
        return []  # the projection does not have the alert yet
    assert status == 200, found
    return [
        (e["vars"]["level"], _ts(e["timestamp"]))
        for e in found
        if e["logEntryType"] == "AlertEscalatedLogEntry"
    ]


def _levels(daemon: Daemon, alert_id: int) -> list[int]:
    return [level for level, _ in _escalations(daemon, alert_id)]


def _wait_levels(daemon: Daemon, alert_ids: list[int], levels: list[int], timeout: float) -> None:
    """Until every alert shows at least ``levels``; fails at once on anything else."""

    def reached() -> bool:
        done = True
        for alert_id in alert_ids:
            seen = _levels(daemon, alert_id)
            assert seen == levels[: len(seen)], (alert_id, seen)  # no duplicate, no skip
            done = done and seen == levels
        return done

    try:
        daemon.wait_until(reached, timeout, f"escalation levels {levels} on {alert_ids}")
    except AssertionError as exc:
        seen = {alert_id: _levels(daemon, alert_id) for alert_id in alert_ids}
        raise AssertionError(f"levels seen per alert: {seen}\n{exc}") from None


def _is_leader(daemon: Daemon) -> bool:
    status, text = http("GET", daemon.url + "/metrics")
    assert status == 200
    match = re.search(r"^ilertd_engine_leader (\S+)$", text, re.MULTILINE)
    assert match, text[:2000]
    return float(match.group(1)) == 1.0


async def test_two_level_policy_escalates_on_time(tmp_path: Path, dsn: str) -> None:
    daemon = Daemon(tmp_path, **_env(dsn)).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        source = await asyncio.to_thread(_setup_policy, daemon)
        raised_at = time.time()
        alert_id = await asyncio.to_thread(_raise, daemon, source, "disk")
        await asyncio.to_thread(_wait_levels, daemon, [alert_id], [0], 2)
        ((_, level0_at),) = await asyncio.to_thread(_escalations, daemon, alert_id)
        assert level0_at - raised_at < 1.5  # at once
        await asyncio.to_thread(_wait_levels, daemon, [alert_id], [0, 1], TIMEOUT_S + 3)
        (_, at0), (_, at1) = await asyncio.to_thread(_escalations, daemon, alert_id)
        assert TIMEOUT_S - 1 <= at1 - at0 <= TIMEOUT_S + 1, at1 - at0
        await asyncio.sleep(1.5)
        assert await asyncio.to_thread(_levels, daemon, alert_id) == [0, 1]  # once each
        assert await asyncio.to_thread(daemon.terminate) == 0
    finally:
        daemon.close()


async def test_accepted_in_time_never_escalates(tmp_path: Path, dsn: str) -> None:
    daemon = Daemon(tmp_path, **_env(dsn)).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        source = await asyncio.to_thread(_setup_policy, daemon)
        alert_id = await asyncio.to_thread(_raise, daemon, source, "accepted")
        await asyncio.to_thread(_wait_levels, daemon, [alert_id], [0], 2)
        await asyncio.to_thread(_call, daemon, "PUT", f"/api/alerts/{alert_id}/accept")
        await asyncio.sleep(TIMEOUT_S + 1.5)  # past the moment level 1 would have been due
        assert await asyncio.to_thread(_levels, daemon, alert_id) == [0]
        assert await asyncio.to_thread(daemon.terminate) == 0
    finally:
        daemon.close()


@pytest.mark.parametrize("down_s", [0.0, TIMEOUT_S + 1.0], ids=["due-after-restart", "overdue"])
async def test_kill_9_while_waiting_escalates_exactly_once(
    tmp_path: Path, dsn: str, down_s: float
) -> None:
    env = _env(dsn)
    daemon = Daemon(tmp_path, **env).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        source = await asyncio.to_thread(_setup_policy, daemon)
        alert_id = await asyncio.to_thread(_raise, daemon, source, "crash")
        await asyncio.to_thread(_wait_levels, daemon, [alert_id], [0], 2)
        ((_, level0_at),) = await asyncio.to_thread(_escalations, daemon, alert_id)
        due = level0_at + TIMEOUT_S
        daemon.kill()  # SIGKILL while level 1 is pending
        assert daemon.proc is not None and daemon.proc.returncode == -9
        killed_at = time.time()
        assert killed_at < due, "killed too late: level 1 may already have fired"
        await asyncio.sleep(down_s)

        daemon = Daemon(tmp_path, **env).start()
        await asyncio.to_thread(daemon.wait_ready)
        ready_at = time.time()
        # the first daemon is gone: nothing can have escalated in between
        assert [lv for lv, _ in await asyncio.to_thread(_escalations, daemon, alert_id)] in (
            [0],
            [0, 1],
        )
        await asyncio.to_thread(_wait_levels, daemon, [alert_id], [0, 1], TIMEOUT_S + 5)
        (_, at0), (_, at1) = await asyncio.to_thread(_escalations, daemon, alert_id)
        assert at0 == level0_at
        assert at1 >= due - 0.05, "level 1 fired early"
        if ready_at > due:
            assert at1 - ready_at <= 5, f"overdue level 1 took {at1 - ready_at:.2f}s after ready"
        else:
            assert at1 - due <= 1, f"level 1 fired {at1 - due:.2f}s late"
        if down_s:
            assert ready_at > due  # this case is meant to exercise the overdue path
        await asyncio.sleep(2)
        assert await asyncio.to_thread(_levels, daemon, alert_id) == [0, 1]  # no duplicate
        assert await asyncio.to_thread(daemon.terminate) == 0
    finally:
        daemon.close()


async def _two_instances(first: Daemon, second: Daemon) -> tuple[Daemon, Daemon]:
    """Both ready; (leader, standby), as ``ilertd_engine_leader`` on /metrics says."""
    await asyncio.gather(asyncio.to_thread(first.wait_ready), asyncio.to_thread(second.wait_ready))

    def one_leads() -> bool:
        return _is_leader(first) or _is_leader(second)

    await asyncio.to_thread(first.wait_until, one_leads, 5, "an instance to lead")
    leaders = [d for d in (first, second) if await asyncio.to_thread(_is_leader, d)]
    assert len(leaders) == 1, "exactly one instance runs the engine"
    return leaders[0], (second if leaders[0] is first else first)


async def test_two_instances_alerts_through_either_escalate_once(tmp_path: Path, dsn: str) -> None:
    """Behind a load balancer an alert may be raised through the standby as well."""
    env = _env(dsn)
    first = Daemon(tmp_path / "a", **env).start()
    second = Daemon(tmp_path / "b", **env).start()
    try:
        leader, standby = await _two_instances(first, second)
        source = await asyncio.to_thread(_setup_policy, leader)
        await asyncio.sleep(2.5)  # past the standby's 2 s source-lookup cache
        raised_at = time.time()
        alerts = [
            await asyncio.to_thread(_raise, via, source, f"key-{n}-{name}")
            for n in range(3)
            for via, name in ((leader, "leader"), (standby, "standby"))
        ]
        await asyncio.to_thread(_wait_levels, leader, alerts, [0, 1], TIMEOUT_S + 4)
        for alert_id in alerts:
            for daemon in (leader, standby):  # one timeline, the same seen from both
                seen = await asyncio.to_thread(_escalations, daemon, alert_id)
                assert [lv for lv, _ in seen] == [0, 1], (alert_id, seen)
                assert seen[0][1] - raised_at < 2, seen  # level 0 at once
                assert TIMEOUT_S - 1 <= seen[1][1] - seen[0][1] <= TIMEOUT_S + 1, seen
        await asyncio.sleep(1.5)
        for alert_id in alerts:
            assert await asyncio.to_thread(_levels, standby, alert_id) == [0, 1], alert_id
        assert await asyncio.to_thread(standby.terminate) == 0
        assert await asyncio.to_thread(leader.terminate) == 0
    finally:
        first.close()
        second.close()


async def test_leader_killed_standby_takes_over_escalations(tmp_path: Path, dsn: str) -> None:
    env = _env(dsn)
    first = Daemon(tmp_path / "a", **env).start()
    second = Daemon(tmp_path / "b", **env).start()
    try:
        leader, standby = await _two_instances(first, second)
        source = await asyncio.to_thread(_setup_policy, leader)
        # raised through the leader: alerts raised through the standby are covered above
        before = [await asyncio.to_thread(_raise, leader, source, f"before-{n}") for n in range(5)]
        await asyncio.to_thread(_wait_levels, leader, before, [0, 1], TIMEOUT_S + 4)
        for alert_id in before:
            seen = await asyncio.to_thread(_escalations, standby, alert_id)
            assert [lv for lv, _ in seen] == [0, 1], (alert_id, seen)
            assert TIMEOUT_S - 1 <= seen[1][1] - seen[0][1] <= TIMEOUT_S + 1, seen

        leader.kill()  # SIGKILL: its session, and the advisory lock with it, goes away
        killed_at = time.time()
        await asyncio.to_thread(
            standby.wait_until, lambda: _is_leader(standby), 5, "the standby to lead"
        )
        took_over_s = time.time() - killed_at
        raised_at = time.time()
        after = [await asyncio.to_thread(_raise, standby, source, f"after-{n}") for n in range(5)]
        await asyncio.to_thread(_wait_levels, standby, after, [0, 1], TIMEOUT_S + 4)
        for alert_id in after:
            seen = await asyncio.to_thread(_escalations, standby, alert_id)
            assert seen[0][1] - raised_at < 2, (seen, took_over_s)  # level 0 at once
            assert TIMEOUT_S - 1 <= seen[1][1] - seen[0][1] <= TIMEOUT_S + 1, seen
        await asyncio.sleep(1.5)
        for alert_id in before + after:
            assert await asyncio.to_thread(_levels, standby, alert_id) == [0, 1], alert_id
        assert await asyncio.to_thread(standby.terminate) == 0
    finally:
        first.close()
        second.close()
