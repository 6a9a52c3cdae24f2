"""A page as e-mail: plain text for every client, HTML with one button per action link.

Both parts carry each action link unchanged (HTML only escapes ``&`` as ``&amp;``, which a
client decodes back), so whichever part a mail client shows, the links work. Alert text is
sanitized by ``Page`` and HTML-escaped here; the subject never holds a line break.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from html import escape

import structlog

from ilertd.outbound.email_message import check_address
from ilertd.outbound.smtp import SmtpDeliveryError, SmtpSettings, send_email

from .errors import ProviderError
from .page import EMAIL_DETAILS_MAX, Page

log = structlog.get_logger(__name__)

BUTTON_COLORS = {"accept": "#1565c0", "resolve": "#2e7d32", "escalate": "#c62828"}


def build_page_email(sender: str, recipient: str, page: Page) -> EmailMessage:
    """The page for ``recipient``; ValueError for an address that is not a bare ASCII one."""
    if "\r" in sender or "\n" in sender:
        raise ValueError("sender contains a line break")
    check_address(parseaddr(sender)[1])
    check_address(recipient)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = page.email_subject()
    # set here, so the sender need not copy the message to add them
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Ilertd-Alert-Id"] = str(page.alert_id)
    if page.priority == "HIGH":
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    message.set_content(page.email_text())
    message.add_alternative(page_html(page), subtype="html")
    return message


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
    rows.append(f'<p><a href="{escape(page.alert_url)}">Open the alert in ilertd</a></p>')
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


async def send_page_email(settings: SmtpSettings, recipient: str, page: Page) -> str:
    """Send the page over SMTP; return the server's answer. Raises ProviderError."""
    message = build_page_email(settings.sender, recipient, page)
    try:
        response = await send_email(settings, message)
    except SmtpDeliveryError as exc:  # send_email has logged the details
        raise ProviderError(
            f"e-mail page for alert {page.alert_id} not sent: {exc}",
            retryable=not exc.permanent,
            code=exc.code,
        ) from exc
    log.info("page email sent", alert_id=page.alert_id, smtp=settings.address)
    return response
