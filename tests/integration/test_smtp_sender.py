"""send_email against a real SMTP server (aiosmtpd on 127.0.0.1): plain, AUTH, TLS, refusals."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ilertd.outbound.mime import alternative_message
from ilertd.outbound.smtp import SmtpDeliveryError, SmtpSender, SmtpSettings, send_email

USERNAME = "alice"
PASSWORD = "s3cret-passw0rd"
QUEUED = "2.0.0 Ok: queued as TEST123"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool
    #: The client's (address, port): one per connection.
    peer: Any = None


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it accepts; some recipients it refuses."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 <refused@example.com>: no such user"
        if address.startswith("later@"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
                peer=session.peer,
            )
        )
        return f"250 {QUEUED}"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and auth_data == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)  # unhandled: aiosmtpd answers 535


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    inbox: Inbox
    port: int


StartServer = Callable[..., Server]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start aiosmtpd servers (keyword arguments go to its SMTP class); all stop at teardown."""
    controllers: list[Controller] = []

    def start(**smtp_options: Any) -> Server:
        inbox = Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
        controller.start()
        controllers.append(controller)
        return Server(inbox, port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A TLS context with a fresh self-signed certificate for localhost / 127.0.0.1."""
    directory: Path = tmp_path_factory.mktemp("smtp-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "1",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def alert_mail(to: str = "oncall@example.com", subject: str = "[ilertd] Disk full") -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Disk /var is 98% full on db-1.\n")
    return message


def settings_for(server: Server, **overrides: Any) -> SmtpSettings:
    options: dict[str, Any] = {"security": "none", "sender": "alerts@ilertd.test", "timeout_s": 3}
    return SmtpSettings(host="127.0.0.1", port=server.port, **(options | overrides))


async def test_plain_send_arrives_with_headers_and_body(start_server: StartServer) -> None:
    server = start_server()
    message = alert_mail()

    response = await send_email(settings_for(server), message)

    assert response == QUEUED
    [received] = server.inbox.received
    assert received.mail_from == "alerts@ilertd.test"
    assert received.rcpt_tos == ["oncall@example.com"]
    assert received.message["From"] == "alerts@ilertd.test"
    assert received.message["To"] == "oncall@example.com"
    assert received.message["Subject"] == "[ilertd] Disk full"
    assert received.message["Date"] and received.message["Message-ID"]
    assert received.message.get_content().splitlines() == ["Disk /var is 98% full on db-1."]
    assert not received.tls
    assert "From" not in message  # the caller's message is left as it was


async def test_an_existing_from_header_is_kept(start_server: StartServer) -> None:
    server = start_server()
    message = alert_mail()
    message["From"] = "ilertd <noreply@ilertd.test>"

    await send_email(settings_for(server), message)

    [received] = server.inbox.received
    assert received.message["From"] == "ilertd <noreply@ilertd.test>"
    assert received.mail_from == "alerts@ilertd.test"  # the envelope sender stays ours


async def test_login_with_the_right_password(start_server: StartServer) -> None:
    server = start_server(authenticator=authenticator, auth_require_tls=False)
    settings = settings_for(server, username=USERNAME, password=PASSWORD)

    await send_email(settings, alert_mail())

    [received] = server.inbox.received
    assert received.authenticated


async def test_a_wrong_password_is_a_permanent_failure(start_server: StartServer) -> None:
    server = start_server(authenticator=authenticator, auth_require_tls=False)
    settings = settings_for(server, username=USERNAME, password="wrong")

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings, alert_mail())

    assert caught.value.permanent
    assert caught.value.code == 535
    assert "login" in str(caught.value)
    assert "wrong" not in str(caught.value)
    assert server.inbox.received == []


async def test_starttls_with_a_self_signed_certificate(
    start_server: StartServer, server_tls: ssl.SSLContext
) -> None:
    # auth_require_tls (the default) proves the login happens after the upgrade.
    server = start_server(tls_context=server_tls, authenticator=authenticator)
    settings = settings_for(
        server,
        security="starttls",
        validate_certs=False,
        username=USERNAME,
        password=PASSWORD,
    )

    assert await send_email(settings, alert_mail()) == QUEUED

    [received] = server.inbox.received
    assert received.tls and received.authenticated


async def test_starttls_with_an_untrusted_certificate_is_retryable(
    start_server: StartServer, server_tls: ssl.SSLContext
) -> None:
    server = start_server(tls_context=server_tls)
    settings = settings_for(server, security="starttls", validate_certs=True)

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings, alert_mail())

    assert not caught.value.permanent
    assert "certificate" in str(caught.value).lower()
    assert server.inbox.received == []


async def test_starttls_required_but_not_offered_fails_clearly(start_server: StartServer) -> None:
    server = start_server()

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings_for(server, security="starttls"), alert_mail())

    assert "does not offer STARTTLS" in str(caught.value)
    assert caught.value.permanent
    assert server.inbox.received == []


async def test_implicit_tls(start_server: StartServer, server_tls: ssl.SSLContext) -> None:
    server = start_server(ssl_context=server_tls)
    settings = settings_for(server, security="tls", validate_certs=False)

    assert await send_email(settings, alert_mail()) == QUEUED

    [received] = server.inbox.received
    assert received.tls


async def test_a_refused_recipient_is_permanent(start_server: StartServer) -> None:
    server = start_server()

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings_for(server), alert_mail(to="refused@example.com"))

    assert caught.value.permanent
    assert caught.value.code == 550
    assert "no such user" in str(caught.value)


async def test_a_busy_recipient_is_retryable(start_server: StartServer) -> None:
    server = start_server()

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings_for(server), alert_mail(to="later@example.com"))

    assert not caught.value.permanent
    assert caught.value.code == 451


async def test_some_recipients_refused_still_sends_to_the_rest(start_server: StartServer) -> None:
    server = start_server()
    message = alert_mail(to="oncall@example.com, refused@example.com")

    assert await send_email(settings_for(server), message) == QUEUED

    [received] = server.inbox.received
    assert received.rcpt_tos == ["oncall@example.com"]


async def test_connection_refused_is_retryable() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout_s=2)

    with pytest.raises(SmtpDeliveryError) as caught:
        await send_email(settings, alert_mail())

    assert not caught.value.permanent
    assert f"127.0.0.1:{settings.port}" in str(caught.value)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never greets, like a hung mail server."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_answers_times_out_retryably(silent_server: int) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=silent_server, security="none", timeout_s=0.3)

    with pytest.raises(SmtpDeliveryError) as caught:
        await asyncio.wait_for(send_email(settings, alert_mail()), timeout=3)

    assert not caught.value.permanent


def test_repr_masks_the_password() -> None:
    settings = SmtpSettings(host="mail.example.com", username=USERNAME, password=PASSWORD)
    assert PASSWORD not in repr(settings)
    assert "password='***'" in repr(settings)
    assert "password=None" in repr(SmtpSettings(host="mail.example.com"))


@pytest.mark.parametrize(
    "options",
    [{"security": "ssl"}, {"port": 0}, {"port": 70000}, {"timeout_s": 0}],
)
def test_invalid_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SmtpSettings(host="mail.example.com", **options)


def raw_mail(n: int, to: str = "ops@example.com") -> Any:
    return alternative_message(
        [to],
        [("From", "ilertd@example.com"), ("To", to), ("Subject", f"page {n}")],
        f"text {n}",
        f"<p>html {n}</p>",
        message_id=f"<m{n}@example.com>",
    )


async def test_a_sender_keeps_one_connection_for_many_messages(start_server: StartServer) -> None:
    server = start_server()
    sender = SmtpSender(settings_for(server))
    for n in range(5):
        assert await sender.send_raw(raw_mail(n)) == QUEUED
    await sender.close()
    received = server.inbox.received
    assert [r.message["Subject"] for r in received] == [f"page {n}" for n in range(5)]
    assert len({r.peer for r in received}) == 1
    assert received[0].message.get_body(("plain",)).get_content().splitlines() == ["text 0"]


async def test_a_sender_reconnects_when_the_server_dropped_its_connection(
    start_server: StartServer,
) -> None:
    server = start_server(timeout=0.3)  # aiosmtpd closes connections idle for 0.3 s
    sender = SmtpSender(settings_for(server), idle_s=60)
    assert await sender.send_raw(raw_mail(1)) == QUEUED
    await asyncio.sleep(0.8)
    assert await sender.send_raw(raw_mail(2)) == QUEUED
    await sender.close()
    received = server.inbox.received
    assert [r.message["Subject"] for r in received] == ["page 1", "page 2"]
    assert len({r.peer for r in received}) == 2


async def test_a_refusal_on_a_kept_connection_is_not_retried_and_the_next_goes_out(
    start_server: StartServer,
) -> None:
    server = start_server()
    sender = SmtpSender(settings_for(server))
    assert await sender.send_raw(raw_mail(1)) == QUEUED
    with pytest.raises(SmtpDeliveryError) as refused:
        await sender.send_raw(raw_mail(2, to="refused@example.com"))
    assert refused.value.permanent and refused.value.code == 550
    assert await sender.send_raw(raw_mail(3)) == QUEUED
    await sender.close()
    assert [r.message["Subject"] for r in server.inbox.received] == ["page 1", "page 3"]
