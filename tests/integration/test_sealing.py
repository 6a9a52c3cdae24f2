"""Connector and alert action secrets at rest: sealed in every table, open to ADMINs and to
deliveries, rotatable, and older plaintext events still work."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from eventstore.repository import Repository
from ilertd import cli
from ilertd.config import load_config
from ilertd.domain.alert_action import AlertAction
from ilertd.domain.connector import Connector
from ilertd.outbound.signing import verify
from ilertd.sealing import Sealer, SealingError, is_sealed, new_key

from .conftest import Api, running_api
from .receiver import Receiver
from .test_events_api import make_source
from .test_outbound import FAST, alert_via_events

HEADER_TOKEN = "hdr-5ecret-4a1b"
URL_TOKEN = "url-5ecret-9c2d"
API_KEY = "apikey-5ecret-7e3f"
SECRETS = (HEADER_TOKEN, URL_TOKEN, API_KEY)


@pytest.fixture
async def receiver() -> Any:
    server = await Receiver().start()
    yield server
    await server.stop()


async def dump(dsn: str) -> dict[str, str]:
    """Every row of every table as text, as a database dump would hold it."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        found = {}
        for table in tables:
            name = f'"{table["schemaname"]}"."{table["tablename"]}"'
            rows = await conn.fetch(f"SELECT t::text AS row FROM {name} t")
            found[name] = "\n".join(row["row"] for row in rows)
        return found
    finally:
        await conn.close()


async def make_connector(api: Api, url: str, **params: str) -> dict[str, Any]:
    status, body = await api.call(
        "POST",
        "/api/connectors",
        json={"name": "hooks", "type": "webhook", "params": {"url": url, **params}},
    )
    assert status == 201, body
    return body


async def test_no_table_holds_a_secret_and_admins_and_deliveries_see_them(
    dsn: str, receiver: Receiver
) -> None:
    async with running_api(dsn, **FAST) as api:
        connector = await make_connector(
            api, f"{receiver.url}/in/{URL_TOKEN}", apiKey=API_KEY, region="eu"
        )
        source = await make_source(api)
        status, action = await api.call(
            "POST",
            "/api/alert-actions",
            json={
                "name": "siem",
                "connectorType": "webhook",
                "connectorId": connector["id"],
                "alertSources": [{"id": source["id"]}],
                "triggerTypes": ["alert-created"],
                "params": {"headers": [{"key": "Authorization", "value": HEADER_TOKEN}]},
            },
        )
        assert status == 201, action
        await alert_via_events(api, source["integrationKey"], "k1")
        (delivered,) = await receiver.wait_for(1)
        await api.settle()

        # the real values reach the receiver: the connector's URL, the header, the signature
        assert delivered.path == f"/in/{URL_TOKEN}"
        assert delivered.headers["Authorization"] == HEADER_TOKEN
        stamp = int(delivered.headers["X-Ilertd-Timestamp"])
        signature = delivered.headers["X-Ilertd-Signature"]
        assert verify(action["signingSecret"].encode(), stamp, delivered.body, signature)

        # an ADMIN reads them back (the connector's credential is write-only, as before)
        status, shown = await api.call("GET", f"/api/alert-actions/{action['id']}")
        assert status == 200 and shown["params"]["headers"][0]["value"] == HEADER_TOKEN
        status, shown = await api.call("GET", f"/api/connectors/{connector['id']}")
        assert status == 200, shown
        assert shown["params"] == {"url": f"{receiver.url}/in/{URL_TOKEN}", "region": "eu"}
        assert shown["secretParams"] == ["apiKey"]
        status, named = await api.call("GET", "/api/connectors/name/hooks")
        assert status == 200 and named["params"]["url"].endswith(URL_TOKEN), named

        tables = await dump(dsn)
        assert '"public"."events"' in tables and '"public"."connectors"' in tables
        for table, text in tables.items():
            for secret in (*SECRETS, action["signingSecret"]):
                assert secret not in text, f"{secret} in plaintext in {table}"
        events = await api.runtime.pool.fetch(
            "SELECT type, data::text AS data FROM events "
            "WHERE type IN ('connector-created', 'alert-action-created')"
        )
        for event in events:
            assert is_sealed(orjson.loads(event["data"])["params"]), event["type"]


