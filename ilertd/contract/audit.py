"""The audit trail on the wire: who changed which configuration when (ilertd's addition)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .common import ReadOnlyTime

#: The configuration resources whose changes are audited, as the ``resource-type`` filter
#: and ``resourceType`` name them; alerts, pages and deliveries have timelines of their own.
RESOURCE_TYPES = (
    "ALERT_SOURCE",
    "ESCALATION_POLICY",
    "SCHEDULE",
    "USER",
    "TEAM",
    "CONNECTOR",
    "ALERT_ACTION",
    "STATUS_PAGE",
    "SERVICE",
    "INCIDENT",
    "MAINTENANCE_WINDOW",
)
ResourceType = Literal[RESOURCE_TYPES]  # type: ignore[valid-type]


class AuditActor(msgspec.Struct, kw_only=True):
    """A user (``id``, ``username`` while the user lives), or ilertd itself (``system``:
    bootstrap, reset-key, ...)."""

    id: int | None = None
    username: str | None = None
    system: str | None = None


class AuditEvent(msgspec.Struct, kw_only=True):
    id: Annotated[int, msgspec.Meta(description="the event's position in the event store")]
    time: ReadOnlyTime
    resourceType: ResourceType
    resourceId: Annotated[int, msgspec.Meta(description="the resource's API id")]
    action: Annotated[str, msgspec.Meta(description="the event type, e.g. alert-source-updated")]
    actor: AuditActor
    fields: Annotated[
        list[str],
        msgspec.Meta(
            description="the fields the event recorded (names only: values may be secrets; "
            "GET the resource for its state)"
        ),
    ]
    requestId: str | None = None
