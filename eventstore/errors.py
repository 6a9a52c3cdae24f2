"""Errors raised by the event store; callers map them to HTTP answers (409, 503)."""

from __future__ import annotations

from uuid import UUID


class EventStoreError(Exception):
    """Base class of every event store error."""


class ConcurrencyError(EventStoreError):
    """The stream moved on since the caller read it: reload and retry, or answer 409."""

    def __init__(self, stream_id: UUID, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"stream {stream_id} is at version {actual_version}, "
            f"expected version {expected_version}"
        )


class StoreClosedError(EventStoreError):
    """An append arrived after the store started shutting down."""


class UnknownEventTypeError(EventStoreError):
    """A stored event type has no registered class (a newer ilertd wrote it?)."""


class UnstorableEventError(EventStoreError, ValueError):
    """An event holds text PostgreSQL cannot store (U+0000, lone surrogates)."""
