"""SMS and voice calls through a Twilio-compatible REST API, and the TwiML they run on.

The base URL is configurable, so Twilio itself or a self-hosted gateway that speaks the same
API (2010-04-01 Messages and Calls resources, HTTP Basic auth, form-encoded requests, JSON
answers) can carry pages. Failures are ProviderErrors, sorted as ``provider_http`` documents.

Twilio signs the webhooks it sends (replies to SMS, keypresses in a call) with
``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + each POST parameter's name and
value, sorted by name, no separators)). ``verify_signature`` checks it; like Twilio's own
SDKs it also accepts the URL with the standard port added or removed, since a proxy in front
of ilertd may show the port differently from the URL Twilio signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from xml.etree.ElementTree import Element, SubElement, tostring

import aiohttp
import structlog

from .errors import ProviderError
from .page import one_line, text_block
from .provider_http import post_for_json

log = structlog.get_logger(__name__)

API_VERSION = "2010-04-01"
SMS_BODY_MAX = 1600  # Twilio's limit for a message body
TWIML_MAX = 4000  # Twilio's limit for the Twiml parameter of a call
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NUMBER_SEPARATORS = re.compile(r"[\s().\-/]+")
_NUMBER_DIGITS = re.compile(r"[0-9]{8,15}")
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, kw_only=True)
class TwilioSettings:
    """The account pages are sent from. The auth token never appears in ``repr``."""

    base_url: str = "https://api.twilio.com"
    account_sid: str
    auth_token: str
    from_number: str

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
        if parts.username is not None or parts.query or parts.fragment:
            # credentials belong in account_sid/auth_token, where they are kept out of logs
            raise ValueError("base_url must not contain credentials, a query or a fragment")
        if not _SID.fullmatch(self.account_sid):
            raise ValueError("account_sid must be 1..64 letters, digits, '-' or '_'")
        if not self.auth_token:
            raise ValueError("auth_token is required")
        if not self.from_number or one_line(self.from_number) != self.from_number:
            raise ValueError("from_number is required, on one line")

    def __repr__(self) -> str:
        return (
            f"TwilioSettings(base_url={self.base_url!r}, account_sid={self.account_sid!r}, "
            f"auth_token='***', from_number={self.from_number!r})"
        )

    @property
    def host(self) -> str:
        """host[:port] of the API, for messages and logs."""
        return urlsplit(self.base_url).netloc


class TwilioClient:
    """Sends SMS and places calls; the caller owns ``session`` (and its connection policy)."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: TwilioSettings, timeout_s: float = 10
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self._session = session
        self._settings = settings
        self._timeout_s = timeout_s
        # Built by hand: aiohttp 3.14 deprecates BasicAuth, and encode_basic_auth is new there.
        credentials = f"{settings.account_sid}:{settings.auth_token}".encode()
        self._headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
        self._provider = f"Twilio-compatible API at {settings.host}"

    async def send_sms(self, to: str, body: str, status_callback: str | None = None) -> str:
        """Send ``body`` to ``to``; return the message SID. Raises ProviderError.

        ValueError for an empty body or one over SMS_BODY_MAX characters.
        """
        if not body or len(body) > SMS_BODY_MAX:
            raise ValueError(f"an SMS body must have 1..{SMS_BODY_MAX} characters")
        return await self._create("Messages", "sms", to, {"Body": body}, status_callback)

    async def place_call(self, to: str, twiml: str, status_callback: str | None = None) -> str:
        """Call ``to`` and run ``twiml``; return the call SID. Raises ProviderError.

        ValueError for TwiML over TWIML_MAX characters.
        """
        if not twiml or len(twiml) > TWIML_MAX:
            raise ValueError(f"call TwiML must have 1..{TWIML_MAX} characters")
        return await self._create("Calls", "call", to, {"Twiml": twiml}, status_callback)

    async def _create(
        self,
        resource: str,
        kind: str,
        to: str,
        fields: dict[str, str],
        status_callback: str | None,
    ) -> str:
        number = normalize_number(to)
        tail = _number_tail(to)
        if number is None:
            # Not worth a request: Twilio would refuse it the same way every time.
            log.warning(
                f"{kind} not sent", provider=self._settings.host, to_tail=tail, error="bad number"
            )
            raise ProviderError(
                f"{kind} not sent: the 'To' number is not a valid phone number", retryable=False
            )
        form = {"To": number, "From": self._settings.from_number, **fields}
        if status_callback is not None:
            form["StatusCallback"] = status_callback
        url = (
            f"{self._settings.base_url.rstrip('/')}/{API_VERSION}"
            f"/Accounts/{self._settings.account_sid}/{resource}.json"
        )
        try:
            answer = await post_for_json(
                self._session,
                url,
                provider=self._provider,
                timeout_s=self._timeout_s,
                data=form,
                headers=self._headers,
            )
            sid = answer.get("sid")
            if not isinstance(sid, str) or not sid:
                raise ProviderError(
                    f"{self._provider} accepted the {kind} but answered without a sid",
                    retryable=False,
                )
        except ProviderError as exc:
            log.warning(
                f"{kind} not sent",
                provider=self._settings.host,
                to_tail=tail,
                retryable=exc.retryable,
                status=exc.status,
                code=exc.code,
                error=str(exc),
            )
            raise
        log.info(f"{kind} sent", provider=self._settings.host, to_tail=tail, sid=sid)
        return sid


