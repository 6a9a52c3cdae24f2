"""A page as e-mail: plain text for every client, HTML with one button per action link.

Both parts carry each action link unchanged (HTML only escapes ``&`` as ``&amp;``, which a
client decodes back), so whichever part a mail client shows, the links work. Alert text is
sanitized by ``Page`` and HTML-escaped here; the subject never holds a line break.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from email.utils import make_msgid, parseaddr
from html import escape

import structlog

from ilertd.outbound.email_message import check_address
from ilertd.outbound.mime import RawMessage, address_header, alternative_message
from ilertd.outbound.smtp import SmtpDeliveryError, SmtpSender, SmtpSettings

from .errors import ProviderError
from .page import EMAIL_DETAILS_MAX, Page

log = structlog.get_logger(__name__)

BUTTON_COLORS = {
    "accept": "#1565c0",
    "resolve": "#2e7d32",
    "escalate": "#c62828",
    "join": "#1565c0",
}


#: A message covering more alerts lists this many (newest first) and counts the rest.
BUNDLE_LIST_MAX = 50


def message_id_for(sender: str) -> str:
    """A new Message-ID in the sender's domain: it names the message on every covered
    alert's timeline."""
    return make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")


@functools.lru_cache(maxsize=64)
def _checked_sender(sender: str) -> str:
    """The From header for ``sender`` (the same few, parsed once); ValueError if bad."""
    if "\r" in sender or "\n" in sender:
        raise ValueError("sender contains a line break")
    check_address(parseaddr(sender)[1])
    return address_header(sender)


def _headers(sender: str, recipient: str, subject: str, latest: Page) -> list[tuple[str, str]]:
    check_address(recipient)
    headers = [
        ("From", _checked_sender(sender)),
        ("To", recipient),
        ("Subject", subject),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies, please
        (f"X-Ilertd-{latest.NOUN.capitalize()}-Id", str(latest.alert_id)),
    ]
    if latest.priority == "HIGH":
        headers += [("Importance", "high"), ("X-Priority", "1")]
    return headers


def build_page_email(
    sender: str, recipient: str, page: Page, message_id: str | None = None
) -> RawMessage:
    """The page for ``recipient``; ValueError for an address that is not a bare ASCII one."""
    return alternative_message(
        [recipient],
        _headers(sender, recipient, page.email_subject(), page),
        page.email_text(),
        page_html(page),
        message_id=message_id or message_id_for(sender),
    )


def build_bundle_email(
    sender: str, recipient: str, pages: list[Page], message_id: str | None = None
) -> RawMessage:
    """One message for several pages to one person (a storm): each alert listed with its
    own action links, newest first, up to ``BUNDLE_LIST_MAX``; ``X-Ilertd-Alert-Ids``
    names every alert it covers."""
    if len(pages) == 1:
        return build_page_email(sender, recipient, pages[0], message_id)
    ordered = sorted(pages, key=lambda p: p.alert_id, reverse=True)
    summary = replace(ordered[0], bundled=len(pages))
    headers = _headers(sender, recipient, summary.email_subject(), summary)
    headers.append(("X-Ilertd-Alert-Ids", ", ".join(str(p.alert_id) for p in ordered)))
    return alternative_message(
        [recipient],
        headers,
        bundle_text(summary, ordered),
        bundle_html(summary, ordered),
        message_id=message_id or message_id_for(sender),
    )


def _headline(summary: Page) -> str:
    if summary.update:
        return f"{summary.bundled} alerts {summary.update}."
    return f"{summary.bundled} new alerts for you."


def _more(summary: Page, listed: int) -> str:
    rest = summary.bundled - listed
    return f"... and {rest} more alerts in ilertd." if rest > 0 else ""


