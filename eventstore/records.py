"""Plain records that cross the store boundary: what to append, what was stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

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


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored. ``data`` is decoded lazily: replay often needs only some fields."""

    position: int
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    data_json: bytes
    metadata: dict[str, Any]
    recorded_at: datetime

    @cached_property
    def data(self) -> dict[str, Any]:
        return orjson.loads(self.data_json)
