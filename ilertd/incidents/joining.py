"""Joining an incident from a page's signed link (``GET``/``POST /r/{token}``, action
``join``): the link names the incident and the user, so no login is needed, and the join
is the same ``incident-responder-joined`` event the API records, which stops the page."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..domain.errors import DomainError
from ..notify.links import ActionLink
from .commands import IncidentNotFoundError

if TYPE_CHECKING:
    from ..runtime import Runtime


async def join_prompt(parts: Runtime, link: ActionLink) -> tuple[str, str]:
    """The confirmation page's title and body (only its POST joins)."""
    row = await parts.pool.fetchrow(
        "SELECT reference, title FROM incidents WHERE id = $1", link.alert_id
    )
    if row is None:
        return "No such incident", "<p>The incident no longer exists.</p>"
    return (
        f"Join {row['reference']}?",
        f"<p>{html.escape(row['title'])}</p>"
        "<form method='post'><button type='submit' style='font-size:1.4em;padding:.5em 1em'>"
        "Join</button></form>",
    )


async def join_by_link(parts: Runtime, link: ActionLink) -> tuple[bool, str]:
    """Join; (True, text) or (False, why not)."""
    actor = {"type": "user", "id": link.user_id}
    metadata = {"actor": f"user:{link.user_id}", "channel": "link"}
    try:
        incident, position = await parts.incident_commands.act(
            link.alert_id, lambda incident: incident.join(link.user_id, actor), metadata
        )
    except IncidentNotFoundError:
        return False, "the incident does not exist"
    except DomainError as exc:
        return False, str(exc)
    if position is not None:
        await parts.runner.wait_for(position)
    return True, f"You joined {incident.reference}."
