"""Push notifications through an ntfy-compatible server (ntfy.sh or a self-hosted one).

Uses ntfy's JSON publishing: a POST to the server root whose body names the topic, with the
accept/resolve/escalate links as "http" action buttons (ntfy shows at most three), so a
responder acts from the notification without opening anything. The buttons POST to the
signed links; "clear" removes the notification once one was tapped. Notices that ask
for no action (a shift reminder) are a plain title and message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog

from .errors import ProviderError
from .page import Page
from .provider_http import post_for_json

log = structlog.get_logger(__name__)

PRIORITY_LEVELS = {"HIGH": 5, "LOW": 3}  # ntfy: 5 "urgent" (long vibration), 3 "default"
PRIORITY_TAGS = {"HIGH": "rotating_light", "LOW": "warning"}  # emoji shortcodes
_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")


@dataclass(frozen=True)
class NtfySettings:
    """The ntfy server; ``token`` (an access token) never appears in ``repr``."""

    base_url: str
    token: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError("base_url must not contain credentials, a query or a fragment")
        if self.token is not None and (not self.token or not self.token.isprintable()):
            raise ValueError("token must be a non-empty printable string, or None")

    def __repr__(self) -> str:
        token = None if self.token is None else "***"
        return f"NtfySettings(base_url={self.base_url!r}, token={token!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc


class NtfyClient:
    """Publishes pages, and plain notices, to topics; the caller owns ``session`` (and its
    connection policy)."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: NtfySettings, timeout_s: float = 10
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self._session = session
        self._settings = settings
        self._timeout_s = timeout_s
        self._provider = f"ntfy server at {settings.host}"

    async def publish(self, topic: str, page: Page) -> str:
        """Publish ``page`` to ``topic``; return ntfy's message id. Raises ProviderError.

        ValueError for a topic ntfy would not accept (``[-_A-Za-z0-9]{1,64}``).
        """
        check_topic(topic)
        return await self._post(publication(topic, page), alert_id=page.alert_id)

    async def publish_text(
        self, topic: str, title: str, message: str, *, priority: int = 3, click: str | None = None
    ) -> str:
        """Publish a plain notification (a title and a message, no action buttons) to
        ``topic``; return ntfy's message id. Raises ProviderError; ValueError as ``publish``.
        The caller sanitizes ``title`` and ``message``."""
        check_topic(topic)
        return await self._post(notice(topic, title, message, priority=priority, click=click))

    async def _post(self, body: dict[str, Any], **context: Any) -> str:
        """POST one publication; its message id. ``context`` is logged with the outcome."""
        topic = body["topic"]
        headers = {}
        if self._settings.token is not None:
            headers["Authorization"] = f"Bearer {self._settings.token}"
        try:
            answer = await post_for_json(
                self._session,
                self._settings.base_url.rstrip("/") + "/",
                provider=self._provider,
                timeout_s=self._timeout_s,
                json=body,
                headers=headers,
            )
            message_id = answer.get("id")
            if not isinstance(message_id, str) or not message_id:
                raise ProviderError(
                    f"{self._provider} accepted the push but answered without an id",
                    retryable=False,
                )
        except ProviderError as exc:
            log.warning(
                "push not sent",
                provider=self._settings.host,
                topic=topic,
                **context,
                retryable=exc.retryable,
                status=exc.status,
                code=exc.code,
                error=str(exc),
            )
            raise
        log.info(
            "push sent",
            provider=self._settings.host,
            topic=topic,
            **context,
            message_id=message_id,
        )
        return message_id


def check_topic(topic: str) -> None:
    """ValueError unless ``topic`` is a valid ntfy topic name."""
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise ValueError("an ntfy topic is 1..64 letters, digits, '-' or '_'")


def publication(topic: str, page: Page) -> dict[str, Any]:
    """The JSON body ntfy's publish endpoint takes for ``page``."""
    return {
        "topic": topic,
        "title": page.push_title(),
        "message": page.push_message(),
        "priority": PRIORITY_LEVELS[page.priority],
        "tags": [PRIORITY_TAGS[page.priority], "ilertd"],
        "click": page.alert_url,
        "actions": [
            {"action": "http", "label": label, "url": url, "method": "POST", "clear": True}
            for _, label, url in page.actions()
        ],
    }


def notice(
    topic: str, title: str, message: str, *, priority: int = 3, click: str | None = None
) -> dict[str, Any]:
    """The JSON body of a plain notification: no action buttons."""
    body: dict[str, Any] = {
        "topic": topic,
        "title": title,
        "message": message,
        "priority": priority,
        "tags": ["ilertd"],
    }
    if click is not None:
        body["click"] = click
    return body
