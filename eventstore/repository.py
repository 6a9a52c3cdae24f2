"""Saving and loading eventsourcing aggregates through the event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate

from .errors import ConcurrencyError
from .mapping import EventMapper
from .records import AppendResult
from .store import EventStore, StreamAppend

A = TypeVar("A", bound=BaseAggregate)


class AggregateNotFoundError(LookupError):
    def __init__(self, aggregate_id: UUID) -> None:
        super().__init__(f"no stream {aggregate_id}")
        self.aggregate_id = aggregate_id


class Repository:
    def __init__(self, store: EventStore, mapper: EventMapper) -> None:
        self.store = store
        self.mapper = mapper

    async def save(
        self,
        aggregate: BaseAggregate,
        *,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> AppendResult | None:
        """Append the aggregate's pending events, expecting the version it was loaded at."""
        pending = aggregate.collect_events()
        if not pending:
            return None
        expected = pending[0].originator_version - 1
        return await self.store.append(
            aggregate.id,
            self.mapper.to_new_events(pending, metadata or {}),
            expected,
            stream_type=self.mapper.registry.stream_type(type(aggregate)),
            idempotency_key=idempotency_key,
        )

    async def save_together(
        self, aggregates: list[BaseAggregate], *, metadata: dict[str, Any] | None = None
    ) -> list[AppendResult]:
        """Append several aggregates' pending events atomically (all or none), each
        expecting the version it was loaded at; ConcurrencyError when one moved on."""
        appends = []
        for aggregate in aggregates:
            pending = aggregate.collect_events()
            if pending:
                appends.append(
                    StreamAppend(
                        aggregate.id,
                        self.mapper.registry.stream_type(type(aggregate)),
                        self.mapper.to_new_events(pending, metadata or {}),
                        pending[0].originator_version - 1,
                    )
                )
        return await self.store.append_together(appends)

    async def load(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> Any:
        """The aggregate as of its latest version, a given version, or a moment in time."""
        recorded = await self.store.read_stream(aggregate_id, to_version=version)
        aggregate = None
        for row in recorded:
            event = self.mapper.to_domain_event(row)
            if at is not None and event.timestamp > at:
                break
            aggregate = event.mutate(aggregate)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    async def load_many(self, aggregate_ids: list[UUID]) -> dict[UUID, Any]:
        """Several aggregates as of their latest versions, read in one query; ids without
        a stream are left out."""
        found: dict[UUID, Any] = {}
        for stream_id, recorded in (await self.store.read_streams(aggregate_ids)).items():
            aggregate = None
            for row in recorded:
                aggregate = self.mapper.to_domain_event(row).mutate(aggregate)
            if aggregate is not None:
                found[stream_id] = aggregate
        return found

    async def change(
        self,
        aggregate_id: UUID,
        command: Callable[[Any], object],
        *,
        metadata: dict[str, Any] | None = None,
        create: Callable[[], Any] | None = None,
        attempts: int = 5,
    ) -> tuple[Any, AppendResult | None]:
        """Load the aggregate (or ``create()`` it when its stream is empty), apply
        ``command`` and append; when someone else appended in between, load and apply it
        again. ``command`` returning False means "nothing to do": nothing is appended. The
        last ConcurrencyError is raised when every attempt lost the race."""
        for attempt in range(attempts):
            try:
                aggregate = await self.load(aggregate_id)
            except AggregateNotFoundError:
                if create is None:
                    raise
                aggregate = create()
            if command(aggregate) is False:
                return aggregate, None
            try:
                return aggregate, await self.save(aggregate, metadata=metadata)
            except ConcurrencyError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")
