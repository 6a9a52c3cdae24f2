"""One inbound e-mail as an alert: subject -> summary, text body -> details.

Pure: no I/O. ``mail_alert`` reads the raw RFC 5322 bytes the SMTP listener received
(``ilertd.inbound.smtp``) and builds the ``NewAlert`` the Events API would have built, so
the mail goes through the same ingest command (dedup, maintenance, idempotency).

ilert's ``alertCreation`` for e-mail sources:

- ``ONE_ALERT_PER_EMAIL``: every mail opens a new alert (no alert key).
- ``ONE_ALERT_PER_EMAIL_SUBJECT``: one open alert per subject; a mail whose subject matches
  an open alert's joins it. The alert key is the normalised subject (whitespace collapsed,
  compared case-insensitively as every alert key), hashed when longer than a key may be.

Choices where ilert is silent: a missing subject is "(no subject)"; an over-long subject
or body is cut (a sender cannot be told to fix it, as an Events API client can); the body
is the first text/plain part, else the text of the first text/html part; attachments are
ignored. The sender and Message-ID are kept in ``customDetails.email``.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser

from ..alerts.creation import NewAlert
from ..contract.events import MAX_ALERT_KEY, MAX_DETAILS, MAX_SUMMARY
from ..domain.alert_source import AlertCreation

#: alert source ``integrationType``s whose integration key is an e-mail address's local
#: part (ilert: EMAIL, and EMAIL2 for its newer e-mail integration)
EMAIL_TYPES = frozenset({"EMAIL", "EMAIL2"})
NO_SUBJECT = "(no subject)"
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class InboundMail:
    """What of a mail becomes an alert."""

    subject: str
    body: str
    sender: str | None
    message_id: str | None


def parse_mail(raw: bytes) -> InboundMail:
    """The subject (decoded, one line), text body, sender and Message-ID of ``raw``.

    Never raises on a malformed message: ``email``'s default policy records defects and
    keeps going, and what cannot be decoded is replaced."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    subject = _one_line(_header(message, "Subject"))
    return InboundMail(
        subject=subject or NO_SUBJECT,
        body=_body(message),
        sender=_one_line(_header(message, "From")) or None,
        message_id=_one_line(_header(message, "Message-ID")) or None,
    )


def subject_key(subject: str) -> str:
    """The alert key of a subject under ONE_ALERT_PER_EMAIL_SUBJECT."""
    key = _one_line(subject).casefold()
    if len(key) > MAX_ALERT_KEY:
        key = "subject-sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def mail_alert(mail: InboundMail, alert_creation: str) -> NewAlert:
    """The alert ``mail`` opens (or joins) on a source with this ``alertCreation``."""
    keyed = alert_creation == AlertCreation.ONE_ALERT_PER_EMAIL_SUBJECT
    origin = {k: v for k, v in (("from", mail.sender), ("messageId", mail.message_id)) if v}
    return NewAlert(
        summary=_cut(mail.subject, MAX_SUMMARY),
        details=_cut(mail.body, MAX_DETAILS),
        alert_key=subject_key(mail.subject) if keyed else None,
        custom_details={"email": origin} if origin else None,
    )


def message_digest(mail: InboundMail, raw: bytes) -> str:
    """What tells a retry of one message from another message: its Message-ID, or its
    bytes when it has none (a sending server's retry resends the same bytes)."""
    basis = mail.message_id.encode() if mail.message_id else raw
    return hashlib.sha256(basis).hexdigest()[:32]


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name) or "")
    except (ValueError, IndexError, TypeError, AttributeError):  # a header it cannot decode
        return ""


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(message: Message) -> str:
    """The first text/plain part, else the text of the first text/html part."""
    if not isinstance(message, EmailMessage):
        return ""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError):
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html_text(content)
    return _tidy(content)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class _TextOf(HTMLParser):
    """The visible text of an HTML document: blocks on their own lines, no scripts."""

    _BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre"}
    )
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(_SPACES.sub(" ", data))


def html_text(markup: str) -> str:
    """The text of an HTML body, one line per block."""
    parser = _TextOf()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # badly broken markup: the tags dropped crudely
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(lines)
