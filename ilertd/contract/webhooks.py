"""Tool webhook bodies on the wire: Grafana's contact point, and generic JSON.

Grafana's fields as its documentation of the webhook contact point lists them; unknown
fields are ignored (Grafana adds some), every field may be absent or null except
``status`` and ``groupKey``, which ``ilertd.inbound.grafana`` needs.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .common import NOT_BLANK, spaces

Labels = dict[str, str]


class GrafanaAlert(msgspec.Struct, kw_only=True):
    status: str | None = None
    labels: Labels | None = None
    annotations: Labels | None = None
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None
    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    imageURL: str | None = None
    values: dict[str, Any] | None = None
    valueString: str | None = None


class GrafanaWebhook(msgspec.Struct, kw_only=True):
    """What a Grafana webhook contact point posts (unified alerting)."""

    status: Annotated[
        str,
        msgspec.Meta(
            description="firing or resolved",
            pattern=spaces(
                r"^\s*(?:[Ff][Ii][Rr][Ii][Nn][Gg]|[Rr][Ee][Ss][Oo][Ll][Vv][Ee][Dd])\s*$"
            ),
        ),
    ]
    groupKey: Annotated[
        str, msgspec.Meta(description="one ilert alert per group", pattern=NOT_BLANK)
    ]
    receiver: str | None = None
    orgId: int | None = None
    alerts: list[GrafanaAlert] | None = None
    groupLabels: Labels | None = None
    commonLabels: Labels | None = None
    commonAnnotations: Labels | None = None
    externalURL: str | None = None
    version: str | None = None
    truncatedAlerts: int | None = None
    title: str | None = None
    state: str | None = None
    message: str | None = None


#: Any JSON object: the source's templates read it (``ilertd.inbound.generic_json``).
GenericWebhook = Annotated[
    dict[str, Any],
    msgspec.Meta(description="any JSON object; the alert source's templates map it"),
]
