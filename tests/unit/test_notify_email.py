"""The page e-mail: headers, both parts, links verbatim, escaping."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from ilertd.notify.email_page import build_page_email
from ilertd.notify.page import Page
from ilertd.outbound.mime import RawMessage

LINKS = {
    "accept": "https://ilertd.example/r/acc.TOKEN?u=7&a=accept",
    "resolve": "https://ilertd.example/r/res.TOKEN",
    "escalate": "https://ilertd.example/r/esc.TOKEN",
}


class Anchors(HTMLParser):
    """Collects (href, text) of every <a>, with entities decoded as a mail client would."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.anchors.append((self._href, data.strip()))
            self._href = None


def make_page(**overrides: object) -> Page:
    fields: dict[str, object] = {
        "alert_id": 42,
        "summary": "disk full",
        "details": "/var is 98% full",
        "priority": "HIGH",
        "source_name": "Prometheus",
        "alert_url": "https://ilertd.example/alerts/42",
        "links": dict(LINKS),
    } | overrides
    return Page(**fields)  # type: ignore[arg-type]


def reparsed(message: RawMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_headers() -> None:
    message = reparsed(
        build_page_email("ilertd <pager@example.com>", "jane@example.com", make_page())
    )
    assert message["From"] == "ilertd <pager@example.com>"
    assert message["To"] == "jane@example.com"
    assert message["Subject"] == "[ilertd] HIGH #42: disk full"
    assert message["X-Ilertd-Alert-Id"] == "42"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Importance"] == "high"
    assert message.get_content_type() == "multipart/alternative"


def test_low_priority_pages_are_not_flagged_important() -> None:
    message = reparsed(
        build_page_email("p@example.com", "j@example.com", make_page(priority="LOW"))
    )
    assert "Importance" not in message and "X-Priority" not in message


def test_both_parts_carry_every_link_verbatim() -> None:
    text, html = parts(reparsed(build_page_email("p@example.com", "j@example.com", make_page())))
    lines = text.splitlines()
    for action, url in LINKS.items():
        assert f"{action.capitalize()}: {url}" in lines
    anchors = Anchors()
    anchors.feed(html)
    assert anchors.anchors == [
        (LINKS["accept"], "Accept"),
        (LINKS["resolve"], "Resolve"),
        (LINKS["escalate"], "Escalate"),
        ("https://ilertd.example/alerts/42", "Open the alert in ilertd"),
    ]


def test_alert_text_cannot_inject_headers_or_markup() -> None:
    page = make_page(
        summary="x\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>",
        details='<img src="https://evil.example/t.gif"> & more',
    )
    message = reparsed(build_page_email("p@example.com", "j@example.com", page))
    assert "Bcc" not in message
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    _, html = parts(message)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=&quot;https://evil.example/t.gif&quot;&gt; &amp; more" in html


def test_bundled_email_says_the_buttons_act_on_all() -> None:
    _, html = parts(
        reparsed(build_page_email("p@example.com", "j@example.com", make_page(bundled=9)))
    )
    assert "These buttons act on all 9 alerts." in html
    assert ">Accept all</a>" in html


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("p@example.com", "j@example.com\r\nBcc: x@example.com"),
        ("p@example.com", "Jane <j@example.com>"),
        ("p@example.com\nBcc: x@example.com", "j@example.com"),
        ("not an address", "j@example.com"),
    ],
)
def test_bad_addresses_are_refused(sender: str, recipient: str) -> None:
    with pytest.raises(ValueError):
        build_page_email(sender, recipient, make_page())


def test_non_ascii_text_survives_headers_and_both_parts() -> None:
    page = make_page(summary="Festplatte voll: /var zu 98 % belegt ✓", source_name="Zürich")
    message = reparsed(build_page_email("Pager Ü <p@example.com>", "j@example.com", page))
    assert message["Subject"] == "[ilertd] HIGH #42: Festplatte voll: /var zu 98 % belegt ✓"
    assert message["From"] == "Pager Ü <p@example.com>"
    text, html = parts(message)
    assert "Festplatte voll: /var zu 98 % belegt ✓" in text and "Zürich" in text
    assert "Festplatte voll: /var zu 98 % belegt ✓" in html


def test_every_line_is_short_and_crlf_terminated() -> None:
    page = make_page(details="x" * 5000, summary="y " * 200)
    data = build_page_email("p@example.com", "j@example.com", page).as_bytes()
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998
    assert reparsed(build_page_email("p@example.com", "j@example.com", page))["To"]
