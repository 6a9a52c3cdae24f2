"""Plain records that cross the store boundary: what to append, what was stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import asyncpg
import orjson


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended; ``data`` is already JSON-encoded (bytes)."""

    type: str
    data: bytes
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append landed: positions are global, version is the stream's new version."""

    stream_id: UUID
    first_position: int
    last_position: int
    version: int
    duplicate: bool = False


class RecordedEvent(asyncpg.Record):
    """An event as stored, straight from asyncpg: built in C, so replay pays no Python
    constructor per row. ``data`` and ``metadata`` are JSON text decoded on each access
    (orjson): read them once into a local when a handler needs several fields."""

    __slots__ = ()

    position: int = property(itemgetter(0))  # type: ignore[assignment]
    stream_id: UUID = property(itemgetter(1))  # type: ignore[assignment]
    stream_type: str = property(itemgetter(2))  # type: ignore[assignment]
    version: int = property(itemgetter(3))  # type: ignore[assignment]
    type: str = property(itemgetter(4))  # type: ignore[assignment]
    recorded_at: datetime = property(itemgetter(7))  # type: ignore[assignment]

    @property
    def data(self) -> dict[str, Any]:
        return orjson.loads(self[5])

    @property
    def metadata(self) -> dict[str, Any]:
        return orjson.loads(self[6])

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(position={self.position}, stream_id={self.stream_id}, "
            f"version={self.version}, type={self.type!r})"
        )


#: The column order RecordedEvent's properties read.
RECORDED_COLUMNS = "position, stream_id, stream_type, version, type, data, metadata, recorded_at"
