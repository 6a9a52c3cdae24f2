"""Escalations driven by the engine, with real short timeouts (seconds)."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Api
from .test_alerts_api import new_user
from .test_events_api import make_source, send


async def make_policy(api: Api, *rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    status, policy = await api.call(
        "POST",
        "/api/escalation-policies",
        json={"name": f"p{len(rules)}", "escalationRules": list(rules), **fields},
    )
    assert status == 201, policy
    return policy


def rule(timeout: str, *users: int, schedules: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "escalationTimeout": timeout,
        "users": [{"id": u} for u in users],
        "schedules": [{"id": s} for s in schedules],
    }


async def entries(api: Api, alert_id: int) -> list[dict]:
    status, found = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
    return found if status == 200 else []  # 404 until the projection has the alert


async def escalations(api: Api, alert_id: int) -> list[int]:
    return [
        e["vars"]["level"]
        for e in await entries(api, alert_id)
        if e["logEntryType"] == "AlertEscalatedLogEntry"
    ]


async def wait_for_levels(api: Api, alert_id: int, levels: list[int], timeout: float) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while await escalations(api, alert_id) != levels:
        assert loop.time() - started < timeout, await escalations(api, alert_id)
        await asyncio.sleep(0.05)
    return loop.time() - started


async def raise_alert(api: Api, source: dict, key: str, **fields: Any) -> int:
    status, answer = await send(
        api,
        {
            "integrationKey": source["integrationKey"],
            "eventType": "ALERT",
            "summary": key,
            "alertKey": key,
            **fields,
        },
    )
    assert status == 202, answer
    return answer["alertId"]


async def test_unaccepted_alert_escalates_on_time(api: Api) -> None:
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    policy = await make_policy(api, rule("PT2S", ann), rule("PT2S", bob))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    alert_id = await raise_alert(api, source, "disk")
    await wait_for_levels(api, alert_id, [0], timeout=2)
    _, alert = await api.call("GET", f"/api/alerts/{alert_id}")
    assert [r["user"]["id"] for r in alert["responders"]] == [ann]
    assert alert["nextEscalation"] and alert["nextEscalationRuleIndex"] == 1
    waited = await wait_for_levels(api, alert_id, [0, 1], timeout=5)
    assert 1.0 <= waited <= 3.2  # due 2 s after level 0, fired within a second
    _, alert = await api.call("GET", f"/api/alerts/{alert_id}")
    assert {r["user"]["id"] for r in alert["responders"]} == {ann, bob}
    assert alert["nextEscalation"] is None  # the last level of a one-round policy
    await asyncio.sleep(1)
    assert await escalations(api, alert_id) == [0, 1]  # each step exactly once


async def test_accepted_in_time_never_escalates(api: Api) -> None:
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    policy = await make_policy(api, rule("PT1S", ann), rule("PT1S", bob))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    alert_id = await raise_alert(api, source, "cpu")
    await wait_for_levels(api, alert_id, [0], timeout=2)
    status, _ = await api.call("PUT", f"/api/alerts/{alert_id}/accept")
    assert status == 200
    await asyncio.sleep(2.0)
    assert await escalations(api, alert_id) == [0]
    assert (
        await api.runtime.store.pool.fetchval("SELECT count(*) FROM timers WHERE kind = 'escalate'")
        == 0
    )


async def test_nobody_on_call_passes_the_level_and_ends_on_the_timeline(api: Api) -> None:
    ann = await new_user(api, "ann")
    status, empty = await api.call(
        "POST",
        "/api/schedules",
        json={
            "name": "later",
            "timezone": "UTC",
            "type": "RECURRING",
            "scheduleLayers": [
                {
                    "name": "l",
                    "startsOn": "2099-01-01T00:00:00Z",
                    "users": [{"id": ann}],
                    "rotation": "P7D",
                }
            ],
        },
    )
    assert status == 201, empty
    policy = await make_policy(api, rule("PT1S", schedules=(empty["id"],)), rule("PT1S", ann))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    alert_id = await raise_alert(api, source, "net")
    await wait_for_levels(api, alert_id, [1], timeout=3)
    escalated = next(
        e for e in await entries(api, alert_id) if e["logEntryType"] == "AlertEscalatedLogEntry"
    )
    assert "nobody on call in level 0" in escalated["text"]

    lonely = await make_policy(api, rule("PT1S", schedules=(empty["id"],)))
    source = await make_source(api, name="lonely", escalationPolicy={"id": lonely["id"]})
    alert_id = await raise_alert(api, source, "void")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while not any(
        e["logEntryType"] == "AlertEscalationEndedLogEntry" for e in await entries(api, alert_id)
    ):
        assert loop.time() < deadline
        await asyncio.sleep(0.05)


async def test_low_priority_stays_on_level_zero_and_by_hand_goes_on(api: Api) -> None:
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    policy = await make_policy(api, rule("PT1S", ann), rule("PT1S", bob))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    alert_id = await raise_alert(api, source, "low", priority="LOW")
    await wait_for_levels(api, alert_id, [0], timeout=2)
    await asyncio.sleep(1.5)
    assert await escalations(api, alert_id) == [0]
    status, alert = await api.call("PUT", f"/api/alerts/{alert_id}/escalate")
    assert status == 200 and alert["escalationLevel"] == 1
    status, problem = await api.call("PUT", f"/api/alerts/{alert_id}/escalate")
    assert status == 409 and "cannot escalate" in problem["message"]


async def test_rerouting_to_a_policy_restarts_at_its_level_zero(api: Api) -> None:
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    first = await make_policy(api, rule("PT30S", ann), rule("PT30S", ann))
    second = await make_policy(api, rule("PT30S", bob))
    source = await make_source(api, escalationPolicy={"id": first["id"]})
    alert_id = await raise_alert(api, source, "route")
    await wait_for_levels(api, alert_id, [0], timeout=2)
    await api.call("PUT", f"/api/alerts/{alert_id}/escalate")
    assert await escalations(api, alert_id) == [0, 1]
    status, _ = await api.call("PUT", f"/api/alerts/{alert_id}/assign?policy={second['id']}")
    assert status == 200
    await wait_for_levels(api, alert_id, [0, 1, 0], timeout=2)
    _, alert = await api.call("GET", f"/api/alerts/{alert_id}")
    assert [r["user"]["id"] for r in alert["responders"]] == [bob]
    assert alert["escalationPolicy"]["id"] == second["id"]
    status, problem = await api.call("PUT", f"/api/alerts/{alert_id}/assign?policy=999999")
    assert status == 400 and problem["field"] == "policy"


async def test_invariant_check_names_overdue_and_stepless_alerts(api: Api) -> None:
    from datetime import timedelta

    from ilertd.engine.invariants import InvariantCheck

    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    policy = await make_policy(api, rule("PT60S", ann), rule("PT60S", bob))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    alert_id = await raise_alert(api, source, "watched")
    await wait_for_levels(api, alert_id, [0], timeout=2)
    services = api.services

    class Later:
        def now(self):
            return services.clock.now() + timedelta(minutes=2)

    assert await InvariantCheck(api.runtime.store.pool, services.clock).check_once() == []
    late = InvariantCheck(api.runtime.store.pool, Later())
    assert await late.check_once() == [(alert_id, "overdue")]
    await api.runtime.store.pool.execute(
        "UPDATE alerts SET next_escalation_at = NULL WHERE id = $1", alert_id
    )
    assert await late.check_once() == [(alert_id, "no next step")]


async def test_routing_key_picks_the_policy(api: Api) -> None:
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    default = await make_policy(api, rule("PT60S", ann))
    routed = await make_policy(api, rule("PT60S", bob), routingKey="db-team")
    source = await make_source(api, escalationPolicy={"id": default["id"]})
    routed_alert = await raise_alert(api, source, "routed", routingKey="db-team")
    plain_alert = await raise_alert(api, source, "plain", routingKey="nobody-has-this")
    await wait_for_levels(api, routed_alert, [0], timeout=2)
    await wait_for_levels(api, plain_alert, [0], timeout=2)
    _, alert = await api.call("GET", f"/api/alerts/{routed_alert}")
    assert alert["escalationPolicy"]["id"] == routed["id"]
    assert [r["user"]["id"] for r in alert["responders"]] == [bob]
    _, alert = await api.call("GET", f"/api/alerts/{plain_alert}")
    assert alert["escalationPolicy"]["id"] == default["id"]
