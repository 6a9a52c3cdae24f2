"""Slack's Web API ``chat.postMessage``, for a Slack connector holding a bot token instead
of an incoming-webhook URL: the channel is named by its id, taken from the channel's link
(``domain.incident_channel.slack_conversation``).

Slack answers HTTP 200 even when it refuses (``{"ok": false, "error": "channel_not_found"}``),
so the result is read from the body: errors a retry can fix are retried, the others
(a revoked token, a channel the bot is not in) are dead letters at once.
"""

from __future__ import annotations

from typing import Any

import orjson

from .request import OutboundRequest, json_request
from .targets import SendResult, excerpt, http_result

DEFAULT_API_URL = "https://slack.com/api"
CONTENT_TYPE = "application/json; charset=utf-8"
#: ``error`` values Slack documents as temporary.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def build_post_message(
    api_url: str, token: str, channel: str, message: dict[str, Any]
) -> OutboundRequest:
    """POST ``message`` (``text`` and ``blocks``) to ``channel`` with a bot token."""
    body = orjson.dumps({**message, "channel": channel, "unfurl_links": False})
    request = json_request(
        f"{api_url.rstrip('/')}/chat.postMessage", body, content_type=CONTENT_TYPE
    )
    return request.with_headers((("Authorization", f"Bearer {token}"),))


def post_message_result(status: int, body: bytes) -> SendResult:
    """Slack's answer as a result: ``ok`` in the body, not the HTTP status, says it."""
    if status != 200:
        return http_result(status, body)
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return SendResult(False, status, excerpt(body), "Slack answered no JSON")
    if isinstance(answer, dict) and answer.get("ok") is True:
        return SendResult(True, status, excerpt(body), external_ref=answer.get("ts"))
    error = str(answer.get("error") if isinstance(answer, dict) else "") or "not ok"
    return SendResult(
        False,
        status,
        excerpt(body),
        f"Slack: {error[:100]}",
        permanent=error not in RETRYABLE_ERRORS,
    )
