"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) on loopback, its
webhook receiver pointed at ``/api/v1/events/prometheus/{key}`` and its PagerDuty receiver
at ``/v2/enqueue``, as a user configures them: alerts posted to Alertmanager's own API open
one ilertd alert per group on each source and resolve them once Alertmanager resolves."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import Api
from .test_events_api import make_source

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
pytestmark = pytest.mark.skipif(
    not Path(BINARY).exists(), reason="prometheus-alertmanager is not installed"
)

CONFIG = """
route:
  receiver: ilert
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: ilert
    webhook_configs:
      - url: {webhook}
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {enqueue}
        severity: '{{{{ .CommonLabels.severity }}}}'
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def alertmanager(workdir: Path, config: str) -> AsyncIterator[str]:
    """Alertmanager on a free loopback port, clustering off; yields its base URL."""
    (workdir / "alertmanager.yml").write_text(config)
    port = _free_port()
    log = (workdir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                assert process.poll() is None, (workdir / "alertmanager.log").read_text()
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{url}/-/ready") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("Alertmanager did not get ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _alerts(ends: datetime | None) -> list[dict[str, Any]]:
    """Two alerts in the DiskFull group, one in HighLoad; resolved when ``ends`` is past."""
    now = datetime.now(UTC)
    timing = {"startsAt": (now - timedelta(minutes=1)).isoformat()}
    if ends is not None:
        timing["endsAt"] = ends.isoformat()
    return [
        {
            "labels": {"alertname": "DiskFull", "severity": "critical", "instance": host},
            "annotations": {"summary": "disk full on the db hosts"},
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk",
            **timing,
        }
        for host in ("db-1", "db-2")
    ] + [
        {
            "labels": {"alertname": "HighLoad", "severity": "warning", "instance": "web-1"},
            "annotations": {},
            **timing,
        }
    ]


async def _until(
    api: Api, source_id: int, ready: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    for _ in range(300):
        await api.settle()
        _, alerts = await api.call("GET", f"/api/alerts?alert-source={source_id}")
        if ready(alerts):
            return sorted(alerts, key=lambda a: a["summary"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached; the source's alerts are {alerts}")


async def test_alertmanager_opens_and_resolves_one_alert_per_group(
    api: Api, tmp_path: Path
) -> None:
    webhook = await make_source(api, name="am-webhook", integrationType="PROMETHEUS")
    paged = await make_source(api, name="am-pagerduty")
    config = CONFIG.format(
        webhook=webhook["integrationUrl"],
        routing_key=paged["integrationKey"],
        enqueue=api.url("/v2/enqueue"),
    )
    assert webhook["integrationUrl"].startswith(api.url("/api/v1/events/prometheus/"))
    async with alertmanager(tmp_path, config) as url, aiohttp.ClientSession() as session:

        async def post_alerts(ends: datetime | None) -> None:
            async with session.post(f"{url}/api/v2/alerts", json=_alerts(ends)) as response:
                assert response.status == 200, await response.text()

        await post_alerts(None)
        two = await _until(api, webhook["id"], lambda alerts: len(alerts) == 2)
        disk, load = sorted(two, key=lambda a: a["alertKey"])
        assert disk["alertKey"] == '{}:{alertname="DiskFull"}'
        assert disk["summary"] == "disk full on the db hosts" and disk["priority"] == "HIGH"
        assert disk["labels"] == {"alertname": "DiskFull", "severity": "critical"}
        assert "db-1" in disk["details"] and "db-2" in disk["details"]
        assert load["alertKey"] == '{}:{alertname="HighLoad"}'
        assert load["summary"] == "HighLoad" and load["priority"] == "LOW"
        assert {a["status"] for a in two} == {"PENDING"}
        pd_load, pd_disk = await _until(api, paged["id"], lambda alerts: len(alerts) == 2)
        assert pd_disk["summary"].startswith("[FIRING:2] DiskFull")
        assert pd_disk["priority"] == "HIGH" and pd_load["priority"] == "LOW"
        assert pd_load["summary"].startswith("[FIRING:1] HighLoad")
        assert len(pd_disk["alertKey"]) == 64  # Alertmanager's hash of the group key
        assert pd_disk["labels"]["severity"] == "critical"

        await post_alerts(datetime.now(UTC) - timedelta(seconds=1))
        resolved = await _until(
            api, webhook["id"], lambda alerts: {a["status"] for a in alerts} == {"RESOLVED"}
        )
        assert [a["id"] for a in resolved] == [load["id"], disk["id"]]
        pd_resolved = await _until(
            api, paged["id"], lambda alerts: {a["status"] for a in alerts} == {"RESOLVED"}
        )
        assert len(pd_resolved) == 2
    # one alert per group on each source, each resolved: nothing else was opened
    await api.settle()
    _, everything = await api.call("GET", "/api/alerts")
    assert len(everything) == 4
