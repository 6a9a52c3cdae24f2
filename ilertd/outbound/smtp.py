"""Sending e-mail over SMTP (aiosmtplib), for the e-mail alert action and pager notifications.

One connection per message: alert mail is rare enough that pooling would only add state
that can go stale. Failures become ``SmtpDeliveryError`` with ``permanent`` telling the
caller whether a retry can help:

- permanent: the server answered 5xx (recipient, sender, message or login refused), or it
  lacks something the settings require (STARTTLS, AUTH, SMTPUTF8): the same attempt would
  get the same answer.
- retryable: 4xx answers, refused or dropped connections, timeouts and TLS handshake or
  certificate failures, which the server or its operator may fix before the next attempt.

If the server takes the message for some recipients and refuses others, the message counts
as sent (a retry would duplicate it for the rest); the refusals are logged.

``security``: ``"none"`` never encrypts; ``"starttls"`` requires the upgrade and refuses to
send in clear text when the server does not offer it; ``"tls"`` is implicit TLS (port 465).
``timeout_s`` bounds each step (connect, each command), not the whole exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib
import structlog

from .mime import RawMessage

log = structlog.get_logger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")

#: Hands the message to a connected client: (refused recipients, final answer).
Transmit = Callable[[aiosmtplib.SMTP], Awaitable[tuple[dict[str, aiosmtplib.SMTPResponse], str]]]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over. The password never appears in ``repr``."""

    host: str
    port: int = 25
    security: str = "starttls"  # "none" | "starttls" | "tls"
    username: str | None = None
    password: str | None = None
    sender: str = "ilertd@localhost"
    timeout_s: float = 10.0
    validate_certs: bool = True

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}, not {self.security!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1..65535, not {self.port}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {self.timeout_s}")

    def __repr__(self) -> str:
        password = None if self.password is None else "***"
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, password={password!r}, sender={self.sender!r}, "
            f"timeout_s={self.timeout_s}, validate_certs={self.validate_certs})"
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class SmtpDeliveryError(Exception):
    """The message was not sent; ``permanent`` says a retry cannot help, ``code`` the answer."""

    def __init__(self, message: str, permanent: bool, *, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


async def send_email(settings: SmtpSettings, message: EmailMessage) -> str:
    """Send ``message`` to its To/Cc/Bcc recipients; return the server's final answer text.

    ``From`` (and ``Date``, ``Message-ID``) are filled in on a copy when missing; the
    envelope sender is always ``settings.sender``, the address the relay knows us by.
    Raises SmtpDeliveryError, or ValueError for a message without recipients.
    """
    prepared = _prepared(message, settings.sender)
    return await _logged(
        settings,
        _deliver(settings, lambda client: client.send_message(prepared, sender=settings.sender)),
    )


async def _logged(settings: SmtpSettings, delivery: Awaitable[str]) -> str:
    """Await ``delivery``, logging its outcome (never the message or the password)."""
    try:
        response = await delivery
    except SmtpDeliveryError as exc:
        log.warning(
            "email not sent",
            smtp=settings.address,
            permanent=exc.permanent,
            code=exc.code,
            error=str(exc),
        )
        raise
    log.info("email sent", smtp=settings.address, response=response)
    return response


def _prepared(message: EmailMessage, sender: str) -> EmailMessage:
    """The message with the headers RFC 5322 requires, without touching the caller's copy."""
    if all(header in message for header in ("From", "Date", "Message-ID")):
        return message
    prepared = copy.deepcopy(message)
    if "From" not in prepared:
        prepared["From"] = sender
    if "Date" not in prepared:
        prepared["Date"] = formatdate(usegmt=True)
    if "Message-ID" not in prepared:
        # An explicit domain: the default calls getfqdn(), which can block on DNS.
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        prepared["Message-ID"] = make_msgid(domain=domain)
    return prepared


_local_hostname: str | None = None


async def local_hostname() -> str:
    """This host's name for EHLO, looked up once: aiosmtplib would otherwise run
    ``socket.getfqdn`` (a DNS lookup, in a thread) for every connection."""
    global _local_hostname
    if _local_hostname is None:
        _local_hostname = await asyncio.to_thread(socket.getfqdn) or "localhost"
    return _local_hostname


async def _connected(settings: SmtpSettings) -> aiosmtplib.SMTP:
    """A client connected, upgraded (STARTTLS) and logged in as the settings say."""
    client = aiosmtplib.SMTP(
        local_hostname=await local_hostname(),
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security == "tls",
        start_tls=False,  # upgraded below, so a server without STARTTLS is an error
        validate_certs=settings.validate_certs,
        timeout=settings.timeout_s,
    )
    with _failures(settings, "connect"):
        await client.connect()
    try:
        if settings.security == "starttls":
            with _failures(settings, "STARTTLS"):
                await _start_tls(client, settings)
        if settings.username is not None:
            with _failures(settings, "login"):
                await _login(client, settings)
    except BaseException:
        client.close()
        raise
    return client


async def _quit(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await client.quit()
    client.close()


async def _transmitted(settings: SmtpSettings, client: aiosmtplib.SMTP, transmit: Transmit) -> str:
    with _failures(settings, "send"):
        refused, response = await transmit(client)
    if refused:
        log.warning(
            "email refused for some recipients",
            smtp=settings.address,
            refused={address: answer.code for address, answer in refused.items()},
        )
    return response


async def _deliver(settings: SmtpSettings, transmit: Transmit) -> str:
    client = await _connected(settings)
    try:
        return await _transmitted(settings, client, transmit)
    finally:
        await _quit(client)


class SmtpSender:
    """Sends messages to one server over connections kept open between them.

    Opening a connection (TCP, banner, EHLO, STARTTLS, AUTH) and closing it (QUIT) costs
    more than the message itself: in a storm of pages, one connection per message halved
    what the engine could send. A connection that delivered a message goes back to the
    pool for ``idle_s``; any failure closes it. A kept connection the server has closed
    meanwhile fails at once; the message is then sent again over a new one. (Should the
    server have dropped it in the middle of the data, the recipient may get the page
    twice: a page is delivered at least once, never lost.)
    """

    def __init__(self, settings: SmtpSettings, *, max_idle: int = 8, idle_s: float = 5.0):
        self.settings = settings
        self.max_idle = max_idle
        self.idle_s = idle_s
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []

    async def send_raw(self, message: RawMessage) -> str:
        """Send a message written by ``mime``; raises SmtpDeliveryError."""
        return await _logged(
            self.settings,
            self._send(
                lambda client: client.sendmail(
                    self.settings.sender, list(message.recipients), message.data
                )
            ),
        )

    async def _send(self, transmit: Transmit) -> str:
        client = self._take()
        if client is not None:
            try:
                response = await _transmitted(self.settings, client, transmit)
            except SmtpDeliveryError as exc:
                client.close()
                if exc.permanent or exc.code is not None:
                    raise  # the server answered: a new connection would get the same
            else:
                self._keep(client)
                return response
        client = await _connected(self.settings)
        try:
            response = await _transmitted(self.settings, client, transmit)
        except BaseException:
            client.close()
            raise
        self._keep(client)
        return response

    def _take(self) -> aiosmtplib.SMTP | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            since, client = self._idle.pop()
            if now - since < self.idle_s and client.is_connected:
                return client
            client.close()
        return None

    def _keep(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) >= self.max_idle or not client.is_connected:
            client.close()
            return
        self._idle.append((asyncio.get_running_loop().time(), client))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for _, client in idle))


async def _start_tls(client: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
    await client.ehlo()
    if not client.supports_extension("starttls"):
        raise SmtpDeliveryError(
            f"SMTP server {settings.address} does not offer STARTTLS, and security='starttls'"
            " forbids sending in clear text",
            permanent=True,
        )
    await client.starttls()


async def _login(client: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
    assert settings.username is not None
    if settings.security == "none":
        log.warning("smtp credentials sent without TLS", smtp=settings.address)
    await client.login(settings.username, settings.password or "")


@contextmanager
def _failures(settings: SmtpSettings, step: str) -> Iterator[None]:
    """Turn aiosmtplib and socket errors during ``step`` into SmtpDeliveryError."""
    try:
        yield
    except aiosmtplib.SMTPException as exc:
        raise _classified(exc, settings, step) from exc
    except (OSError, TimeoutError) as exc:  # TLS handshake and certificate errors among them
        raise SmtpDeliveryError(
            f"SMTP {step} with {settings.address} failed: {exc}", permanent=False
        ) from exc


def _classified(
    exc: aiosmtplib.SMTPException, settings: SmtpSettings, step: str
) -> SmtpDeliveryError:
    where = f"SMTP {step} with {settings.address} failed"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        codes = [refusal.code for refusal in exc.recipients]
        return SmtpDeliveryError(
            f"{where}: every recipient refused ({answers})",
            permanent=all(_is_permanent(code) for code in codes),
            code=codes[0] if codes else None,
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpDeliveryError(
            f"{where}: {exc.code} {exc.message}", permanent=_is_permanent(exc.code), code=exc.code
        )
    transient = (
        aiosmtplib.SMTPTimeoutError,
        aiosmtplib.SMTPConnectError,
        aiosmtplib.SMTPServerDisconnected,
    )
    # Any other SMTPException is the server lacking something required (AUTH, SMTPUTF8).
    return SmtpDeliveryError(f"{where}: {exc.message}", permanent=not isinstance(exc, transient))


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600