def normalize_number(text: str) -> str | None:
    """E.164-ish: separators (spaces, ``-./()``) dropped, a leading ``+`` kept, 8..15 digits.

    "+49 (170) 123-4567" -> "+491701234567". None for anything else (letters, a ``+`` that
    is not leading, too few or too many digits, a country code starting with 0). Numbers
    without ``+`` are kept as they are: guessing a country or trunk prefix could call the
    wrong person.
    """
    candidate = _NUMBER_SEPARATORS.sub("", text.strip())
    international = candidate.startswith("+")
    digits = candidate[1:] if international else candidate
    if not _NUMBER_DIGITS.fullmatch(digits) or (international and digits.startswith("0")):
        return None
    return f"+{digits}" if international else digits


def _number_tail(number: str) -> str:
    """The last digits only: enough to tell numbers apart in logs, not to dial them."""
    return number[-4:] if len(number) > 4 else "*"


# -- TwiML ------------------------------------------------------------------------------


def gather_twiml(
    say: str, action_url: str, *, digits: int = 1, timeout_s: int = 10, repeat: int = 2
) -> str:
    """Say ``say`` and collect ``digits`` keypresses, POSTed to ``action_url``.

    Twilio moves on to the next verb when nobody presses a key, so the prompt is repeated
    ``repeat`` times before the call ends with "Goodbye.".
    """
    if digits < 1 or timeout_s < 1 or repeat < 1:
        raise ValueError("digits, timeout_s and repeat must be at least 1")
    if not action_url.startswith(("https://", "http://")) or _NOT_XML.search(action_url):
        raise ValueError("action_url must be an absolute http(s) URL")
    text = _speech(say)
    response = Element("Response")
    for _ in range(repeat):
        gather = SubElement(
            response,
            "Gather",
            {
                "input": "dtmf",
                "numDigits": str(digits),
                "action": action_url,
                "method": "POST",
                "timeout": str(timeout_s),
            },
        )
        SubElement(gather, "Say").text = text
    SubElement(response, "Say").text = "Goodbye."
    return _document(response)


def say_twiml(text: str) -> str:
    """Say ``text`` and hang up: the answer confirming a keypress."""
    response = Element("Response")
    SubElement(response, "Say").text = _speech(text)
    return _document(response)


def message_twiml(text: str) -> str:
    """Reply ``text`` to an inbound SMS (the answer to Twilio's message webhook)."""
    body = text_block(_NOT_XML.sub("", text))
    if not body or len(body) > SMS_BODY_MAX:
        raise ValueError(f"a reply must have 1..{SMS_BODY_MAX} characters")
    response = Element("Response")
    SubElement(response, "Message").text = body
    return _document(response)


def _speech(text: str) -> str:
    spoken = one_line(_NOT_XML.sub("", text))
    if not spoken:
        raise ValueError("nothing to say")
    return spoken


def _document(root: Element) -> str:
    # ElementTree escapes &, <, > in text and also " and line breaks in attributes.
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="unicode")


# -- webhook signatures -----------------------------------------------------------------


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature for a POST of ``params`` to ``url`` (query included)."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    auth_token: str, url: str, params: Mapping[str, str], header_value: str | None
) -> bool:
    """Whether ``header_value`` is Twilio's signature of this request, compared in constant time."""
    if not auth_token or not header_value:
        return False
    given = header_value.strip().encode()
    matched = False
    for candidate in _url_variants(url):
        expected = signature(auth_token, candidate, params).encode()
        matched |= hmac.compare_digest(expected, given)
    return matched


def _url_variants(url: str) -> list[str]:
    """``url``, and the same URL with its standard port added or removed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [url]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname or port not in (None, default):
        return [url]
    userinfo, at, hostport = parts.netloc.rpartition("@")
    other = f"{hostport}:{default}" if port is None else hostport.rpartition(":")[0]
    return [url, urlunsplit(parts._replace(netloc=f"{userinfo}{at}{other}"))]