def bundle_text(summary: Page, ordered: list[Page]) -> str:
    listed = ordered[:BUNDLE_LIST_MAX]
    parts = [_headline(summary), ""]
    for page in listed:
        parts.append(f"{page.priority} #{page.alert_id} {page.clean_summary()}")
        parts.append(f"  from {page.clean_source()}")
        parts += [f"  {label}: {url}" for _, label, url in page.actions()]
        parts += [f"  Open: {page.alert_url}", ""]
    more = _more(summary, len(listed))
    if more:
        parts += [more, ""]
    parts += ["-- ", "ilertd"]
    return "\n".join(parts) + "\n"


def bundle_html(summary: Page, ordered: list[Page]) -> str:
    listed = ordered[:BUNDLE_LIST_MAX]
    rows = [f'<h2 style="margin:0 0 16px;font-size:20px">{escape(_headline(summary))}</h2>']
    for page in listed:
        rows.append(
            '<div style="margin:0 0 16px;padding:0 0 8px;border-bottom:1px solid #dddddd">'
            f'<p style="margin:0 0 6px"><b>{escape(page.priority)} #{page.alert_id}</b> '
            f'{escape(page.clean_summary())}<br><span style="color:#555555">from '
            f"{escape(page.clean_source())}</span></p>\n"
            + "\n".join(_buttons(page))
            + f'\n<a href="{escape(page.alert_url)}">Open</a></div>'
        )
    more = _more(summary, len(listed))
    if more:
        rows.append(f"<p>{escape(more)}</p>")
    subject = escape(summary.email_subject())
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{subject}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222">\n'
        + "\n".join(rows)
        + "\n</body></html>\n"
    )


def page_html(page: Page) -> str:
    """The HTML part: inline styles only, as mail clients drop style sheets."""
    subject = escape(page.email_subject())
    details = page.clean_details(EMAIL_DETAILS_MAX)
    rows = [
        f'<p style="margin:0 0 8px;color:#555555">{escape(page.email_intro())}</p>',
        f'<h2 style="margin:0 0 16px;font-size:20px">{escape(page.clean_summary())}</h2>',
    ]
    if details:
        rows.append(
            '<pre style="margin:0 0 16px;white-space:pre-wrap;font-family:inherit">'
            f"{escape(details)}</pre>"
        )
    if page.links:
        rows.append('<p style="margin:0 0 16px">\n' + "\n".join(_buttons(page)) + "\n</p>")
        if page.bundled > 1:
            rows.append(f"<p>These buttons act on all {page.bundled} alerts.</p>")
    rows.append(f'<p><a href="{escape(page.alert_url)}">Open the {page.NOUN} in ilertd</a></p>')
    body = "\n".join(rows)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{subject}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222">\n'
        f"{body}\n</body></html>\n"
    )


def _buttons(page: Page) -> list[str]:
    return [
        f'<a href="{escape(url)}" style="display:inline-block;margin:0 8px 8px 0;'
        f"padding:10px 18px;border-radius:4px;background:{BUTTON_COLORS[action]};"
        f'color:#ffffff;text-decoration:none;font-weight:bold">{escape(label)}</a>'
        for action, label, url in page.actions()
    ]


async def send_page_email(
    settings: SmtpSettings, recipient: str, page: Page, message_id: str | None = None
) -> str:
    """Send the page over SMTP (a connection of its own); return the server's answer.
    Raises ProviderError."""
    sender = SmtpSender(settings, max_idle=0)
    return await send_message(
        sender, build_page_email(settings.sender, recipient, page, message_id), page
    )


async def send_message(sender: SmtpSender, message: RawMessage, page: Page) -> str:
    """Send a built page or bundle (``page``: the latest alert it covers)."""
    try:
        response = await sender.send_raw(message)
    except SmtpDeliveryError as exc:  # the sender has logged the details
        raise ProviderError(
            f"e-mail page for alert {page.alert_id} not sent: {exc}",
            retryable=not exc.permanent,
            code=exc.code,
        ) from exc
    log.info("page email sent", alert_id=page.alert_id, smtp=sender.settings.address)
    return response
