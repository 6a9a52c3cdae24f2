"""The read barrier's declarations and the runner's position waiters, without a database."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from eventstore import RecordedEvent
from ilertd.app import Services
from ilertd.config import load_config
from ilertd.http import freshness
from ilertd.http.server import build_app
from projections import Projection, ProjectionRunner, all_projections


def _routes() -> set[str]:
    app = build_app(Services(load_config(None, env={})))
    return {resource.canonical for resource in app.router.resources()}


def test_declarations_name_real_routes_and_leader_only_read_models() -> None:
    routes = _routes()
    projections = {p.name: p for p in all_projections()}
    assert routes >= freshness.NO_READS
    assert set(freshness.LEADER_READS) <= routes
    for prefix in freshness.WITHOUT_ALERTS:
        assert any(route.startswith(prefix) for route in routes), prefix
    for names in freshness.LEADER_READS.values():
        assert all(projections[name].leader_only for name in names)


def test_every_guarded_route_waits_for_users_and_alert_routes_for_alerts() -> None:
    projections = {p.name: p for p in all_projections()}
    for route in _routes():
        if not route.startswith(freshness.GUARDED_PREFIXES) or route in freshness.NO_READS:
            continue
        names = freshness.read_models(route, projections)
        assert "users" in names, route  # authentication reads it
        assert "timers" not in names, route  # no route reads the engine's timers
        if route.startswith(("/api/alerts", "/r/")):
            assert "alerts" in names, route
    assert freshness.read_models("/api/events", projections) == frozenset()
    assert "pager" in freshness.read_models("/api/alerts/{id}/notifications", projections)


class _Model(Projection):
    name = "model"

    async def setup(self, conn: asyncpg.Connection) -> None:
        pass

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        pass


async def test_a_waiter_wakes_when_its_position_is_reached_not_before() -> None:
    runner = ProjectionRunner(None, [_Model()])  # type: ignore[arg-type]
    runner.positions["model"] = 3
    await asyncio.wait_for(runner.wait_until(3, ["model"]), 0.1)  # reached: no wait
    near, far = (asyncio.create_task(runner.wait_until(p, ["model"])) for p in (5, 9))
    await asyncio.sleep(0)
    runner.positions["model"] = 6
    runner._advanced("model")
    await asyncio.sleep(0)
    assert near.done() and not far.done()
    with pytest.raises(TimeoutError):
        await runner.wait_for(9, timeout=0.05)
    runner.positions["model"] = 9
    runner._advanced("model")
    await asyncio.wait_for(far, 0.1)


async def test_timed_out_waiters_of_a_stuck_read_model_do_not_pile_up() -> None:
    runner = ProjectionRunner(None, [_Model()])  # type: ignore[arg-type]
    runner.positions["model"] = 0
    for _ in range(200):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(runner.wait_until(1, ["model"]), 0.001)
    assert len(runner._waiters["model"]) <= 65
