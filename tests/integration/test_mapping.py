"""eventsourcing aggregates through the store: kebab types, typed fields, upcasting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from eventsourcing.domain import Aggregate, event

from eventstore import ConcurrencyError, EventStore, NewEvent
from eventstore.mapping import EventMapper, EventRegistry
from eventstore.repository import AggregateNotFoundError, Repository
from ilertd.domain.user import User


class Probe(Aggregate):
    @event("Opened")
    def __init__(self, title: str, due: datetime, owner: uuid.UUID, cost: Decimal) -> None:
        self.title = title
        self.due = due
        self.owner = owner
        self.cost = cost

    @event("Renamed")
    def rename(self, title: str) -> None:
        self.title = title


async def test_types_are_kebab_case_and_data_is_plain_json(store: EventStore) -> None:
    registry = EventRegistry()
    registry.register(Probe)
    repo = Repository(store, EventMapper(registry))
    owner = uuid.uuid4()
    due = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
    probe = Probe(title="a", due=due, owner=owner, cost=Decimal("1.50"))
    probe.rename("b")
    await repo.save(probe, metadata={"actor": "user:1"})
    rows = await store.read_stream(probe.id)
    assert [r.type for r in rows] == ["probe-opened", "probe-renamed"]
    assert rows[0].stream_type == "probe"
    assert rows[0].data["owner"] == str(owner)
    assert rows[0].data["due"].startswith("2026-11-22T12:30:00")
    loaded = await repo.load(probe.id)
    assert (loaded.title, loaded.due, loaded.owner, loaded.cost) == (
        "b",
        due,
        owner,
        Decimal("1.50"),
    )
    assert loaded.version == 2
    assert (await repo.load(probe.id, version=1)).title == "a"


async def test_load_at_a_moment_and_missing_stream(store: EventStore) -> None:
    registry = EventRegistry()
    registry.register(Probe)
    repo = Repository(store, EventMapper(registry))
    probe = Probe(title="a", due=datetime.now(UTC), owner=uuid.uuid4(), cost=Decimal(0))
    await repo.save(probe)
    between = datetime.now(UTC)
    probe.rename("b")
    await repo.save(probe)
    assert (await repo.load(probe.id, at=between)).title == "a"
    with pytest.raises(AggregateNotFoundError):
        await repo.load(uuid.uuid4())


async def test_stale_aggregate_save_conflicts(store: EventStore, repository: Repository) -> None:
    user = User(username="a", email="a@x", role="USER")
    await repository.save(user)
    first = await repository.load(user.id)
    second = await repository.load(user.id)
    first.issue_api_key(uuid.uuid4(), "h1", "one")
    await repository.save(first)
    second.issue_api_key(uuid.uuid4(), "h2", "two")
    with pytest.raises(ConcurrencyError):
        await repository.save(second)


class Ticket(Aggregate):
    """Release 2 of an aggregate whose Filed event gained a priority."""

    @event("Filed")
    def __init__(self, summary: str, priority: str) -> None:
        self.summary = summary
        self.priority = priority

    class Filed(Aggregate.Created):
        summary: str
        priority: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["priority"] = "HIGH"


async def test_old_rows_are_upcast_not_rewritten(store: EventStore) -> None:
    registry = EventRegistry()
    registry.register(Ticket)
    repo = Repository(store, EventMapper(registry))
    # the row exactly as release 1 wrote it: no class_version, no priority
    old_id = uuid.uuid4()
    v1_state = {
        "timestamp": "2026-01-01T00:00:00+00:00",
        "originator_topic": "tests.integration.test_mapping:Ticket",
        "summary": "disk full",
    }
    await store.append(
        old_id, [NewEvent("ticket-filed", orjson.dumps(v1_state))], 0, stream_type="ticket"
    )
    loaded = await repo.load(old_id)
    assert (loaded.summary, loaded.priority) == ("disk full", "HIGH")
    assert loaded.created_on == datetime(2026, 1, 1, tzinfo=UTC)
    stored = await store.read_stream(old_id)
    assert stored[0].data == v1_state  # the stored row is untouched

    fresh = Ticket(summary="cpu", priority="LOW")
    await repo.save(fresh)
    row = (await store.read_stream(fresh.id))[0]
    assert row.type == "ticket-filed"
    assert row.data["class_version"] == 2
    assert (await repo.load(fresh.id)).priority == "LOW"
