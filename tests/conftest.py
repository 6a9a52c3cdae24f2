"""Fixtures: a real PostgreSQL (never mocked), a fresh database per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from eventstore import EventStore
from eventstore.mapping import EventMapper
from eventstore.repository import Repository
from ilertd import event_loop
from ilertd.domain.registry import build_registry

from .pg import create_database, drop_database, test_server


def pytest_asyncio_loop_factories(config: object, item: object) -> dict[str, object]:
    """Tests run on the loop the daemon runs on (uvloop unless ILERTD_EVENT_LOOP=asyncio)."""
    factory = event_loop.loop_factory()
    return {"asyncio": asyncio.new_event_loop} if factory is None else {"uvloop": factory}


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    with test_server() as dsn:
        yield dsn


@pytest.fixture
async def dsn(admin_dsn: str) -> AsyncIterator[str]:
    database = await create_database(admin_dsn)
    yield database
    await drop_database(admin_dsn, database)


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[EventStore]:
    store = await EventStore.open(dsn)
    yield store
    await store.close()


@pytest.fixture
def mapper() -> EventMapper:
    return EventMapper(build_registry())


@pytest.fixture
def repository(store: EventStore, mapper: EventMapper) -> Repository:
    return Repository(store, mapper)
