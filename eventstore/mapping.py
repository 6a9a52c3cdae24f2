"""eventsourcing aggregate events <-> store rows, through eventsourcing's Mapper.

Rows carry a kebab-case ``type`` (``alert-created``) instead of a Python topic, so stored
events survive renaming a module, and their ``data`` is plain JSON that SQL and humans can
read: datetimes and UUIDs are ISO strings, turned back into objects from the event class's
annotations on the way out. Event classes may declare ``class_version = N`` with static
``upcast_vK_vK+1(state)`` methods; eventsourcing's Mapper runs them on old rows, which are
never rewritten.

Given a ``FieldSealer``, the designated fields of the designated event types are sealed on
the way in and unsealed on the way out, before any upcaster, so aggregates (and the pure
domain) only ever see plaintext while the row holds the sealed form.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol
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
        self._types_of_stream: dict[str, list[str]] = {}

    def register(self, aggregate_cls: type, stream_type: str | None = None) -> None:
        prefix = stream_type or kebab(aggregate_cls.__name__)
        self._stream_types[aggregate_cls] = prefix
        for attr in vars(aggregate_cls).values():
            if isinstance(attr, type) and issubclass(attr, CanMutateAggregate):
                if not attr.__qualname__.startswith(aggregate_cls.__qualname__ + "."):
                    continue  # inherited base classes such as Aggregate.Event
                type_name = f"{prefix}-{kebab(attr.__name__)}"
                self.register_event(attr, type_name)
                self._types_of_stream.setdefault(prefix, []).append(type_name)

    def register_event(self, event_cls: type, type_name: str) -> None:
        topic = get_topic(event_cls)
        existing = self._by_type.get(type_name)
        if existing is not None and existing != topic:
            raise ValueError(f"event type {type_name!r} is already taken by {existing}")
        self._by_type[type_name] = topic
        self._by_topic[topic] = type_name

    def types_of(self, stream_type: str) -> tuple[str, ...]:
        """The event types a stream of this type can hold (an index-friendly filter)."""
        return tuple(self._types_of_stream.get(stream_type, ()))

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


class FieldSealer(Protocol):
    """Seals some fields of some event types (ilertd.sealing.Sealer)."""

    def fields_of(self, event_type: str) -> tuple[str, ...]: ...

    def seal(self, value: Any) -> Any: ...

    def unseal(self, value: Any, where: str) -> Any: ...


class EventMapper:
    """Domain events to NewEvent rows and recorded rows back to domain events; with a
    ``sealer``, its fields sealed in the rows (without one, rows are written and read as
    they are: tools and tests that touch no sealed event type)."""

    def __init__(self, registry: EventRegistry, sealer: FieldSealer | None = None) -> None:
        self.registry = registry
        self.sealer = sealer
        self._mapper = TypedMapper(transcoder=OrjsonTranscoder())

    def to_new_events(
        self, events: Iterable[DomainEventProtocol[UUID]], metadata: dict[str, Any]
    ) -> list[NewEvent]:
        rows = []
        for event in events:
            type_name = self.registry.type_of(get_topic(type(event)))
            fields = self.sealer.fields_of(type_name) if self.sealer is not None else ()
            if fields:
                event = self._sealed_copy(event, fields)
            stored = self._mapper.to_stored_event(event)
            rows.append(NewEvent(type_name, stored.state, metadata))
        return rows

    def _sealed_copy(
        self, event: DomainEventProtocol[UUID], fields: tuple[str, ...]
    ) -> DomainEventProtocol[UUID]:
        """The event with ``fields`` sealed; the aggregate's own event keeps its plaintext."""
        assert self.sealer is not None
        state = dict(vars(event))
        for name in fields:
            if state.get(name) is not None:
                state[name] = self.sealer.seal(state[name])
        copy = object.__new__(type(event))
        object.__setattr__(copy, "__dict__", state)
        return copy

    def to_domain_event(self, recorded: RecordedEvent) -> DomainEventProtocol[UUID]:
        state = recorded[5]  # the JSON text of data; the transcoder decodes it
        fields = self.sealer.fields_of(recorded.type) if self.sealer is not None else ()
        if fields:
            state = self._unsealed(recorded, state, fields)
        stored = StoredEvent(
            originator_id=recorded.stream_id,
            originator_version=recorded.version,
            topic=self.registry.topic_of(recorded.type),
            state=state,
        )
        return self._mapper.to_domain_event(stored)

    def _unsealed(self, recorded: RecordedEvent, text: str, fields: tuple[str, ...]) -> bytes:
        """The data with ``fields`` opened (plaintext ones, from older events, as they are)."""
        assert self.sealer is not None
        data = orjson.loads(text)
        for name in fields:
            if name in data:
                where = f"event #{recorded.position} ({recorded.type}) {name}"
                data[name] = self.sealer.unseal(data[name], where)
        return orjson.dumps(data)
