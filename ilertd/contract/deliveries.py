"""Deliveries of alert actions on the wire: the outbox's rows, an alert's actions with
their history, and the request to run one by hand."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.action_delivery import RETRY_REQUESTED, DeliveryStatus
from ..outbound.payload import MANUAL_EVENT_TYPE
from .alert_actions import ConnectorTypeName, TriggerModeName
from .common import Id, IdRef, IdText, ReadOnlyTime, TextId

#: the outbox's statuses, and what a retry answers at once
DeliveryStatusName = Literal[(*(s.value for s in DeliveryStatus), RETRY_REQUESTED)]  # type: ignore[valid-type]
DeliveryId = Annotated[
    str, msgspec.Meta(description="stable across retries; sent as X-Ilertd-Delivery")
]
EventType = Annotated[
    str, msgspec.Meta(description=f"a trigger type, or {MANUAL_EVENT_TYPE} for a manual run")
]


class Delivery(msgspec.Struct, kw_only=True):
    id: DeliveryId
    alertId: Annotated[int, msgspec.Meta(description="null for an incident's event")] | None
    alertActionId: (
        Annotated[TextId, msgspec.Meta(description="null for a post to an incident channel")] | None
    )
    eventType: EventType
    manual: bool
    status: Annotated[
        DeliveryStatusName,
        msgspec.Meta(description=f"{RETRY_REQUESTED} only in the answer to a retry"),
    ]
    success: bool
    attempts: int
    nextAttemptAt: ReadOnlyTime | None
    lastError: str | None
    lastStatusCode: int | None
    externalRef: (
        Annotated[str, msgspec.Meta(description="what the target created, e.g. a Jira issue key")]
        | None
    )
    createdAt: ReadOnlyTime
    updatedAt: ReadOnlyTime
    incidentId: (
        Annotated[int, msgspec.Meta(description="the incident whose event this delivers")] | None
    ) = None
    channelId: Annotated[int, msgspec.Meta(description="the incident channel posted to")] | None = (
        None
    )


class PlannedDelivery(msgspec.Struct, kw_only=True):
    """A run requested: the outbox sends it once the engine leader has read the request."""

    id: DeliveryId
    alertId: int
    alertActionId: TextId
    eventType: EventType
    status: Literal[DeliveryStatus.PENDING.value]  # type: ignore[valid-type]


class AlertActionTrigger(msgspec.Struct, kw_only=True):
    """An action that ran for the alert or can be run on it by hand."""

    alertActionId: TextId
    connectorId: TextId | None
    type: ConnectorTypeName
    name: str
    triggerMode: TriggerModeName
    history: list[Delivery]


class AlertActionRun(msgspec.Struct, kw_only=True):
    """Which action to run: ``alertActionId`` (``id`` too), or ``alertAction {id}``."""

    alertActionId: Id | IdText | None = None
    id: Id | IdText | None = None
    alertAction: IdRef | None = None
