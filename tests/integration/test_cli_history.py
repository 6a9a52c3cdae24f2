"""``ilertd timeline`` and ``ilertd replay --alert``: an alert's history from its events,
addressed by the alert id the API shows."""

from __future__ import annotations

import orjson
import pytest

from ilertd import cli
from ilertd.config import load_config

from .conftest import Api
from .test_events_api import make_source, send


async def test_timeline_and_replay_by_alert_id(
    api: Api, dsn: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    source = await make_source(api)
    key = source["integrationKey"]
    body = {"integrationKey": key, "eventType": "ALERT", "summary": "disk", "alertKey": "d"}
    _, opened = await send(api, body)
    await send(api, {"integrationKey": key, "eventType": "ACCEPT", "alertKey": "d"})
    config = load_config(None, env={"ILERTD_DATABASE_URL": dsn})
    capsysbinary.readouterr()

    assert await cli._timeline(config, str(opened["alertId"]), True) == 0
    timeline = [orjson.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [e["type"] for e in timeline] == ["alert-created", "alert-accepted"]
    stream = timeline[0]["streamId"]
    assert {e["streamId"] for e in timeline} == {stream}

    assert await cli._replay(config, None, str(opened["alertId"]), True) == 0
    replayed = [orjson.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [e["streamId"] for e in replayed] == [stream, stream]
    assert [e["position"] for e in replayed] == [e["position"] for e in timeline]

    assert await cli._replay(config, None, "999999999", True) == 1
    assert b"no alert 999999999" in capsysbinary.readouterr().err
