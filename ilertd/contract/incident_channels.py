"""Chat channels of an incident on the wire (``/api/incidents/{id}/channels``), in the shape
of ilert's ``Channel`` (``name``, ``url``) plus the connector that posts to it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..domain.incident_channel import ChannelType
from ..domain.text import MAX_URL
from .common import NOT_BLANK, Name, TextId, spaces

ChannelTypeName = Literal[tuple(t.value for t in ChannelType)]  # type: ignore[valid-type]

_CONNECTOR = (
    "the connector that posts to the channel: slack (or slack_webhook) for SLACK, "
    "microsoft_teams for MICROSOFT_TEAMS, google_chat for GOOGLE_CHAT; its url (a webhook "
    "URL) is its secret"
)


def _text(limit: int, description: str = "trimmed, not blank", **schema: Any) -> Any:
    return Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=limit,
            description=description,
            extra_json_schema=schema or {"pattern": NOT_BLANK},
        ),
    ]


class IncidentChannelIn(msgspec.Struct, kw_only=True):
    """``POST /api/incidents/{id}/channels``: every later timeline event of the incident
    is posted to the channel through its connector, until it is detached."""

    name: Name
    url: _text(  # type: ignore[valid-type]
        MAX_URL,
        "the channel's address for people (not where ilertd posts): an http(s) URL",
        format="uri",
        pattern=spaces(r"^\s*https?://\S+\s*$"),
    )
    type: ChannelTypeName  # type: ignore[valid-type]
    connectorId: Annotated[TextId, msgspec.Meta(description=_CONNECTOR)]


class IncidentChannel(msgspec.Struct, kw_only=True):
    id: Annotated[int, msgspec.Meta(description="numbered per incident, never reused")]
    name: str
    url: str
    type: ChannelTypeName  # type: ignore[valid-type]
    connectorId: TextId
