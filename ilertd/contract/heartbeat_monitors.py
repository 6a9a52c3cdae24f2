"""A heartbeat monitor on the wire (ilert's ``HeartbeatMonitor``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.heartbeat_monitor import MAX_INTERVAL_S, MAX_SUMMARY, MIN_INTERVAL_S
from .common import Id, IdText, ReadOnlyTime, trimmed
from .team_refs import Teams
from .visibility import Masking, secret

State = Literal["UNKNOWN", "HEALTHY", "OVERDUE"]


class SourceRef(msgspec.Struct, kw_only=True):
    """The alert source the overdue alert opens on: ``{"id": n}``; its name and type are
    added on output with ``include=alertSource``."""

    id: Id | IdText
    name: Annotated[str, msgspec.Meta(description="read-only")] | None = None
    integrationType: Annotated[str, msgspec.Meta(description="read-only")] | None = None


class HeartbeatMonitor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """PUT replaces the whole monitor; absent ``teams`` keep theirs. Read-only fields may be
    sent back as read and are ignored. Without ``alertSource`` on create, ilertd creates an
    alert source of integrationType HEARTBEAT2 named after the monitor (ilert does the
    same); on PUT an absent ``alertSource`` keeps the current one."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: trimmed(255)  # type: ignore[valid-type]
    intervalSec: Annotated[
        int,
        msgspec.Meta(
            ge=MIN_INTERVAL_S,
            le=MAX_INTERVAL_S,
            description="overdue when no ping arrived for this long; a change issues a new "
            "integrationKey and the clock starts again at its first ping",
        ),
    ]
    alertSummary: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_SUMMARY,
                pattern="^[^\\x00-\\x1f\\x7f]*$",
                description="the overdue alert's summary, one line (blank: the default, "
                "which names the monitor and its interval)",
            ),
        ]
        | None
    ) = None
    alertSource: SourceRef | None = None
    state: (
        Annotated[
            State,
            msgspec.Meta(description="read-only: UNKNOWN until the first ping"),
        ]
        | None
    ) = None
    integrationKey: (
        Annotated[
            str,
            msgspec.Meta(description="read-only; with include=integrationKey"),
            secret(Masking.VALUE, "pings the heartbeat"),
        ]
        | None
    ) = None
    integrationUrl: (
        Annotated[
            str,
            msgspec.Meta(description="read-only; with include=integrationUrl"),
            secret(Masking.INTEGRATION_URL, "holds the integration key"),
        ]
        | None
    ) = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
    teams: Teams | None = None
