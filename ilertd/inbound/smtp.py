"""The inbound e-mail listener: mail to ``<integrationKey>@<inbound_email.domain>`` of an
EMAIL alert source opens (or joins) an alert, through the Events API's ingest command.

An aiosmtpd server in the daemon's own event loop (not aiosmtpd's threaded Controller: the
database pool belongs to this loop). SMTP replies carry what HTTP statuses carry for the
Events API:

- RCPT: 550 for an address that is no EMAIL source's key on this domain, or a disabled
  source; 451 while the database cannot answer. The key is never echoed or logged.
- DATA: 552 over ``inbound_email.max_message_bytes`` (also advertised as SIZE in EHLO);
  451 over the key's rate limit (the Events API's bucket, shared) or on a database error,
  so the sending server retries; 250 only once the alert's event is committed, so a read
  after the 250 sees the alert (read your writes). A retry of a message (same Message-ID,
  or the same bytes) is idempotent: it writes nothing and gets 250 again.

aiosmtpd logs each recipient at INFO; its logger is held at WARNING so no integration key
reaches the logs, and ilertd logs source ids only, never an address or a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from ..alerts.ingest import SUPPRESSED
from ..config import Config
from ..domain.errors import DomainError
from .email import EMAIL_TYPES, InboundMail, mail_alert, message_digest, parse_mail
from .replays import first_answer

if TYPE_CHECKING:
    from ..http.ratelimit import RateLimiter
    from ..runtime import Runtime

log = structlog.get_logger(__name__)

#: Recipients one message may have (each an alert source): more get 452, as RFC 5321 says.
MAX_RECIPIENTS = 20
#: Longest an idle SMTP connection is kept.
SESSION_TIMEOUT_S = 60.0
#: What a temporary failure at the database looks like (the sender retries on a 451).
TEMPORARY = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

NO_MAILBOX = "550 5.1.1 No such mailbox here"
DISABLED = "550 5.7.1 This alert source is disabled"
TRY_LATER = "451 4.3.0 Temporary failure, try again later"


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    domain: str
    max_message_bytes: int


def email_settings(config: Config) -> EmailSettings | None:
    """The listener's settings; None when ``inbound_email.listen`` is empty (off)."""
    listen = config["inbound_email.listen"]
    if not listen:
        return None
    host, _, port = listen.rpartition(":")
    return EmailSettings(
        host.strip("[]"),
        int(port),
        config["inbound_email.domain"].strip().casefold(),
        config["inbound_email.max_message_bytes"],
    )


class MailHandler:
    """aiosmtpd's handler: RCPT checks the recipient, DATA ingests the message."""

    def __init__(self, runtime: Runtime, limiter: RateLimiter, domain: str) -> None:
        self._runtime = runtime
        self._limiter = limiter
        self._domain = domain
        #: DATA commands being handled; shutdown waits for them
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def _source(self, address: str) -> asyncpg.Record | None:
        """The EMAIL alert source whose key is the local part of ``address`` here."""
        local, at, domain = address.rpartition("@")
        if not at or not local or domain.casefold() != self._domain:
            return None
        source = await self._runtime.source_with_key(local)
        if source is None and local != local.lower():
            source = await self._runtime.source_with_key(local.lower())
        if source is None or source["integration_type"] not in EMAIL_TYPES:
            return None
        return source

    async def handle_RCPT(  # aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            source = await self._source(address)
        except Exception as exc:  # never a 5xx for our own failure: the sender retries
            log.warning("inbound mail: recipient lookup failed", error=type(exc).__name__)
            return TRY_LATER
        if source is None:
            return NO_MAILBOX
        if not source["active"]:
            return DISABLED
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.in_flight += 1
        self.idle.clear()
        try:
            return await self._deliver(envelope)
        except Exception as exc:  # a bug: logged without its text (it may quote the mail)
            # and answered as temporary, so the message is not lost
            log.error("inbound mail: delivery failed unexpectedly", error=type(exc).__name__)
            return TRY_LATER
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def _deliver(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail = parse_mail(raw)
        digest = message_digest(mail, raw)
        replies = []
        for address in envelope.rcpt_tos:
            try:
                replies.append(await self._ingest(address, mail, digest))
            except TEMPORARY as exc:
                log.warning("inbound mail: ingest failed", error=type(exc).__name__)
                replies.append(TRY_LATER)
        # a temporary failure for any recipient: the whole message is retried, and the
        # recipients already done replay their first answer (idempotent) without writing
        for reply in replies:
            if reply.startswith("4"):
                return reply
        delivered = [reply for reply in replies if reply.startswith("2")]
        if not delivered:
            return replies[0] if replies else NO_MAILBOX
        return delivered[0] if len(delivered) == 1 else "250 2.0.0 OK"

    async def _ingest(self, address: str, mail: InboundMail, digest: str) -> str:
        source = await self._source(address)  # again: it may have changed since RCPT
        if source is None:
            return NO_MAILBOX
        if not source["active"]:
            return DISABLED
        wait = self._limiter.allow(source["integration_key"])
        if wait:
            return f"451 4.7.0 Over the rate limit of this alert source, retry in {wait:.0f} s"
        idempotency = f"email:{source['id']}:{digest}"
        runtime = self._runtime
        earlier = await first_answer(runtime.pool, idempotency)
        if earlier is not None:
            return f"250 2.0.0 OK {earlier.code or 'ALREADY_RECEIVED'} (a retry)"
        metadata = {"actor": f"source:{source['id']}", "via": "email"}
        new = mail_alert(mail, source["alert_creation"])
        try:
            outcome = await runtime.alert_commands.ingest_alert(source, new, metadata, idempotency)
        except DomainError:  # too many concurrent events on one subject: try again
            return TRY_LATER
        log.info(
            "inbound mail ingested", source_id=source["id"], code=outcome.code, bytes=len(mail.body)
        )
        if outcome.code == SUPPRESSED:
            return "250 2.0.0 OK MAINTENANCE_WINDOW_ACTIVE, no alert was opened"
        return f"250 2.0.0 OK {outcome.code} alert {outcome.alert_id}"


class MailListener:
    """The SMTP server's lifetime: ``start`` binds, ``stop`` lets messages in flight finish."""

    def __init__(self, runtime: Runtime, limiter: RateLimiter, settings: EmailSettings) -> None:
        self.settings = settings
        self.handler = MailHandler(runtime, limiter, settings.domain)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _protocol(self) -> SMTP:
        smtp = SMTP(
            self.handler,
            data_size_limit=self.settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.settings.domain or "ilertd",
            ident="ilertd",
            timeout=SESSION_TIMEOUT_S,
        )
        self._sessions.add(smtp)
        return smtp

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one chosen for port 0)."""
        assert self._server is not None and self._server.sockets
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        # aiosmtpd logs every recipient (an integration key) and command at INFO
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, self.settings.host, self.settings.port, reuse_address=True
        )
        log.info("inbound mail listening", port=self.port, domain=self.settings.domain)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop accepting, give messages being ingested ``timeout_s`` to commit and be
        answered, then close every connection (an unanswered sender retries)."""
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.handler.idle.wait(), timeout_s)
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout_s)
        self._server = None
        log.info("inbound mail stopped")
