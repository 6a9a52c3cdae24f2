"""A small writer for the MIME messages a page is: headers, a text part, an HTML part.

The standard library's ``EmailMessage`` parses every header it is given back into a tree
(the header registry) and flattens the whole message again on sending: about 1.6 ms per
page on a slow machine, a sixth of the engine's CPU in a storm of pages. A page is always
the same shape, so it is written here straight to the bytes SMTP carries:

- headers are ASCII; a value with non-ASCII characters becomes RFC 2047 encoded words,
  and long values are folded at spaces (RFC 5322 allows 998 characters a line);
- both parts are UTF-8 in quoted-printable (``binascii``, in C), so links stay readable;
- the boundary starts with ``=_``, which quoted-printable never produces, so no body can
  contain it.

Values never hold a line break: callers pass sanitized text, and ``_header`` refuses any
CR or LF that slipped through rather than letting it forge a header.
"""

from __future__ import annotations

import binascii
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

#: Lines of a header are folded to stay under this (RFC 5322 recommends 78).
FOLD_AT = 78


@dataclass(frozen=True)
class RawMessage:
    """A message ready for SMTP: its envelope recipients, Message-ID and wire bytes."""

    recipients: tuple[str, ...]
    message_id: str
    data: bytes

    def as_bytes(self) -> bytes:
        return self.data


def alternative_message(
    recipients: Sequence[str],
    headers: Sequence[tuple[str, str]],
    text: str,
    html: str,
    *,
    message_id: str,
) -> RawMessage:
    """A multipart/alternative message to the envelope ``recipients`` with ``headers``
    (From and To among them) and the ``text`` and ``html`` parts; Date, Message-ID and
    MIME-Version are added here."""
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    boundary = "=_" + secrets.token_hex(12)
    lines = [_header(name, value) for name, value in headers]
    lines += [
        _header("Date", formatdate(usegmt=True)),
        _header("Message-ID", message_id),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    head = "\r\n".join(lines).encode("ascii")
    return RawMessage(
        tuple(recipients),
        message_id,
        b"".join(
            (
                head,
                b"\r\n",
                _part(boundary, "text/plain", text),
                _part(boundary, "text/html", html),
                f"--{boundary}--\r\n".encode("ascii"),
            )
        ),
    )


@functools.lru_cache(maxsize=64)
def address_header(value: str) -> str:
    """``Name <addr>`` or ``addr`` as a header value: a non-ASCII display name encoded."""
    name, address = parseaddr(value)
    if not name or name.isascii():
        return value
    return formataddr((name, address), charset="utf-8")


def _part(boundary: str, content_type: str, body: str) -> bytes:
    text = body.replace("\r\n", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True)
    return b"".join(
        (
            f'--{boundary}\r\nContent-Type: {content_type}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"),
            encoded if encoded.endswith(b"\r\n") else encoded + b"\r\n",
        )
    )


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a line break")
    if not value.isascii():
        return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    line = f"{name}: {value}"
    if len(line) <= FOLD_AT:
        return line
    return _fold(line)


def _fold(line: str) -> str:
    """Fold an ASCII header line at spaces; a word longer than a line stays whole."""
    folded: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > FOLD_AT:
            folded.append(current)
            current = " " + word
        else:
            current = f"{current} {word}" if current else word
    folded.append(current)
    return "\r\n".join(folded)
