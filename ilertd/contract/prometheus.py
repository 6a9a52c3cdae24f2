"""Prometheus Alertmanager's webhook body (``webhook_configs``, payload version 4).

Alertmanager sends one body per notification of one alert group. Only what the mapping
needs is required (``groupKey``, ``status``, ``alerts``); everything else is optional so
an older or newer Alertmanager is not refused for a field it leaves out. Unknown fields
are ignored. Over-long texts are not refused: a monitoring system cannot shorten them, so
``ilertd.inbound.prometheus`` cuts them to the alert's limits instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .common import NOT_BLANK

#: An Alertmanager label or annotation set: strings to strings.
LabelSet = Annotated[dict[str, str], msgspec.Meta(description="label or annotation name to value")]

Status = Annotated[
    Literal["firing", "resolved"],
    msgspec.Meta(description="resolved once every alert of the group is resolved"),
]


class AlertmanagerAlert(msgspec.Struct, kw_only=True):
    """One alert of the group."""

    status: Status = "firing"
    labels: LabelSet | None = None
    annotations: LabelSet | None = None
    startsAt: str | None = None
    endsAt: Annotated[str | None, msgspec.Meta(description="0001-01-01T00:00:00Z while firing")] = (
        None
    )
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(msgspec.Struct, kw_only=True):
    """The webhook body; one ilert alert per ``groupKey``."""

    groupKey: Annotated[
        str,
        msgspec.Meta(
            pattern=NOT_BLANK,
            description="the alert group: becomes the alert's alertKey (a key longer than "
            "512 characters is replaced by its SHA-256)",
        ),
    ]
    status: Status
    alerts: list[AlertmanagerAlert]
    version: Annotated[str | None, msgspec.Meta(description='"4" today')] = None
    receiver: str | None = None
    truncatedAlerts: Annotated[int, msgspec.Meta(ge=0)] | None = None
    groupLabels: LabelSet | None = None
    commonLabels: LabelSet | None = None
    commonAnnotations: LabelSet | None = None
    externalURL: str | None = None
