"""The status page as a visitor's browser renders it: Debian's headless Chromium loads
``/status/<slug>`` from the running daemon, and its rendered DOM shows each service's status
and the latest status update; a PRIVATE page shows an anonymous visitor nothing. The
screenshots are kept as test artifacts (``$ILERTD_TEST_ARTIFACTS``, else ``tests/artifacts``,
git-ignored) to be looked at."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .conftest import Api
from .test_status_site import made, scene

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

ARTIFACTS = Path(
    os.environ.get("ILERTD_TEST_ARTIFACTS") or Path(__file__).parent.parent / "artifacts"
)


async def chromium(*args: str) -> str:
    """Run headless Chromium once (its own throwaway profile) and return its stdout."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="ilertd-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, process.returncode
    return out.decode()


async def rendered(url: str, screenshot: str | None = None) -> str:
    """The DOM Chromium rendered; ``screenshot``: also a PNG of the page, kept."""
    if screenshot is not None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / screenshot
        target.unlink(missing_ok=True)
        await chromium("--window-size=1200,1600", f"--screenshot={target}", url)
        assert target.stat().st_size > 10_000, "an empty screenshot"
    return await chromium("--dump-dom", url)


async def test_the_browser_shows_statuses_and_the_latest_update(api: Api) -> None:
    s = await scene(api)
    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {
            "status": "IDENTIFIED",
            "summary": "Database errors",
            "message": "A failed disk; the replica takes over.",
            "affectedServices": [{"service": {"id": s["db"]["id"]}, "impact": "MAJOR_OUTAGE"}],
        },
    )
    status, _ = await api.call(
        "PUT",
        f"/api/status-pages/{s['page']['id']}",
        json={**s["page"], "showSubscribeAction": True},
    )
    assert status == 200
    dom = await rendered(api.url("/status/acme"), "status-page-public.png")
    assert 'id="subscribe-email"' in dom  # the visitor's subscribe form, no script needed
    assert f'data-service="{s["db"]["id"]}" data-status="MAJOR_OUTAGE"' in dom, dom
    assert f'data-service="{s["web"]["id"]}" data-status="OPERATIONAL"' in dom
    assert "A failed disk; the replica takes over." in dom and "Database errors" in dom
    assert "Acme status" in dom
    assert "db-7 split brain" not in dom and "quorum" not in dom  # internal only


async def test_the_browser_gets_nothing_of_a_private_page(api: Api) -> None:
    await scene(api, visibility="PRIVATE")
    # a 401 with WWW-Authenticate: Chromium would ask for a login, and headless it renders
    # nothing (no DOM, no screenshot); the public test proves the same browser renders pages
    dom = await rendered(api.url("/status/acme"))
    assert "Web shop" not in dom and "Database" not in dom
    assert "data-service" not in dom
