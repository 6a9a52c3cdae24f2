"""What the operations routes answer: liveness and readiness."""

from __future__ import annotations

from typing import Literal

import msgspec


class Health(msgspec.Struct):
    status: str


class ProjectionLag(msgspec.Struct):
    position: int
    lag: int


class Readiness(msgspec.Struct, kw_only=True):
    status: Literal["starting", "ready"]
    #: "ok", "unknown", the embedded server's state, or "unreachable: <error class>"
    database: str
    #: each projection's position and how far behind the store's head it is
    projections: dict[str, ProjectionLag]
