"""An event store on PostgreSQL: ordered, durable, group-committed appends."""

from .errors import (
    ConcurrencyError,
    EventStoreError,
    StoreClosedError,
    UnknownEventTypeError,
    UnstorableEventError,
)
from .records import AppendResult, NewEvent, RecordedEvent
from .store import EventStore, StreamAppend, create_pool

__all__ = [
    "AppendResult",
    "ConcurrencyError",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "RecordedEvent",
    "StoreClosedError",
    "StreamAppend",
    "UnknownEventTypeError",
    "UnstorableEventError",
    "create_pool",
]
