"""Sending one delivery to its target: build the request, send it, say what happened.

The builders (payload, slack, teams, google_chat, jira, email_message) are pure; this is
the one module that talks to the network for them. Every outcome is a ``SendResult``:
success, a retryable failure (5xx, 408, 429, timeouts, connection errors) or a permanent
one (other 4xx, a refused destination, a broken configuration), so the dispatcher decides
between retry and dead letter without knowing any target.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from . import jira
from .email_message import build_email
from .google_chat import build_google_chat
from .guard import DestinationDeniedError, NetworkPolicy, check_url
from .payload import build_webhook
from .request import OutboundRequest
from .signing import delivery_headers
from .slack import build_slack
from .smtp import SmtpDeliveryError, SmtpSettings, send_email
from .teams import build_teams

#: Bytes of a response kept for the timeline and logs.
RESPONSE_EXCERPT = 512
RETRYABLE_STATUS = frozenset({408, 425, 429})
_BUILDERS = {
    "slack_webhook": build_slack,
    "microsoft_teams_webhook": build_teams,
    "google_chat_webhook": build_google_chat,
}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    response: str = ""
    error: str = ""
    permanent: bool = False
    #: What the target created, kept for later deliveries (a Jira issue key).
    external_ref: str | None = None
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """Everything one attempt needs, resolved by the dispatcher."""

    delivery_id: str
    event_type: str
    action: dict[str, Any]  # settings of the alert action
    signing_secret: str
    connector: dict[str, Any] | None  # settings of its connector, credentials included
    alert: dict[str, Any]  # the Alert object as of the triggering event
    alert_url: str
    external_ref: str | None  # from an earlier success of the same chain


class ConfigurationError(ValueError):
    """The action cannot be sent as configured (no URL, no SMTP server...)."""


def excerpt(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if len(text) <= RESPONSE_EXCERPT else text[:RESPONSE_EXCERPT] + "…"


class Sender:
    """Sends deliveries over one HTTP session and the configured SMTP server."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: NetworkPolicy,
        smtp: SmtpSettings | None,
        timeout_s: float,
    ) -> None:
        self.session = session
        self.policy = policy
        self.smtp = smtp
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, delivery: Delivery) -> SendResult:
        started = time.perf_counter()
        try:
            result = await self._send(delivery)
        except ConfigurationError as exc:
            result = SendResult(False, error=str(exc), permanent=True)
        except DestinationDeniedError as exc:
            result = SendResult(False, error=str(exc), permanent=True)
        except ValueError as exc:  # a builder refused the input (bad header, address...)
            result = SendResult(False, error=f"cannot build the request: {exc}", permanent=True)
        elapsed = (time.perf_counter() - started) * 1000
        return SendResult(**{**result.__dict__, "duration_ms": round(elapsed, 1)})

    async def post(
        self,
        request: OutboundRequest,
        delivery_id: str,
        event_type: str,
        interpret: Callable[[int, bytes], SendResult] | None = None,
    ) -> SendResult:
        """Send a request built elsewhere (an incident channel's post), guarded and timed
        like ``send``; it carries the delivery's id but no signature: a chat webhook checks
        none, its URL is the credential. ``interpret`` reads an answer whose status does
        not tell (Slack's Web API); by default the status decides."""
        started = time.perf_counter()
        try:
            check_url(request.url, self.policy)
            headers = (("X-Ilertd-Delivery", delivery_id), ("X-Ilertd-Event", event_type))
            status, body = await self._exchange(request.with_headers(headers))
            result = (
                SendResult(False, error=body.decode())
                if status is None
                else (interpret or http_result)(status, body)
            )
        except DestinationDeniedError as exc:
            result = SendResult(False, error=str(exc), permanent=True)
        except ValueError as exc:
            result = SendResult(False, error=f"cannot build the request: {exc}", permanent=True)
        elapsed = (time.perf_counter() - started) * 1000
        return SendResult(**{**result.__dict__, "duration_ms": round(elapsed, 1)})

    async def _send(self, delivery: Delivery) -> SendResult:
        kind = delivery.action["connector_type"]
        if kind == "email":
            return await self._send_email(delivery)
        if kind == "jira":
            return await self._send_jira(delivery)
        return await self._http(delivery, self._chat_or_webhook(kind, delivery))

    def _url(self, delivery: Delivery, key: str) -> str:
        url = delivery.action["params"].get(key) or (delivery.connector or {}).get(
            "params", {}
        ).get("url")
        if not url:
            raise ConfigurationError(f"no {key} in the action and no connector URL")
        return url

    def _chat_or_webhook(self, kind: str, delivery: Delivery) -> OutboundRequest:
        if kind == "webhook":
            params = delivery.action["params"]
            return build_webhook(
                self._url(delivery, "webhookUrl"),
                delivery.alert,
                delivery.event_type,
                delivery.alert_url,
                body_template=params.get("bodyTemplate"),
                headers=[(h["key"], h["value"]) for h in params.get("headers") or []],
            )
        builder = _BUILDERS.get(kind)
        if builder is None:
            raise ConfigurationError(f"ilertd cannot deliver to {kind}")
        return builder(
            self._url(delivery, "url"), delivery.alert, delivery.event_type, delivery.alert_url
        )

    async def _http(self, delivery: Delivery, request: OutboundRequest) -> SendResult:
        check_url(request.url, self.policy)
        stamp = int(time.time())
        signed = request.with_headers(
            delivery_headers(
                delivery.delivery_id,
                delivery.event_type,
                stamp,
                request.body,
                delivery.signing_secret.encode(),
            )
        )
        status, body = await self._exchange(signed)
        if status is None:
            return SendResult(False, error=body.decode())
        return http_result(status, body)

    async def _exchange(self, request: OutboundRequest) -> tuple[int | None, bytes]:
        """(status, body), or (None, error text) when no answer came."""
        try:
            async with self.session.request(
                request.method,
                request.url,
                headers=list(request.headers),
                data=request.body,
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                return response.status, await response.content.read(64 * 1024)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationDeniedError):
                raise DestinationDeniedError(
                    exc.os_error.host, exc.os_error.address, exc.os_error.rule
                ) from None
            return None, f"cannot connect: {exc.os_error or exc}".encode()
        except DestinationDeniedError:
            raise
        except TimeoutError:
            return None, f"no answer within {self.timeout.total:g} s".encode()
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"{exc.__class__.__name__}: {exc}".encode()

    async def _send_jira(self, delivery: Delivery) -> SendResult:
        connector = delivery.connector
        if connector is None or connector.get("connector_type") != "jira":
            raise ConfigurationError("a jira action needs its jira connector")
        params = connector["params"]
        base, email = params.get("url"), params.get("email") or params.get("username")
        token = params.get("password") or params.get("apiToken") or params.get("apiKey")
        if not (base and email and token):
            raise ConfigurationError("the jira connector needs url, email and password")
        check_url(base, self.policy)
        action = delivery.action["params"]
        if delivery.external_ref:
            text = jira.comment_text(delivery.alert, delivery.event_type, delivery.alert_url)
            request = jira.build_comment(base, email, token, delivery.external_ref, text)
            status, body = await self._exchange(request)
            if status is None:
                return SendResult(False, error=body.decode())
            result = http_result(status, body)
            return SendResult(**{**result.__dict__, "external_ref": delivery.external_ref})
        request = jira.build_create_issue(
            base,
            email,
            token,
            action["project"],
            action["issueType"],
            delivery.alert,
            delivery.event_type,
            delivery.alert_url,
            summary_template=action.get("summaryTemplate"),
            body_template=action.get("bodyTemplate"),
        )
        status, body = await self._exchange(request)
        if status is None:
            return SendResult(False, error=body.decode())
        result = http_result(status, body)
        if not result.ok:
            return result
        try:
            key = jira.parse_created_issue(status, body)
        except ValueError as exc:
            return SendResult(False, status, excerpt(body), str(exc), permanent=True)
        return SendResult(True, status, excerpt(body), external_ref=key)

    async def _send_email(self, delivery: Delivery) -> SendResult:
        if self.smtp is None:
            raise ConfigurationError("no SMTP server configured (smtp.host)")
        params = delivery.action["params"]
        message = build_email(
            self.smtp.sender,
            params["recipients"],
            delivery.alert,
            delivery.event_type,
            delivery.alert_url,
            subject_template=params.get("subject"),
            body_template=params.get("bodyTemplate"),
        )
        message["X-Ilertd-Delivery"] = delivery.delivery_id
        try:
            answer = await asyncio.wait_for(send_email(self.smtp, message), self.timeout.total)
        except SmtpDeliveryError as exc:
            return SendResult(False, error=str(exc), permanent=exc.permanent)
        except TimeoutError:
            return SendResult(False, error=f"SMTP took over {self.timeout.total:g} s")
        return SendResult(True, response=excerpt(answer))


def http_result(status: int, body: bytes) -> SendResult:
    """2xx succeeds; 408, 425, 429 and 5xx are retried; any other status is permanent."""
    text = excerpt(body)
    if 200 <= status < 300:
        return SendResult(True, status, text)
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS
    return SendResult(False, status, text, f"HTTP {status}", permanent=permanent)
