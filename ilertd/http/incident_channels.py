"""``POST /api/incidents/{id}/channels`` and ``DELETE /api/incidents/{id}/channels/{channel_id}``:
attach a chat channel to an incident, and detach it (as ``/api/alerts/{id}/channels``).

The connector is checked here, where the connectors read model is known: it must exist, be
visible to the caller, be of the channel's type and hold what it posts with (an incoming
webhook URL, or for Slack a bot token).
The incident's aggregate records the attachment; the outbox then plans a post of every later
timeline event to the channel (``projections/outbox_channels.py``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from projections.outbound_config import connector_by_id, row_teams
from projections.team_scope import visible

from ..contract.common import ID_PARAM
from ..contract.incident_channels import IncidentChannelIn
from ..domain.errors import DomainError
from ..domain.incident import Incident
from ..domain.incident_channel import ChannelType, checked_channel, unfit
from .context import runtime
from .incidents import INCIDENT_ID, ITEM, ONE, _act, _path_int, _write
from .routes import Answer, Call, Param
from .team_access import viewer
from .writes import bad, domain_problem, parse_id

Actor = dict[str, Any]
CHANNEL_ID = Param("channel_id", "path", ID_PARAM, "the channel's id (per incident)")


async def _connector(request: web.Request, call: Call, body: IncidentChannelIn) -> int:
    """The id of the connector that posts to the channel; 400 ``connectorId`` unless it
    exists, is visible to the caller, is of the channel's type and has a URL."""
    channel_type = ChannelType(body.type)  # the contract admits these values only
    raw = body.connectorId
    connector_id = parse_id(raw) if isinstance(raw, str) else raw
    parts = runtime(request)
    row = (
        None
        if connector_id is None
        else await connector_by_id(parts.pool, connector_id, parts.sealer)
    )
    if row is None or not await visible(parts.pool, viewer(call.caller), row_teams(row)):
        raise bad("connectorId", "no such connector")
    settings = row["settings"]
    problem = unfit(channel_type, body.url.strip(), settings["connector_type"], settings["params"])
    if problem is not None:
        raise bad(*problem)
    return connector_id  # type: ignore[return-value]


async def attach_channel(request: web.Request, call: Call) -> web.Response:
    body: IncidentChannelIn = call.body
    try:  # the channel's own fields first: the aggregate checks them again, the same way
        checked_channel(body.name, body.url, body.type)
    except DomainError as exc:
        raise domain_problem(exc) from None
    connector_id = await _connector(request, call, body)

    def command(incident: Incident, actor: Actor) -> None:
        incident.attach_channel(
            name=body.name,
            url=body.url,
            channel_type=body.type,
            connector_id=connector_id,
            actor=actor,
        )

    return await _act(request, call, command, 201)


async def detach_channel(request: web.Request, call: Call) -> web.Response:
    channel_id = _path_int(request, "channel_id", "channel")
    await _act(request, call, lambda incident, actor: incident.detach_channel(channel_id, actor))
    return web.Response(status=204)


ROUTES = (
    _write(
        "POST",
        f"{ITEM}/channels",
        attach_channel,
        "attachIncidentChannel",
        "Attach a Slack, Microsoft Teams or Google Chat channel: every later timeline event "
        "of the incident is posted to it through its connector",
        body=IncidentChannelIn,
        answers={201: ONE},
    ),
    _write(
        "DELETE",
        f"{ITEM}/channels/{{channel_id}}",
        detach_channel,
        "detachIncidentChannel",
        "Detach a channel: nothing more is posted to it",
        params=(INCIDENT_ID, CHANNEL_ID),
        answers={204: Answer("Detached")},
    ),
)
