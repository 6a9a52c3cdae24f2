"""The daemon's event loop: uvloop unless asked for asyncio's own."""

from __future__ import annotations

import asyncio
import os

import pytest
import uvloop

from ilertd import event_loop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_runs_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ILERTD_EVENT_LOOP", raising=False)
    assert event_loop.run(_loop_type()) is uvloop.Loop


def test_asyncio_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ILERTD_EVENT_LOOP", "asyncio")
    assert event_loop.loop_factory() is None
    assert not issubclass(event_loop.run(_loop_type()), uvloop.Loop)


@pytest.mark.skipif(
    os.environ.get("ILERTD_EVENT_LOOP") == "asyncio", reason="the suite runs on asyncio's loop"
)
async def test_the_suite_runs_on_the_daemons_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
