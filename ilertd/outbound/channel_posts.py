"""One attempt at posting an incident's timeline event to one of its chat channels.

The outbox planned the post from the event (``projections/outbox_channels.py``); this
rebuilds the incident as of that event from its own stream, so a retry an hour later still
says what the event said, finds the channel and its connector, renders the chat's message
and sends it through the dispatcher's ``Sender`` (outbound guard, timeout). The dispatcher
records the outcome (retry, dead letter) as for every other delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from eventstore import RecordedEvent
from eventstore.mapping import EventMapper
from projections.incidents import describe
from projections.outbound_config import connector_by_id

from ..domain.incident_channel import ChannelType, slack_conversation, unfit
from ..incidents.commands import IncidentNotFoundError
from ..incidents.history import incident_state
from ..incidents.views import render
from ..sealing import Sealer
from .incident_chat import build_incident_post, slack_post
from .slack_api import DEFAULT_API_URL, build_post_message, post_message_result
from .targets import Sender, SendResult

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ChannelAttempt:
    """A send result, or why nothing was sent; ``label`` names the channel."""

    result: SendResult | None = None
    skipped: str | None = None
    label: str = ""


def _failed(error: str, label: str) -> ChannelAttempt:
    return ChannelAttempt(result=SendResult(False, error=error, permanent=True), label=label)


async def attempt_post(
    row: asyncpg.Record,
    events: list[RecordedEvent],
    *,
    pool: asyncpg.Pool,
    sealer: Sealer,
    mapper: EventMapper,
    sender: Sender,
    now: datetime,
    public_url: str,
) -> ChannelAttempt:
    """Post the event ``row`` owes (``alert_id``: the incident, ``alert_version``: the
    event's version, ``channel_id``: the channel) to the channel."""
    incident_id, version = row["alert_id"], row["alert_version"]
    try:
        state = incident_state(mapper, events, incident_id, version=version)
    except IncidentNotFoundError:
        return ChannelAttempt(skipped="the incident does not exist")
    channel = next((c for c in state["channels"] if c["id"] == row["channel_id"]), None)
    if channel is None:  # planned only while attached: an event store that lost events
        return ChannelAttempt(skipped="the channel was not attached then")
    channel_type = ChannelType(channel["channel_type"])
    label = f"{channel['name']} ({channel_type.value})"
    connector = await connector_by_id(pool, channel["connector_id"], sealer)
    if connector is None:
        return _failed("its connector was deleted", label)
    settings = connector["settings"]
    params = settings["params"]
    problem = unfit(channel_type, channel["url"], settings["connector_type"], params)
    if problem is not None:  # connectors refuse such a change while a channel uses them
        return _failed(f"its connector no longer fits: {problem[1]}", label)
    event = next(e for e in events if e.version == version)
    _, change = describe(event.type.removeprefix("incident-"), event.data)
    [incident] = await render(pool, [state], now)
    incident_url = f"{public_url}/api/incidents/{incident_id}"
    interpret = None
    try:
        if params.get("url"):
            request = build_incident_post(
                channel_type, params["url"], incident, change, incident_url
            )
        else:  # a Slack bot token: the Web API, to the channel its link names
            conversation = slack_conversation(channel["url"])
            assert conversation is not None  # unfit says so otherwise
            message = slack_post(incident, change, incident_url)
            api_url = params.get("apiUrl") or DEFAULT_API_URL
            request = build_post_message(api_url, params["token"], conversation, message)
            interpret = post_message_result
    except ValueError as exc:  # the stored URL no longer passes the request's checks
        return _failed(f"cannot build the request: {exc}", label)
    result = await sender.post(request, row["id"], row["event_type"], interpret)
    log.info(  # never the URL: a webhook URL is a credential
        "channel post attempted",
        delivery=row["id"],
        incident=incident_id,
        channel=row["channel_id"],
        event_type=row["event_type"],
        ok=result.ok,
        status=result.status_code,
        error=result.error or None,
        ms=result.duration_ms,
    )
    return ChannelAttempt(result=result, label=label)


def context_of(attempt: ChannelAttempt) -> dict[str, Any]:
    """The dispatcher's ``Outcome`` fields of an attempt."""
    return {"result": attempt.result, "skipped": attempt.skipped, "action_label": attempt.label}
