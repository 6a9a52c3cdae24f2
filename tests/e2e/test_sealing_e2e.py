"""``ilertd serve`` as shipped seals action secrets with the key file it makes in its data
directory; its engine process (a second process) opens them to deliver; ``ilertd secrets``
counts and rotates; a key that opens nothing stops ``serve`` naming the setting."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from ilertd.sealing import new_key

from ..integration.receiver import Receiver
from .daemon import Daemon, base_env, http, run_cli

ADMIN = "ilk_e2e_sealing_admin_key_0123456789abcdef"
HEADER = "Bearer e2e-5ealed-header-value"


async def test_serve_seals_its_engine_delivers_and_a_foreign_key_stops_it(
    tmp_path: Path, dsn: str
) -> None:
    env = {
        "ILERTD_DATABASE_URL": dsn,
        "ILERTD_ADMIN_API_KEY": ADMIN,
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
        "ILERTD_ENGINE_PROCESS": "separate",
    }
    daemon = Daemon(tmp_path, **env).start()
    receiver = await Receiver().start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        status, source = await asyncio.to_thread(
            http,
            "POST",
            daemon.url + "/api/alert-sources",
            key=ADMIN,
            body={"name": "e2e", "integrationType": "API"},
        )
        assert status == 201, source
        action = {
            "name": "siem",
            "connectorType": "webhook",
            "params": {
                "webhookUrl": receiver.url + "/hook",
                "headers": [{"key": "Authorization", "value": HEADER}],
            },
            "alertSources": [{"id": source["id"]}],
            "triggerTypes": ["alert-created"],
        }
        status, created = await asyncio.to_thread(
            http, "POST", daemon.url + "/api/alert-actions", key=ADMIN, body=action
        )
        assert status == 201, created
        event = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
        status, _ = await asyncio.to_thread(http, "POST", daemon.url + "/api/events", body=event)
        assert status == 202
        (delivered,) = await receiver.wait_for(1, timeout=30)
        assert delivered.headers["Authorization"] == HEADER, "the engine process opened it"
        assert daemon.children(), "delivered by the separate engine process"
    finally:
        await receiver.stop()
        assert daemon.terminate() == 0
    key_file = tmp_path / "data" / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (key,) = key_file.read_text().split()
    assert key not in daemon.logs() and HEADER not in daemon.logs()

    cli_env = base_env(**env, ILERTD_DATA_DIR=str(tmp_path / "data"))
    status = run_cli("secrets", "status", env=cli_env)
    assert status.returncode == 0, status.stderr
    assert "opens 2 sealed value(s)" in status.stdout  # the action's params and its secret
    rotated = run_cli("secrets", "rotate", env=cli_env)
    assert rotated.returncode == 0 and "added in front" in rotated.stdout, rotated.stderr
    assert key_file.read_text().split()[1] == key

    foreign = run_cli("serve", env=base_env(**env, ILERTD_SECRETS_KEYS=new_key()), timeout=60)
    assert foreign.returncode == 1
    assert "(alert-action-created) params" in foreign.stderr, foreign.stderr[-2000:]
    assert "ILERTD_SECRETS_KEYS" in foreign.stderr and key not in foreign.stderr
