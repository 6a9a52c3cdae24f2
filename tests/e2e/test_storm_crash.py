"""A storm with a crash in it: 400 new alerts on a two-level policy paging by e-mail, the
daemon and its engine process killed with SIGKILL mid-storm, started again. Every alert is
escalated exactly once per level and its responders are paged exactly once per level in
the store; the SMTP server got a page covering every alert for both responders."""

from __future__ import annotations

import asyncio
import email
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from aiosmtpd.controller import Controller

from .daemon import Daemon, free_port, http
from .test_escalation_e2e import ADMIN, _call, _env

ALERTS = 400
TIMEOUT_S = 4


class Inbox:
    def __init__(self) -> None:
        self.covered: list[tuple[str, int]] = []  # (recipient, alert id) per message

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content)
        ids = message.get("X-Ilertd-Alert-Ids") or message["X-Ilertd-Alert-Id"]
        for alert_id in str(ids).replace("\n", "").split(","):
            for rcpt in envelope.rcpt_tos:
                self.covered.append((rcpt, int(alert_id)))
        return "250 OK"


def _setup(daemon: Daemon) -> tuple[str, list[int]]:
    users = [
        _call(
            daemon,
            "POST",
            "/api/users",
            {"email": f"{n}@example.test", "firstName": n, "lastName": "T", "role": "RESPONDER"},
            201,
        )["id"]
        for n in ("ann", "bob")
    ]
    policy = _call(
        daemon,
        "POST",
        "/api/escalation-policies",
        {
            "name": "storm",
            "escalationRules": [
                {"escalationTimeout": f"PT{TIMEOUT_S}S", "users": [{"id": u}]} for u in users
            ],
        },
        201,
    )
    source = _call(
        daemon,
        "POST",
        "/api/alert-sources",
        {"name": "storm", "integrationType": "API", "escalationPolicy": {"id": policy["id"]}},
        201,
    )
    return source["integrationKey"], users


def _post(url: str, key: str, n: int) -> int | None:
    body = json.dumps(
        {"integrationKey": key, "eventType": "ALERT", "summary": f"storm {n}", "alertKey": f"s{n}"}
    ).encode()
    request = urllib.request.Request(url + "/api/events", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["alertId"] if answer.status == 202 else None
    except OSError:
        return None  # the daemon died under it: not acknowledged


async def test_kill_9_mid_storm_pages_and_escalates_every_alert_exactly_once(
    tmp_path: Path, dsn: str
) -> None:
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {
        **_env(dsn),
        "ILERTD_SMTP_HOST": "127.0.0.1",
        "ILERTD_SMTP_PORT": str(smtp_port),
        "ILERTD_SMTP_SECURITY": "none",
        "ILERTD_SMTP_FROM": "ilertd@example.test",
    }
    daemon = Daemon(tmp_path, **env).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        key, (ann, bob) = await asyncio.to_thread(_setup, daemon)
        acked: list[int] = []
        with ThreadPoolExecutor(16) as pool:
            first = list(pool.map(lambda n: _post(daemon.url, key, n), range(ALERTS // 2)))
            # the second half races with the kill: some answered, some cut off
            late = [pool.submit(_post, daemon.url, key, n) for n in range(ALERTS // 2, ALERTS)]
            time.sleep(0.3)
            await asyncio.to_thread(daemon.kill_all)
            acked = [a for a in first if a is not None]
            acked += [a for f in late if (a := f.result()) is not None]
        assert len(acked) >= ALERTS // 2
        daemon.start()  # the same data directory and database
        await asyncio.to_thread(daemon.wait_ready)
        with ThreadPoolExecutor(16) as pool:
            acked += [
                a
                for a in pool.map(lambda n: _post(daemon.url, key, n), range(ALERTS, ALERTS + 100))
                if a is not None
            ]

        conn = await asyncpg.connect(dsn)
        try:

            async def settled() -> bool:
                sent = await conn.fetchval(
                    "SELECT count(*) FROM events WHERE type = 'alert-notifications-sent'"
                )
                return sent >= 2 * len(set(acked))

            deadline = time.monotonic() + TIMEOUT_S + 60
            while not await settled():
                assert time.monotonic() < deadline, "not every page was sent"
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # anything doubled would show by now
            levels = await conn.fetch(
                "SELECT c.position AS alert_id, (e.data->>'level')::int AS level, count(*) AS n "
                "FROM events e JOIN events c ON c.stream_id = e.stream_id "
                "AND c.type = 'alert-created' WHERE e.type = 'alert-escalated' GROUP BY 1, 2"
            )
            pages = await conn.fetch(
                "SELECT (data->>'alert_id')::bigint AS alert_id, (data->>'user_id')::bigint "
                "AS user_id, count(*) AS n FROM events "
                "WHERE type = 'alert-notifications-sent' GROUP BY 1, 2"
            )
            created = await conn.fetchval(
                "SELECT count(*) FROM events WHERE type = 'alert-created'"
            )
        finally:
            await conn.close()
        alerts = set(acked)
        escalated = {(r["alert_id"], r["level"]): r["n"] for r in levels}
        paged = {(r["alert_id"], r["user_id"]): r["n"] for r in pages}
        for alert_id in alerts:
            assert escalated.get((alert_id, 0)) == 1, (alert_id, "level 0")
            assert escalated.get((alert_id, 1)) == 1, (alert_id, "level 1")
            assert paged.get((alert_id, ann)) == 1, (alert_id, "ann")
            assert paged.get((alert_id, bob)) == 1, (alert_id, "bob")
        # an alert committed but cut off before its answer is paged too, and only once
        assert max(escalated.values()) == 1 and max(paged.values()) == 1
        assert len(paged) == 2 * created
        got = set(inbox.covered)
        for alert_id in alerts:
            assert ("ann@example.test", alert_id) in got and ("bob@example.test", alert_id) in got
        status, _ = http("GET", daemon.url + "/readyz", key=ADMIN)
        assert status == 200
    finally:
        daemon.close()
        smtp.stop()
