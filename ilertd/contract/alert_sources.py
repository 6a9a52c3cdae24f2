"""An alert source on the wire (ilert's ``AlertSource``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.alert_source import (
    LEGACY_ALERT_CREATION,
    MAX_NAME,
    AlertCreation,
    AlertPriorityRule,
)
from .common import Duration, IdRef, ReadOnlyTime

#: enum values from the domain's own enums (msgspec documents and checks them)
_CREATION_NAMES = (*(c.value for c in AlertCreation), *LEGACY_ALERT_CREATION)
AlertCreationName = Literal[_CREATION_NAMES]  # type: ignore[valid-type]
PriorityRuleName = Literal[tuple(r.value for r in AlertPriorityRule)]  # type: ignore[valid-type]
SourceStatus = Literal["PENDING", "ALL_ACCEPTED", "ALL_RESOLVED", "IN_MAINTENANCE", "DISABLED"]


class AlertSource(msgspec.Struct, kw_only=True, omit_defaults=False):
    """PUT replaces the whole source: absent fields take their defaults. Read-only fields
    (id, key, URL, status, times) may be sent back as read and are ignored."""

    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Annotated[str, msgspec.Meta(max_length=MAX_NAME)] | None = None
    integrationType: (
        Annotated[str, msgspec.Meta(max_length=64, description="open enum: API, PROMETHEUS, ...")]
        | None
    ) = None
    integrationKey: Annotated[str, msgspec.Meta(description="read-only, generated")] | None = None
    integrationUrl: Annotated[str, msgspec.Meta(description="read-only")] | None = None
    escalationPolicy: (
        Annotated[IdRef | int | str, msgspec.Meta(description='{"id": n}; a bare id too')] | None
    ) = None
    alertCreation: AlertCreationName | None = None
    incidentCreation: (
        Annotated[AlertCreationName, msgspec.Meta(description="legacy name of alertCreation")]
        | None
    ) = None
    alertGroupingWindow: Duration | None = None
    alertPriorityRule: PriorityRuleName | None = None
    incidentPriorityRule: (
        Annotated[PriorityRuleName, msgspec.Meta(description="legacy name of alertPriorityRule")]
        | None
    ) = None
    autoResolutionTimeout: Duration | None = None
    active: bool | None = None
    status: Annotated[SourceStatus, msgspec.Meta(description="read-only")] | None = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
