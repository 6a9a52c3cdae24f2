"""Alert actions end to end: a real receiver on loopback gets every eventType, signed, in
order, retried, dead-lettered and re-sent; conditions, manual runs and the network guard."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ilertd.outbound.signing import verify

from .conftest import Api, running_api
from .receiver import Receiver
from .test_alerts_api import new_user
from .test_escalations import make_policy, rule
from .test_events_api import make_source, send

FAST = {
    "ILERTD_OUTBOUND_RETRY_BASE_S": "0.2",
    "ILERTD_OUTBOUND_RETRY_MAX_S": "0.5",
    "ILERTD_OUTBOUND_TIMEOUT_S": "1",
    "ILERTD_OUTBOUND_MAX_ATTEMPTS": "4",
    # the receivers are on loopback, which the default policy denies
    "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8,::1",
}


@pytest.fixture
async def fast(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn, **FAST) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


async def make_action(api: Api, **fields: Any) -> dict[str, Any]:
    status, action = await api.call("POST", "/api/alert-actions", json=fields)
    assert status == 201, action
    return action


async def webhook(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    return await make_action(
        api, name="siem", connectorType="webhook", params={"webhookUrl": url}, **fields
    )


async def alert_via_events(api: Api, key: str, alert_key: str, **fields: Any) -> int:
    status, body = await send(
        api,
        {"integrationKey": key, "eventType": "ALERT", "summary": "disk", "alertKey": alert_key}
        | fields,
    )
    assert status == 202, body
    await api.settle()  # the Events API answers on commit, before the read models
    return body["alertId"]


async def deliveries(api: Api, alert_id: int) -> list[dict[str, Any]]:
    status, found = await api.call("GET", f"/api/deliveries?alert-id={alert_id}")
    assert status == 200, found
    return found


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_every_event_type_reaches_the_webhook_signed_and_in_order(
    fast: Api, receiver: Receiver
) -> None:
    api = fast
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    status, nobody = await api.call(
        "POST",
        "/api/schedules",
        json={
            "name": "later",
            "timezone": "UTC",
            "type": "RECURRING",
            "scheduleLayers": [
                {"name": "l", "startsOn": "2099-01-01T00:00:00Z", "users": [{"id": ann}]}
                | {"rotation": "P7D"}
            ],
        },
    )
    assert status == 201, nobody
    # level 1 times out after a second; nobody is on call in level 2: the escalation ends
    policy = await make_policy(
        api, rule("PT1H", ann), rule("PT1S", bob), rule("PT1S", schedules=(nobody["id"],))
    )
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    action = await webhook(api, receiver.url + "/hook", alertSources=[{"id": source["id"]}])
    assert len(action["triggerTypes"]) == 13 and action["signingSecret"]

    alert_id = await alert_via_events(api, source["integrationKey"], "k1", priority="LOW")
    path = f"/api/alerts/{alert_id}"
    steps = [
        ("POST", f"{path}/comments", {"content": "looking"}),
        ("PUT", f"{path}/raise", None),
        ("POST", f"{path}/responders", {"user": {"id": bob}}),
        ("DELETE", f"{path}/responders/{bob}", None),
        ("POST", f"{path}/channels", {"type": "slack", "name": "#ops", "url": "https://c.test/o"}),
    ]
    for method, url, body in steps:
        status, answer = await api.call(method, url, json=body)
        assert status in (200, 201, 204), (url, answer)
    _, alert = await api.call("GET", path)
    channel = alert["channels"][0]["id"]
    for method, url in (("DELETE", f"{path}/channels/{channel}"), ("PUT", f"{path}/escalate")):
        status, answer = await api.call(method, url)
        assert status in (200, 204), (url, answer)
    await receiver.wait_for(9)  # the engine ends the escalation after a second
    more = [
        ("PUT", f"{path}/assign?user={ann}"),
        ("PUT", f"{path}/accept"),
        ("PUT", f"{path}/resolve"),
    ]
    for method, url in more:
        status, answer = await api.call(method, url)
        assert status in (200, 204), (url, answer)

    expected = [
        "alert-created",
        "alert-comment-added",
        "alert-raised",
        "alert-responder-added",
        "alert-responder-removed",
        "alert-channel-attached",
        "alert-channel-detached",
        "alert-auto-escalated",
        "alert-escalation-ended",
        "alert-assigned",
        "alert-acknowledged",
        "alert-resolved",
    ]
    got = await receiver.wait_for(len(expected))
    assert [r.json["eventType"] for r in got] == expected
    secret = action["signingSecret"].encode()
    ids = set()
    for request in got:
        body = request.json
        assert request.path == "/hook" and request.method == "POST"
        assert body["id"] == str(alert_id) and isinstance(body["id"], str)
        assert body["alertSource"] == {"id": source["id"], "name": "prom"}
        assert body["alertKey"] == "k1" and body["summary"] == "disk"
        assert request.headers["X-Ilertd-Event"] == body["eventType"]
        stamp = int(request.headers["X-Ilertd-Timestamp"])
        assert verify(secret, stamp, request.body, request.headers["X-Ilertd-Signature"])
        ids.add(request.headers["X-Ilertd-Delivery"])
    assert len(ids) == len(expected)
    # each body is the alert as of its event
    by_type = {r.json["eventType"]: r.json for r in got}
    assert by_type["alert-created"]["priority"] == "LOW"
    assert by_type["alert-raised"]["priority"] == "HIGH"
    assert by_type["alert-acknowledged"]["status"] == "ACCEPTED"
    assert by_type["alert-resolved"]["status"] == "RESOLVED"
    assert by_type["alert-assigned"]["assignedTo"]["id"] == ann
    assert by_type["alert-responder-added"]["responders"][-1]["user"]["id"] == bob

    await until(lambda: _logged(api, alert_id, "AlertActionSuccessLogEntry", len(expected)))
    listed = await deliveries(api, alert_id)
    assert {d["status"] for d in listed} == {"SUCCEEDED"}


async def _logged(api: Api, alert_id: int, entry_type: str, count: int) -> bool:
    _, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
    return sum(1 for e in entries if e["logEntryType"] == entry_type) >= count


async def test_auto_resolved_and_not_resolved_event_types(fast: Api, receiver: Receiver) -> None:
    api = fast
    resolving = await make_source(api, autoResolutionTimeout="PT1S")
    lingering = await make_source(api)
    await webhook(
        api,
        receiver.url + "/auto",
        alertSources=[{"id": resolving["id"]}],
        triggerTypes=["alert-auto-resolved"],
    )
    await webhook(
        api,
        receiver.url + "/open",
        alertSources=[{"id": lingering["id"]}],
        triggerTypes=["v-alert-not-resolved"],
        notResolvedDelaySec=1,
    )
    resolved = await alert_via_events(api, resolving["integrationKey"], "k2")
    still_open = await alert_via_events(api, lingering["integrationKey"], "k2")
    got = await receiver.wait_for(2, timeout=20)
    by_path = {r.path: r.json for r in got}
    assert by_path["/auto"]["eventType"] == "alert-auto-resolved"
    assert by_path["/auto"]["id"] == str(resolved) and by_path["/auto"]["status"] == "RESOLVED"
    assert by_path["/open"]["eventType"] == "v-alert-not-resolved"
    assert by_path["/open"]["id"] == str(still_open) and by_path["/open"]["status"] == "PENDING"


async def test_a_resolved_alert_skips_the_not_resolved_reminder(
    fast: Api, receiver: Receiver
) -> None:
    api = fast
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-resolved"], notResolvedDelaySec=1)
    alert_id = await alert_via_events(api, source["integrationKey"], "k3")
    assert (await api.call("PUT", f"/api/alerts/{alert_id}/resolve"))[0] == 200
    await receiver.wait_for(1)
    await asyncio.sleep(1.5)
    await until(lambda: all_closed(api, alert_id))
    assert [r.json["eventType"] for r in receiver.requests] == ["alert-resolved"]
    statuses = {d["eventType"]: d["status"] for d in await deliveries(api, alert_id)}
    assert statuses == {"alert-resolved": "SUCCEEDED", "v-alert-not-resolved": "SKIPPED"}


async def all_closed(api: Api, alert_id: int) -> bool:
    return all(d["status"] != "PENDING" for d in await deliveries(api, alert_id))


async def test_failures_are_retried_then_delivered_and_on_the_timeline(
    fast: Api, receiver: Receiver
) -> None:
    api = fast
    receiver.answers = [500, 503]
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-created"])
    alert_id = await alert_via_events(api, source["integrationKey"], "k4")
    got = await receiver.wait_for(1)
    assert len(got) == 1
    await until(lambda: all_closed(api, alert_id))
    (delivery,) = await deliveries(api, alert_id)
    assert delivery["status"] == "SUCCEEDED" and delivery["attempts"] == 3
    _, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
    kinds = [e["logEntryType"] for e in entries if "Action" in e["logEntryType"]]
    assert kinds == ["AlertActionFailLogEntry"] * 2 + ["AlertActionSuccessLogEntry"]
    assert "HTTP 500" in entries[1]["text"]


async def test_a_receiver_that_times_out_gets_the_message_later(
    fast: Api, receiver: Receiver
) -> None:
    api = fast
    receiver.delay_s = 1.5  # beyond the 1 s timeout
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-created"])
    alert_id = await alert_via_events(api, source["integrationKey"], "k5")
    await asyncio.sleep(1.2)
    receiver.delay_s = 0
    await until(lambda: all_closed(api, alert_id))
    (delivery,) = await deliveries(api, alert_id)
    assert delivery["status"] == "SUCCEEDED" and delivery["attempts"] >= 2
    # the timed-out attempt may have reached the receiver too: same delivery id
    assert {r.headers["X-Ilertd-Delivery"] for r in receiver.requests} == {delivery["id"]}


async def test_dead_letters_and_their_retry(fast: Api, receiver: Receiver) -> None:
    api = fast
    receiver.answers = [500] * 4
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-created"])
    alert_id = await alert_via_events(api, source["integrationKey"], "k6")
    await until(lambda: all_closed(api, alert_id))
    (dead,) = await deliveries(api, alert_id)
    assert dead["status"] == "DEAD" and dead["attempts"] == 4 and dead["lastStatusCode"] == 500
    assert receiver.requests == []
    _, dead_list = await api.call("GET", "/api/deliveries?status=DEAD")
    assert [d["id"] for d in dead_list] == [dead["id"]]

    status, retried = await api.call("POST", f"/api/deliveries/{dead['id']}/retry")
    assert status == 202 and retried["status"] == "RETRY_REQUESTED"
    got = await receiver.wait_for(1)
    assert got[0].headers["X-Ilertd-Delivery"] == dead["id"]
    await until(lambda: all_closed(api, alert_id))
    status, again = await api.call("POST", f"/api/deliveries/{dead['id']}/retry")
    assert status == 409, again
    assert (await api.call("POST", "/api/deliveries/1-2/retry"))[0] == 404


async def test_a_permanent_answer_is_dead_lettered_at_once(fast: Api, receiver: Receiver) -> None:
    api = fast
    receiver.answers = [404]
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-created"])
    alert_id = await alert_via_events(api, source["integrationKey"], "k7")
    await until(lambda: all_closed(api, alert_id))
    (dead,) = await deliveries(api, alert_id)
    assert dead["status"] == "DEAD" and dead["attempts"] == 1


async def test_conditions_decide_which_events_go_out(fast: Api, receiver: Receiver) -> None:
    api = fast
    source = await make_source(api)
    await webhook(
        api,
        receiver.url,
        triggerTypes=["alert-created"],
        conditions='priority == "HIGH" and labels.env in ["prod"]',
    )
    key = source["integrationKey"]
    low = await alert_via_events(api, key, "a", priority="LOW", labels={"env": "prod"})
    other = await alert_via_events(api, key, "b", labels={"env": "dev"})
    match = await alert_via_events(api, key, "c", labels={"env": "prod"})
    got = await receiver.wait_for(1)
    for alert_id in (low, other, match):
        await until(lambda alert_id=alert_id: all_closed(api, alert_id))
    assert [r.json["id"] for r in got] == [str(match)]
    assert (await deliveries(api, low))[0]["status"] == "SKIPPED"


async def test_one_alerts_deliveries_keep_event_order_through_failures(
    fast: Api, receiver: Receiver
) -> None:
    api = fast
    receiver.answers = [500]
    source = await make_source(api)
    await webhook(api, receiver.url, triggerTypes=["alert-created", "alert-comment-added"])
    alert_id = await alert_via_events(api, source["integrationKey"], "k8")
    for n in range(5):
        status, _ = await api.call(
            "POST", f"/api/alerts/{alert_id}/comments", json={"content": f"c{n}"}
        )
        assert status == 201
    got = await receiver.wait_for(6)
    assert [r.json["eventType"] for r in got] == ["alert-created"] + ["alert-comment-added"] * 5
    positions = [int(r.headers["X-Ilertd-Delivery"].split("-")[0]) for r in got]
    assert positions == sorted(positions)


async def test_manual_actions_are_listed_and_run(fast: Api, receiver: Receiver) -> None:
    api = fast
    source = await make_source(api)
    action = await webhook(api, receiver.url, triggerMode="MANUAL")
    alert_id = await alert_via_events(api, source["integrationKey"], "k9")
    status, listed = await api.call("GET", f"/api/alerts/{alert_id}/actions")
    assert status == 200 and [a["alertActionId"] for a in listed] == [action["id"]]
    assert listed[0]["history"] == []
    status, run = await api.call(
        "POST", f"/api/alerts/{alert_id}/actions", json={"alertActionId": str(action["id"])}
    )
    assert status == 202, run
    got = await receiver.wait_for(1)
    assert got[0].json["eventType"] == "alert-manual-action"
    assert got[0].headers["X-Ilertd-Delivery"] == run["id"]
    await until(lambda: all_closed(api, alert_id))
    _, listed = await api.call("GET", f"/api/alerts/{alert_id}/actions")
    assert [h["status"] for h in listed[0]["history"]] == ["SUCCEEDED"]
    status, problem = await api.call("POST", f"/api/alerts/{alert_id}/actions", json={})
    assert status == 400 and problem["field"] == "alertActionId"


async def test_body_template_and_custom_headers(fast: Api, receiver: Receiver) -> None:
    api = fast
    source = await make_source(api)
    await make_action(
        api,
        name="templated",
        connectorType="webhook",
        triggerTypes=["alert-created"],
        params={
            "webhookUrl": receiver.url.replace("http://", "http://user:p%40ss@"),
            "bodyTemplate": '{"text": "{{alertSummary}} is {{ alertStatus }}", "id": {{alertId}}}',
            "headers": [{"key": "X-Team", "value": "ops"}],
        },
    )
    alert_id = await alert_via_events(api, source["integrationKey"], "k10", summary='say "hi"')
    (got,) = await receiver.wait_for(1)
    assert got.json == {"text": 'say "hi" is PENDING', "id": alert_id}
    assert got.headers["X-Team"] == "ops"
    assert got.headers["Authorization"] == "Basic dXNlcjpwQHNz"


async def test_a_denied_network_is_never_contacted(dsn: str, receiver: Receiver) -> None:
    env = {**FAST, "ILERTD_OUTBOUND_ALLOW_NETWORKS": ""}  # the default policy
    async with running_api(dsn, **env) as api:
        source = await make_source(api)
        await webhook(api, receiver.url.replace("127.0.0.1", "localhost"), triggerTypes=[])
        await webhook(api, receiver.url, triggerTypes=["alert-created"])
        alert_id = await alert_via_events(api, source["integrationKey"], "k11")
        await until(lambda: all_closed(api, alert_id))
        found = await deliveries(api, alert_id)
        assert {d["status"] for d in found} == {"DEAD"}
        assert all("denied" in d["lastError"] for d in found), found
        assert all(d["attempts"] == 1 for d in found)
    assert receiver.requests == []


async def test_a_receiver_down_for_30_s_gets_every_delivery_once_up(dsn: str) -> None:
    """Connection refused for 30 s, then up: nothing lost, and any duplicate carries the
    delivery id of its original."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **FAST,
        "ILERTD_OUTBOUND_RETRY_BASE_S": "1",
        "ILERTD_OUTBOUND_RETRY_MAX_S": "4",
        "ILERTD_OUTBOUND_MAX_ATTEMPTS": "30",
    }
    receiver = Receiver()
    async with running_api(dsn, **env) as api:
        source = await make_source(api)
        await webhook(api, f"http://127.0.0.1:{port}/down", triggerTypes=["alert-created"])
        alerts = [
            await alert_via_events(api, source["integrationKey"], f"down-{n}") for n in range(10)
        ]
        await asyncio.sleep(30)
        assert receiver.requests == []
        await receiver.start(port)
        try:
            await receiver.wait_for(10, timeout=20)
            for alert_id in alerts:
                await until(lambda alert_id=alert_id: all_closed(api, alert_id), timeout=20)
        finally:
            await receiver.stop()
    received = {r.json["id"] for r in receiver.requests}
    assert received == {str(a) for a in alerts}
    by_delivery: dict[str, set[str]] = {}
    for request in receiver.requests:
        by_delivery.setdefault(request.headers["X-Ilertd-Delivery"], set()).add(request.json["id"])
    assert all(len(ids) == 1 for ids in by_delivery.values())
    assert len(by_delivery) == 10
