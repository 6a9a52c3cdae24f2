"""``ilertd serve`` as shipped: its log (JSON, as journald gets it) holds no token or key
of the requests it served, and a weak admin key stops it before it starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .daemon import Daemon, base_env, http, run_cli

ADMIN = "ilk_e2e_hardening_admin_key_0123456789abcdef"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWxpbmstdG9rZW4.c2ln"
KEY = "il1api0SECRETKEY0123456789abcdef"
FEED = "feedtokenSECRET0123456789abcdefgh"


async def test_the_served_log_holds_no_secret_of_a_request(tmp_path: Path, dsn: str) -> None:
    daemon = Daemon(tmp_path, ILERTD_DATABASE_URL=dsn, ILERTD_ADMIN_API_KEY=ADMIN).start()
    try:
        await asyncio.to_thread(daemon.wait_ready)
        calls = [
            ("GET", f"/r/{TOKEN}", None, None),
            ("GET", f"/api/alert-sources/{KEY}", ADMIN, None),
            ("POST", f"/api/v1/events/prtg/{KEY}", None, {"summary": "x"}),
            ("GET", f"/api/schedules/1/ical?token={FEED}", None, None),
        ]
        for method, path, key, body in calls:
            status, _ = await asyncio.to_thread(http, method, daemon.url + path, key=key, body=body)
            assert status < 500, (path, status)
    finally:
        assert daemon.terminate() == 0
    logs = daemon.logs()
    paths = {event.get("path") for event in daemon.log_events() if event["event"] == "request"}
    assert {"/r/***", "/api/alert-sources/***", "/api/v1/events/prtg/***"} <= paths, paths
    assert "/api/schedules/1/ical?token=***" in paths, paths
    for secret in (TOKEN, KEY, FEED, ADMIN):
        assert secret not in logs


def test_a_short_admin_key_stops_serve_naming_the_setting(dsn: str) -> None:
    result = run_cli(
        "serve", env=base_env(ILERTD_DATABASE_URL=dsn, ILERTD_ADMIN_API_KEY="a"), timeout=30
    )
    assert result.returncode == 2
    assert "ILERTD_ADMIN_API_KEY" in result.stderr and "at least 32" in result.stderr
