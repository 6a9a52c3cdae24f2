"""The page providers against real servers on 127.0.0.1, no database needed.

An aiohttp server speaks Twilio's REST API (2010-04-01 Messages and Calls), another ntfy's
JSON publishing, and aiosmtpd receives the page e-mail. Each records what it received, so
the tests check the requests themselves: paths, auth, fields, and how refusals are sorted
into retryable or not.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ilertd.notify.email_page import send_page_email
from ilertd.notify.errors import ProviderError
from ilertd.notify.ntfy import NtfyClient, NtfySettings, publication
from ilertd.notify.page import Page
from ilertd.notify.twilio import TwilioClient, TwilioSettings, gather_twiml
from ilertd.outbound.smtp import SmtpSettings

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-s3cret"
FROM_NUMBER = "+15005550006"
NTFY_TOKEN = "tk_ntfy0s3cret0token0value000000"
LINKS = {
    "accept": "https://ilertd.example/r/acc.TOKEN?u=7&a=1",
    "resolve": "https://ilertd.example/r/res.TOKEN",
    "escalate": "https://ilertd.example/r/esc.TOKEN",
}
PAGE = Page(
    alert_id=42,
    summary="disk full on db-1",
    details="/var is 98% full\nsince 10:02",
    priority="HIGH",
    source_name="Prometheus",
    alert_url="https://ilertd.example/alerts/42",
    links=LINKS,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None


async def start(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    return server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- Twilio ----------------------------------------------------------------------------

_TWILIO_PATH = re.compile(
    r"(?P<prefix>.*)/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<resource>Messages|Calls)\.json"
)


@dataclass
class FakeTwilio:
    """Twilio's REST API as documented: Basic auth, form fields in, JSON out.

    ``mode`` picks the answer: "ok" (201 with a sid), "invalid_to" (400, error 21211),
    "unavailable" (503), "rate_limited" (429), "slow" (never in time), "not_json" (200 HTML).
    """

    mode: str = "ok"
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = {name: str(value) for name, value in (await request.post()).items()}
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), form))
        route = _TWILIO_PATH.fullmatch(request.path)
        if request.method != "POST" or route is None:
            return error(404, 20404, f"The requested resource {request.path} was not found")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if route["sid"] != ACCOUNT_SID or request.headers.get("Authorization") != expected:
            return error(401, 20003, "Authenticate")
        if self.mode == "invalid_to":
            return error(400, 21211, "The 'To' number is not a valid phone number.")
        if self.mode == "unavailable":
            return web.Response(status=503, text="<html>Service Unavailable</html>")
        if self.mode == "rate_limited":
            return error(429, 20429, "Too Many Requests")
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "not_json":
            return web.Response(text="<html>It works!</html>", content_type="text/html")
        if route["resource"] == "Messages":
            if not form.get("To") or not form.get("From") or not form.get("Body"):
                return error(400, 21602, "Message body is required.")
            sid = "SM" + secrets.token_hex(16)
        else:
            if not form.get("To") or not form.get("From") or not form.get("Twiml"):
                return error(400, 21205, "Url parameter is required.")
            sid = "CA" + secrets.token_hex(16)
        answer = {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "status": "queued"}
        return web.json_response(answer, status=201)


def error(status: int, code: int, message: str) -> web.Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    return web.json_response(body, status=status)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    server = await start(fake.app())
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


def twilio_client(
    session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 5, **overrides: str
) -> TwilioClient:
    fields = {
        "base_url": base_url,
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
    } | overrides
    return TwilioClient(session, TwilioSettings(**fields), timeout_s=timeout_s)


async def test_sms_is_posted_as_a_form_with_basic_auth(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    client = twilio_client(session, twilio.base_url)
    with structlog.testing.capture_logs() as logs:
        sid = await client.send_sms(
            "+49 (170) 123-4567", PAGE.sms_text(), status_callback="https://ilertd.example/s/1"
        )
    (request,) = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    credentials = base64.b64decode(request.headers["Authorization"].removeprefix("Basic "))
    assert credentials.decode() == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.form == {
        "To": "+491701234567",
        "From": FROM_NUMBER,
        "Body": "[ilertd] HIGH #42 disk full on db-1. Reply 1=accept 2=resolve 3=escalate",
        "StatusCallback": "https://ilertd.example/s/1",
    }
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert [entry["event"] for entry in logs] == ["sms sent"]
    assert logs[0]["sid"] == sid
    assert AUTH_TOKEN not in str(logs) and "disk full" not in str(logs)


async def test_a_call_carries_the_twiml_and_the_status_callback(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    twiml = gather_twiml(PAGE.voice_text(), "https://ilertd.example/voice/42?call=1&x=2")
    sid = await twilio_client(session, twilio.base_url).place_call(
        "+12349013030", twiml, status_callback="https://ilertd.example/s/2"
    )
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request.form == {
        "To": "+12349013030",
        "From": FROM_NUMBER,
        "Twiml": twiml,
        "StatusCallback": "https://ilertd.example/s/2",
    }
    gather = ET.fromstring(request.form["Twiml"]).find("Gather")
    assert gather is not None
    assert gather.get("action") == "https://ilertd.example/voice/42?call=1&x=2"
    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)


async def test_a_gateway_under_a_path_prefix(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    await twilio_client(session, twilio.base_url + "/gateway/").send_sms("+12349013030", "hi")
    (request,) = twilio.requests
    assert request.path == f"/gateway/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


async def test_an_invalid_number_answer_is_final_and_quotes_twilio(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    twilio.mode = "invalid_to"
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(ProviderError) as caught:
            await twilio_client(session, twilio.base_url).send_sms("+12349013030", "hi")
    error = caught.value
    assert error.retryable is False
    assert (error.status, error.code) == (400, 21211)
    assert "The 'To' number is not a valid phone number." in str(error)
    assert AUTH_TOKEN not in str(error)
    assert [entry["event"] for entry in logs] == ["sms not sent"]
    assert logs[0]["code"] == 21211 and AUTH_TOKEN not in str(logs)


async def test_wrong_credentials_are_final_and_not_quoted(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    client = twilio_client(session, twilio.base_url, auth_token="wrong-token-value")
    with pytest.raises(ProviderError) as caught:
        await client.send_sms("+12349013030", "hi")
    assert caught.value.retryable is False
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert "wrong-token-value" not in str(caught.value)


@pytest.mark.parametrize(("mode", "status"), [("unavailable", 503), ("rate_limited", 429)])
async def test_overload_and_outages_are_retryable(
    twilio: FakeTwilio, session: aiohttp.ClientSession, mode: str, status: int
) -> None:
    twilio.mode = mode
    with pytest.raises(ProviderError) as caught:
        await twilio_client(session, twilio.base_url).place_call("+12349013030", "<Response/>")
    assert caught.value.retryable is True
    assert caught.value.status == status
    assert len(twilio.requests) == 1


async def test_a_timeout_is_retryable(twilio: FakeTwilio, session: aiohttp.ClientSession) -> None:
    twilio.mode = "slow"
    client = twilio_client(session, twilio.base_url, timeout_s=0.2)
    with pytest.raises(ProviderError, match=r"did not answer within 0\.2 s") as caught:
        await client.send_sms("+12349013030", "hi")
    assert caught.value.retryable is True


async def test_a_refused_connection_is_retryable(session: aiohttp.ClientSession) -> None:
    client = twilio_client(session, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError, match="unreachable") as caught:
        await client.send_sms("+12349013030", "hi")
    assert caught.value.retryable is True


async def test_an_answer_without_a_sid_is_final(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    twilio.mode = "not_json"
    with pytest.raises(ProviderError, match="base URL") as caught:
        await twilio_client(session, twilio.base_url).send_sms("+12349013030", "hi")
    assert caught.value.retryable is False


async def test_an_invalid_number_is_refused_without_a_request(
    twilio: FakeTwilio, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ProviderError, match="not a valid phone number") as caught:
        await twilio_client(session, twilio.base_url).send_sms("call me maybe", "hi")
    assert caught.value.retryable is False
    assert twilio.requests == []


# -- ntfy ------------------------------------------------------------------------------

_NTFY_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")


@dataclass
class FakeNtfy:
    """ntfy's JSON publishing: POST / with the topic in the body, checked as ntfy checks it.

    ``token`` set: only "Bearer <token>" may publish. ``mode`` "rate_limited" answers 429.
    """

    token: str | None = None
    mode: str = "ok"
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(
            Recorded(request.method, request.path, dict(request.headers), json=body)
        )
        if self.mode == "rate_limited":
            return ntfy_error(429, 42901, "limit reached: too many requests")
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return ntfy_error(403, 40301, "forbidden")
        problem = ntfy_problem(body)
        if problem:
            return ntfy_error(400, 40000, f"invalid request: {problem}")
        answer = {
            "id": secrets.token_urlsafe(9)[:12],
            "time": 1_700_000_000,
            "event": "message",
            **{key: body[key] for key in ("topic", "title", "message", "priority", "tags")},
        }
        return web.json_response(answer)


def ntfy_problem(body: Any) -> str | None:
    """What ntfy would refuse in a JSON publication, or None."""
    if not isinstance(body, dict) or not _NTFY_TOPIC.fullmatch(str(body.get("topic", ""))):
        return "topic"
    if body.get("priority") not in (1, 2, 3, 4, 5):
        return "priority"
    actions = body.get("actions", [])
    if not isinstance(actions, list) or len(actions) > 3:
        return "too many actions"
    for action in actions:
        if action.get("action") not in ("view", "http", "broadcast") or not action.get("label"):
            return "action"
        if action["action"] == "http" and not str(action.get("url", "")).startswith("http"):
            return "action url"
    return None


def ntfy_error(status: int, code: int, text: str) -> web.Response:
    body = {"code": code, "http": status, "error": text, "link": "https://ntfy.sh/docs/publish/"}
    return web.json_response(body, status=status)


@pytest.fixture
async def ntfy() -> AsyncIterator[FakeNtfy]:
    fake = FakeNtfy(token=NTFY_TOKEN)
    server = await start(fake.app())
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


async def test_a_push_carries_the_page_and_its_action_buttons(
    ntfy: FakeNtfy, session: aiohttp.ClientSession
) -> None:
    client = NtfyClient(session, NtfySettings(ntfy.base_url, token=NTFY_TOKEN))
    with structlog.testing.capture_logs() as logs:
        message_id = await client.publish("oncall-jane", PAGE)
    (request,) = ntfy.requests
    assert (request.method, request.path) == ("POST", "/")
    assert request.headers["Authorization"] == f"Bearer {NTFY_TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json == publication("oncall-jane", PAGE)
    assert request.json["topic"] == "oncall-jane"
    assert request.json["priority"] == 5
    assert request.json["click"] == PAGE.alert_url
    assert request.json["actions"] == [
        {
            "action": "http",
            "label": "Accept",
            "url": LINKS["accept"],
            "method": "POST",
            "clear": True,
        },
        {
            "action": "http",
            "label": "Resolve",
            "url": LINKS["resolve"],
            "method": "POST",
            "clear": True,
        },
        {
            "action": "http",
            "label": "Escalate",
            "url": LINKS["escalate"],
            "method": "POST",
            "clear": True,
        },
    ]
    assert message_id and isinstance(message_id, str)
    assert [entry["event"] for entry in logs] == ["push sent"]
    assert NTFY_TOKEN not in str(logs) and "98% full" not in str(logs)


async def test_a_push_without_a_token_sends_no_authorization(
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeNtfy()
    server = await start(fake.app())
    try:
        base_url = str(server.make_url("/ntfy"))
        await NtfyClient(session, NtfySettings(base_url)).publish("t", PAGE)
    finally:
        await server.close()
    (request,) = fake.requests
    assert request.path == "/ntfy/"
    assert "Authorization" not in request.headers


async def test_a_refused_token_is_final_and_not_quoted(
    ntfy: FakeNtfy, session: aiohttp.ClientSession
) -> None:
    client = NtfyClient(session, NtfySettings(ntfy.base_url, token="tk_wrong_token_value"))
    with pytest.raises(ProviderError, match="forbidden") as caught:
        await client.publish("oncall-jane", PAGE)
    assert caught.value.retryable is False
    assert (caught.value.status, caught.value.code) == (403, 40301)
    assert "tk_wrong_token_value" not in str(caught.value)


async def test_a_rate_limited_push_is_retryable(
    ntfy: FakeNtfy, session: aiohttp.ClientSession
) -> None:
    ntfy.mode = "rate_limited"
    client = NtfyClient(session, NtfySettings(ntfy.base_url, token=NTFY_TOKEN))
    with pytest.raises(ProviderError, match="limit reached") as caught:
        await client.publish("oncall-jane", PAGE)
    assert caught.value.retryable is True


# -- e-mail ----------------------------------------------------------------------------


@dataclass
class Inbox:
    """Keeps what aiosmtpd accepts; refused@ gets a 550, later@ a 451."""

    received: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 no such user"
        if address.startswith("later@"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope, message))
        return "250 2.0.0 Ok: queued as PAGE42"


@dataclass
class Mailserver:
    inbox: Inbox
    settings: SmtpSettings


@pytest.fixture
def mailserver() -> Iterator[Mailserver]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = SmtpSettings(
        host="127.0.0.1", port=port, security="none", sender="pager@ilertd.example", timeout_s=5
    )
    yield Mailserver(inbox, settings)
    controller.stop()


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


async def test_the_page_email_arrives_with_the_links_in_both_parts(mailserver: Mailserver) -> None:
    answer = await send_page_email(mailserver.settings, "jane@ilertd.example", PAGE)
    assert "queued as PAGE42" in answer
    ((envelope, message),) = mailserver.inbox.received
    assert envelope.mail_from == "pager@ilertd.example"
    assert envelope.rcpt_tos == ["jane@ilertd.example"]
    assert message["X-Ilertd-Alert-Id"] == "42"
    assert message["Subject"] == "[ilertd] HIGH #42: disk full on db-1"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert f"Accept: {LINKS['accept']}" in text.get_content().splitlines()
    hrefs = Hrefs()
    hrefs.feed(html.get_content())
    assert hrefs.hrefs[:3] == [LINKS["accept"], LINKS["resolve"], LINKS["escalate"]]


@pytest.mark.parametrize(
    ("recipient", "retryable"), [("refused@x.example", False), ("later@x.example", True)]
)
async def test_smtp_refusals_keep_their_retryability(
    mailserver: Mailserver, recipient: str, retryable: bool
) -> None:
    with pytest.raises(ProviderError) as caught:
        await send_page_email(mailserver.settings, recipient, PAGE)
    assert caught.value.retryable is retryable
    assert mailserver.inbox.received == []


async def test_an_unreachable_mail_server_is_retryable() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout_s=2)
    with pytest.raises(ProviderError) as caught:
        await send_page_email(settings, "jane@ilertd.example", PAGE)
    assert caught.value.retryable is True