async def test_rotation_keeps_old_values_open_and_an_unknown_key_stops_the_start(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = new_key(), new_key()
    async with running_api(dsn, ILERTD_SECRETS_KEYS=old) as api:
        first = await make_connector(api, f"https://a.test/{URL_TOKEN}", apiKey=API_KEY)

    async with running_api(dsn, ILERTD_SECRETS_KEYS=f"{new},{old}") as api:
        status, shown = await api.call("GET", f"/api/connectors/{first['id']}")
        assert status == 200 and shown["params"]["url"] == f"https://a.test/{URL_TOKEN}"
        # a PUT replays the old events into the aggregate: they open, the kept credential too
        status, updated = await api.call(
            "PUT",
            f"/api/connectors/{first['id']}",
            json={"name": "renamed", "type": "webhook", "params": {"url": "https://b.test/x"}},
        )
        assert status == 200 and updated["secretParams"] == ["apiKey"], updated
        await make_connector(api, f"https://c.test/{URL_TOKEN}")
        rows = await api.runtime.pool.fetch(
            "SELECT type, data->>'params' AS params FROM events "
            "WHERE type LIKE 'connector-%' ORDER BY position"
        )
    both = Sealer([new, old], "test")
    assert [(r["type"], both.key_index(r["params"])) for r in rows] == [
        ("connector-created", 1),
        ("connector-updated", 0),
        ("connector-created", 0),
    ]
    assert both.unseal(rows[1]["params"], "here") == {"url": "https://b.test/x", "apiKey": API_KEY}

    config = load_config(None, env={"ILERTD_DATABASE_URL": dsn, "ILERTD_SECRETS_KEYS": new})
    assert await cli._secrets_status(config) == 1
    out, err = capsys.readouterr()
    assert "opens 2 sealed value(s)" in out and "no key opens event #" in err

    with pytest.raises(SealingError) as caught:
        async with running_api(dsn, ILERTD_SECRETS_KEYS=new):
            pass
    message = str(caught.value)
    assert "(connector-created) params" in message and "ILERTD_SECRETS_KEYS" in message
    assert new not in message and old not in message


async def test_events_from_before_sealing_still_work(
    dsn: str, repository: Repository, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows an older ilertd wrote in plaintext (a mapper without sealer) are read as they
    are: the read model, a delivery, a PUT; the new event the PUT records is sealed."""
    plain_url = f"{receiver.url}/old/{URL_TOKEN}"
    connector = Connector.create(
        name="legacy", connector_type="webhook", params={"url": plain_url, "apiKey": API_KEY}
    )
    await repository.save(connector)
    async with running_api(dsn, **FAST) as api:
        source = await make_source(api)
        action = AlertAction.create(
            name="old",
            connector_type="webhook",
            alert_source_ids=[int(source["id"])],
            trigger_types=["alert-created"],
            params={"webhookUrl": plain_url, "headers": [{"key": "X-T", "value": HEADER_TOKEN}]},
        )
        await repository.save(action)
        await api.settle()
        await alert_via_events(api, source["integrationKey"], "k1")
        (delivered,) = await receiver.wait_for(1)
        assert delivered.path == f"/old/{URL_TOKEN}" and delivered.headers["X-T"] == HEADER_TOKEN
        assert verify(
            action.signing_secret.encode(),
            int(delivered.headers["X-Ilertd-Timestamp"]),
            delivered.body,
            delivered.headers["X-Ilertd-Signature"],
        )
        status, listed = await api.call("GET", "/api/connectors")
        assert status == 200 and listed[0]["params"]["url"] == plain_url, listed
        connector_id = listed[0]["id"]
        status, updated = await api.call(
            "PUT",
            f"/api/connectors/{connector_id}",
            json={"name": "legacy", "type": "webhook", "params": {"url": plain_url + "2"}},
        )
        assert status == 200 and updated["secretParams"] == ["apiKey"], updated
        latest = await api.runtime.pool.fetchval(
            "SELECT data->>'params' FROM events WHERE type = 'connector-updated'"
        )
        assert is_sealed(latest) and URL_TOKEN not in latest

    config = load_config(
        None,
        env={"ILERTD_DATABASE_URL": dsn, "ILERTD_SECRETS_KEYS": api.runtime.sealer.keys[0]},
    )
    assert await cli._secrets_status(config) == 0
    out, _ = capsys.readouterr()
    assert "opens 1 sealed value(s)" in out and "plaintext values" in out
    assert "before sealing): 3" in out  # the connector's and the action's params, its secret


async def test_the_key_file_is_made_on_first_start_and_rotated_by_the_cli(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "keys" / "secrets.key"
    env = {"ILERTD_SECRETS_KEYS": "", "ILERTD_SECRETS_KEY_FILE": str(key_file)}
    async with running_api(dsn, **env) as api:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        await make_connector(api, f"https://a.test/{URL_TOKEN}")
    (first,) = key_file.read_text().split()

    config = load_config(None, env={"ILERTD_DATABASE_URL": dsn, **env})
    assert cli._secrets_rotate(config) == 0
    assert "added in front" in capsys.readouterr().out
    newest, older = key_file.read_text().split()
    assert older == first and newest != first

    async with running_api(dsn, **env) as api:
        await make_connector(api, f"https://b.test/{URL_TOKEN}")
        status, listed = await api.call("GET", "/api/connectors")
        assert status == 200 and len(listed) == 2
    assert await cli._secrets_status(config) == 0
    out, _ = capsys.readouterr()
    assert out.count("opens 1 sealed value(s)") == 2, out
