"""eventsourcing aggregate events <-> store rows, through eventsourcing's Mapper.

Rows carry a kebab-case ``type`` (``alert-created``) instead of a Python topic, so stored
events survive renaming a module, and their ``data`` is plain JSON that SQL and humans can
read: datetimes and UUIDs are ISO strings, turned back into objects from the event class's
annotations on the way out. Event classes may declare ``class_version = N`` with static
``upcast_vK_vK+1(state)`` methods; eventsourcing's Mapper runs them on old rows, which are
never rewritten.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from .errors import UnknownEventTypeError
from .records import NewEvent, RecordedEvent


class OrjsonTranscoder(Transcoder):
    """JSON bytes via orjson; datetimes and UUIDs become strings (see TypedMapper)."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_default)

    def decode(self, data: bytes | str) -> Any:
        return orjson.loads(data)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in an event")


def kebab(name: str) -> str:
    """``AlertSource`` -> ``alert-source``; ``APIKeyAdded`` -> ``api-key-added``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name).lower()


_CONVERTERS: dict[type, Any] = {
    datetime: datetime.fromisoformat,
    UUID: UUID,
    Decimal: Decimal,
}


@cache
def _field_converters(cls: type) -> dict[str, Any]:
    """Fields whose annotation is datetime/UUID/Decimal (optionally ``| None``)."""
    converters: dict[str, Any] = {}
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    for name, hint in hints.items():
        candidates = (
            typing.get_args(hint)
            if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
            else (hint,)
        )
        for candidate in candidates:
            if candidate in _CONVERTERS:
                converters[name] = _CONVERTERS[candidate]
                break
    return converters


class TypedMapper(Mapper[UUID]):
    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        state = event.__dict__
        for name, convert in _field_converters(type(event)).items():
            value = state.get(name)
            if isinstance(value, str):
                state[name] = convert(value)
        return event


class EventRegistry:
    """Names every event class of the registered aggregates: ``<aggregate>-<event>``."""

    def __init__(self) -> None:
        self._by_type: dict[str, str] = {}
        self._by_topic: dict[str, str] = {}
        self._stream_types: dict[type, str] = {}

    def register(self, aggregate_cls: type, stream_type: str | None = None) -> None:
        prefix = stream_type or kebab(aggregate_cls.__name__)
        self._stream_types[aggregate_cls] = prefix
        for attr in vars(aggregate_cls).values():
            if isinstance(attr, type) and issubclass(attr, CanMutateAggregate):
                if not attr.__qualname__.startswith(aggregate_cls.__qualname__ + "."):
                    continue  # inherited base classes such as Aggregate.Event
                self.register_event(attr, f"{prefix}-{kebab(attr.__name__)}")

    def register_event(self, event_cls: type, type_name: str) -> None:
        topic = get_topic(event_cls)
        existing = self._by_type.get(type_name)
        if existing is not None and existing != topic:
            raise ValueError(f"event type {type_name!r} is already taken by {existing}")
        self._by_type[type_name] = topic
        self._by_topic[topic] = type_name

    def stream_type(self, aggregate_cls: type) -> str:
        return self._stream_types[aggregate_cls]

    def type_of(self, topic: str) -> str:
        try:
            return self._by_topic[topic]
        except KeyError:
            raise UnknownEventTypeError(f"event class {topic} is not registered") from None

    def topic_of(self, type_name: str) -> str:
        try:
            return self._by_type[type_name]
        except KeyError:
            raise UnknownEventTypeError(f"no event class is registered as {type_name!r}") from None

    def knows(self, type_name: str) -> bool:
        return type_name in self._by_type


class EventMapper:
    """Domain events to NewEvent rows and recorded rows back to domain events."""

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry
        self._mapper = TypedMapper(transcoder=OrjsonTranscoder())

    def to_new_events(
        self, events: Iterable[DomainEventProtocol[UUID]], metadata: dict[str, Any]
    ) -> list[NewEvent]:
        rows = []
        for event in events:
            stored = self._mapper.to_stored_event(event)
            rows.append(NewEvent(self.registry.type_of(stored.topic), stored.state, metadata))
        return rows

    def to_domain_event(self, recorded: RecordedEvent) -> DomainEventProtocol[UUID]:
        stored = StoredEvent(
            originator_id=recorded.stream_id,
            originator_version=recorded.version,
            topic=self.registry.topic_of(recorded.type),
            state=recorded[5],  # the JSON text of data; the transcoder decodes it
        )
        return self._mapper.to_domain_event(stored)
