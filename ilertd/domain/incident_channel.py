"""A chat channel attached to an incident: where people talk about it, and the connector
that posts the incident's timeline there.

``url`` is the channel's address for people (ilert's ``Channel.url``), shown to anyone who
reads the incident; the address ilertd posts to (a webhook URL) is the connector's secret
and never part of the channel. A channel names its type, and the connector must be one of
that type's connector types, so a Slack channel is never posted to by a Teams webhook.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid5

from .action_delivery import CHAIN_NAMESPACE
from .errors import InvalidValueError
from .text import checked_name, checked_url

MAX_CHANNELS = 20
#: Slack's conversation ids: public (C) and private (G) channels, direct messages (D).
_CONVERSATION = re.compile(r"[CGD][A-Z0-9]{8,}")


class ChannelType(StrEnum):
    SLACK = "SLACK"
    MICROSOFT_TEAMS = "MICROSOFT_TEAMS"
    GOOGLE_CHAT = "GOOGLE_CHAT"


#: The connector types (as connectors spell them, ilert's and the shorter ones people
#: write) that post to each kind of channel.
CONNECTOR_TYPES: dict[ChannelType, frozenset[str]] = {
    ChannelType.SLACK: frozenset({"slack", "slack_webhook"}),
    ChannelType.MICROSOFT_TEAMS: frozenset(
        {"microsoft_teams", "microsoftteams", "teams", "microsoft_teams_webhook"}
    ),
    ChannelType.GOOGLE_CHAT: frozenset({"google_chat", "googlechat", "google_chat_webhook"}),
}


def checked_type(value: Any) -> ChannelType:
    try:
        return ChannelType(str(value).strip().upper())
    except ValueError:
        raise InvalidValueError(
            "type", f"must be one of {', '.join(t.value for t in ChannelType)}"
        ) from None


def posts_to(channel_type: ChannelType, connector_type: str) -> bool:
    """Whether a connector of ``connector_type`` posts to channels of ``channel_type``."""
    return connector_type in CONNECTOR_TYPES[channel_type]


def can_post(channel_type: ChannelType, params: dict[str, str]) -> bool:
    """Whether a connector's params can post: an incoming-webhook ``url``, or for Slack a
    bot ``token`` (chat.postMessage; ``apiUrl`` for another Slack, such as GovSlack)."""
    return bool(params.get("url")) or (
        channel_type is ChannelType.SLACK and bool(params.get("token"))
    )


def slack_conversation(url: str) -> str | None:
    """The Slack conversation id a channel link ends with (``…/archives/C0123456789``,
    ``app.slack.com/client/T…/C…``), if it names one: where a bot token posts."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return parts[-1] if parts and _CONVERSATION.fullmatch(parts[-1]) else None


def unfit(
    channel_type: ChannelType, url: str, connector_type: str, params: dict[str, str]
) -> tuple[str, str] | None:
    """Why a connector of ``connector_type`` with ``params`` cannot post to a channel of
    ``channel_type`` at ``url``: (the field at fault, the reason); None when it can."""
    if not posts_to(channel_type, connector_type):
        wanted = " or ".join(sorted(CONNECTOR_TYPES[channel_type]))
        return "connectorId", (
            f"a {channel_type.value} channel needs a connector of type {wanted}, "
            f"not {connector_type}"
        )
    if not can_post(channel_type, params):
        needs = "a url (its incoming webhook)" + (
            " or a token (a bot's)" if channel_type is ChannelType.SLACK else ""
        )
        return "connectorId", f"the connector has no url: it needs {needs}"
    if not params.get("url") and slack_conversation(url) is None:
        return "url", "a Slack bot posts to the channel its link names (…/archives/C…)"
    return None


def checked_channel(name: Any, url: Any, channel_type: Any) -> dict[str, str]:
    """The channel's own fields, checked (the connector is checked where it is known)."""
    return {
        "name": checked_name(name, "name", 255),
        "url": checked_url("url", url),
        "channel_type": checked_type(channel_type).value,
    }


def channel_chain_id(incident_stream: UUID, channel_id: int) -> UUID:
    """The delivery chain of one channel of one incident: its posts go out in event order."""
    return uuid5(CHAIN_NAMESPACE, f"{incident_stream}/channel/{channel_id}")


def channel_delivery_id(position: int, channel_id: int) -> str:
    """``<position of the event>-<channel id>-channel``: stable across retries and restarts,
    so planning an event twice is a no-op (the outbox inserts on conflict do nothing)."""
    return f"{position}-{channel_id}-channel"
