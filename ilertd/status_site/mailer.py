"""The subscriber mailer: sends what the status mail outbox owes, and records every outcome.

It runs on the engine's leader beside the dispatcher and the notifier (a ``LeaderWorker``
on ``projections.status_mail``). Each round takes the subscriptions with a ripe mail: a
confirmation at once, news (status updates, maintenance) once the bundling window after it
fell due has passed, so a storm of updates is one mail per subscriber listing them all.
The round's mails go out one after the other over one kept SMTP connection (many
recipients, one connection), then each outcome is appended to its subscription's stream:
``MailSent`` naming the items, or ``MailFailed`` with the next attempt's time (doubling from
``retry_base_s``) or none when out of attempts or refused for good. An item stays busy until
the outbox shows its outcome, so it is never picked twice; a crash between sending and
recording sends it again after the restart (at least once, never lost).

Addresses never reach a log line: lines name the subscription's stream id.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from eventstore.repository import Repository
from projections import ProjectionRunner
from projections.status_mail import next_ripe, ripe

from ..clock import Clock
from ..config import Config
from ..domain.status_subscription import StatusPageSubscription
from ..engine.worker import IDLE_POLL_S, LeaderWorker, Wakeup
from ..notify.notifier import NotifySettings
from ..outbound.mime import RawMessage
from ..outbound.smtp import SmtpDeliveryError, SmtpSender, SmtpSettings
from . import tokens
from .subscriber_mail import confirmation_mail, item_of, news_mail

log = structlog.get_logger(__name__)

#: Subscriptions served per round.
BATCH = 200


@dataclass(frozen=True)
class MailerSettings:
    public_url: str
    link_secret: bytes
    smtp: SmtpSettings | None
    window_s: float = 60.0
    confirm_ttl_s: int = 172_800
    max_attempts: int = 5
    retry_base_s: float = 10.0


def mailer_settings(config: Config, notify: NotifySettings) -> MailerSettings:
    """The notifier's SMTP server, public URL, link secret and retry base; the window and
    link lifetime of their own."""
    return MailerSettings(
        public_url=notify.public_url,
        link_secret=notify.link_secret,
        smtp=notify.smtp,
        window_s=config["notify.status_mail_window_s"],
        confirm_ttl_s=config["notify.status_confirm_ttl_s"],
        retry_base_s=notify.retry_base_s,
    )


class QuietSender(SmtpSender):
    """Sends without the base class's log lines: a refusal's text quotes the address."""

    async def send_raw(self, message: RawMessage) -> str:
        return await self._send(
            lambda client: client.sendmail(
                self.settings.sender, list(message.recipients), message.data
            )
        )


def links(
    settings: MailerSettings, slug: str, stream: UUID, round_: int, since: datetime
) -> tuple[str, str, datetime]:
    """(confirm link, unsubscribe link, when the confirm link expires)."""
    expires = since + timedelta(seconds=settings.confirm_ttl_s)
    confirm = tokens.make(
        settings.link_secret, tokens.Token(tokens.Purpose.CONFIRM, stream.hex, round_, expires)
    )
    unsubscribe = tokens.make(
        settings.link_secret, tokens.Token(tokens.Purpose.UNSUBSCRIBE, stream.hex, 0, None)
    )
    base = f"{settings.public_url}/status/{slug}/subscriptions"
    return f"{base}/confirm?token={confirm}", f"{base}/unsubscribe?token={unsubscribe}", expires


class SubscriberMailer(LeaderWorker):
    projection = "status_mail"

    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: Repository,
        runner: ProjectionRunner,
        clock: Clock,
        settings: MailerSettings,
        *,
        woken_by: Wakeup,
    ) -> None:
        # one task at a time: the round's mails share one SMTP connection
        super().__init__(runner, 1, woken_by)
        self.pool = pool
        self.repository = repository
        self.clock = clock
        self.settings = settings
        self._smtp: SmtpSender | None = None
        self.sent = 0

    async def _open(self) -> None:
        if self.settings.smtp is not None:
            self._smtp = QuietSender(self.settings.smtp, max_idle=1, idle_s=30.0)

    async def _close(self) -> None:
        if self._smtp is not None:
            await self._smtp.close()
            self._smtp = None

    async def _round(self) -> float:
        if self._smtp is None or self.free <= 0:
            return IDLE_POLL_S if self._smtp is not None else 60.0
        now = self.clock.now()
        window = timedelta(seconds=self.settings.window_s)
        busy = [UUID(key) for key in self._busy()]
        items = await ripe(self.pool, now, window, busy, BATCH)
        if items:
            groups: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
            for item in items:
                groups[item["subscription"]].append(item)
            self._start([str(stream) for stream in groups], lambda: self._send_all(groups))
            return IDLE_POLL_S
        upcoming = await next_ripe(self.pool, window)
        if upcoming is None:
            return IDLE_POLL_S * 10
        return max(0.05, min(IDLE_POLL_S * 10, (upcoming - now).total_seconds()))

    async def _send_all(self, groups: dict[UUID, list[dict[str, Any]]]) -> int | None:
        """Send each subscription's mails in turn, then record every outcome together. When
        the server cannot be reached (no answer code), the round's other mails are not
        tried: they count the same failed attempt, so all of them back off together."""
        outcomes: list[tuple[UUID, list[str], str | None, SmtpDeliveryError | None, int]] = []
        unreachable: SmtpDeliveryError | None = None
        for stream, items in groups.items():
            confirms = [i for i in items if i["kind"] == "confirm"]
            news = [i for i in items if i["kind"] != "confirm"]
            for part in (confirms, news):
                if not part:
                    continue
                if unreachable is not None:
                    attempts = max(item["attempts"] for item in part) + 1
                    outcomes.append((stream, [i["id"] for i in part], None, unreachable, attempts))
                    continue
                outcome = await self._send(stream, part)
                failure = outcome[3]
                if failure is not None and failure.code is None and not failure.permanent:
                    unreachable = failure
                outcomes.append(outcome)
        results = await asyncio.gather(*(self._record(*outcome) for outcome in outcomes))
        positions = [p for p in results if p is not None]
        return max(positions) if positions else None

    async def _send(
        self, stream: UUID, items: list[dict[str, Any]]
    ) -> tuple[UUID, list[str], str | None, SmtpDeliveryError | None, int]:
        assert self._smtp is not None
        first = items[0]
        attempts = max(item["attempts"] for item in items) + 1
        ids = [item["id"] for item in items]
        if first["kind"] == "confirm":
            latest = max(items, key=lambda i: i["ref"])
            confirm, unsubscribe, expires = links(
                self.settings, first["slug"], stream, latest["ref"], latest["due_at"]
            )
            message = confirmation_mail(
                self.settings.smtp.sender,  # type: ignore[union-attr]
                first["email"],
                first["name"],
                confirm,
                unsubscribe,
                expires,
            )
        else:
            _, unsubscribe, _ = links(self.settings, first["slug"], stream, 0, first["due_at"])
            message = news_mail(
                self.settings.smtp.sender,  # type: ignore[union-attr]
                first["email"],
                first["name"],
                f"{self.settings.public_url}/status/{first['slug']}",
                [item_of(i["kind"], i["content"], i["due_at"]) for i in items],
                unsubscribe,
            )
        try:
            await self._smtp.send_raw(message)
        except SmtpDeliveryError as exc:
            log.warning(
                "status mail not sent",
                subscription=str(stream),
                items=len(ids),
                attempt=attempts,
                permanent=exc.permanent,
                code=exc.code,
            )
            return stream, ids, None, exc, attempts
        self.sent += 1
        log.info("status mail sent", subscription=str(stream), items=len(ids))
        return stream, ids, message.message_id, None, attempts

    async def _record(
        self,
        stream: UUID,
        ids: list[str],
        message_id: str | None,
        failure: SmtpDeliveryError | None,
        attempts: int,
    ) -> int | None:
        retry_at = None
        if failure is not None and not failure.permanent and attempts < self.settings.max_attempts:
            delay = self.settings.retry_base_s * 2 ** (attempts - 1)
            retry_at = self.clock.now() + timedelta(seconds=delay)

        def command(subscription: StatusPageSubscription) -> None:
            if failure is None:
                subscription.mail_sent(ids, message_id or "")
            else:
                subscription.mail_failed(ids, attempts, retry_at, failure.code)

        _, result = await self.repository.change(
            stream, command, metadata={"actor": "system:status-mail"}
        )
        return result.last_position if result is not None else None
