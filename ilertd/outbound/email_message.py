"""Plain-text alert emails, built with the stdlib so the SMTP sender only transmits them.

Alert text is attacker-influenced (anyone with an integration key can set a summary), so
nothing from it may reach a header with a line break: that would forge headers or a body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from ilertd.outbound.payload import (
    Alert,
    alert_title,
    first_link,
    responders_text,
    source_name,
    template_variables,
    user_name,
)
from ilertd.outbound.templates import render, single_line, truncate

SUBJECT_PREFIX = "[ilertd]"
SUBJECT_MAX = 250
# ASCII only: non-ASCII addresses need SMTPUTF8 (IDN domains can be given as punycode).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def build_email(
    sender: str,
    recipients: Sequence[str],
    alert: Alert,
    event_type: str,
    alert_url: str,
    *,
    subject_template: str | None,
    body_template: str | None,
    sent_at: datetime | None = None,
) -> EmailMessage:
    """One message to all recipients; `sent_at` (aware) becomes the Date header if given."""
    _check_sender(sender)
    if isinstance(recipients, str):  # one address, not a sequence of characters
        recipients = [recipients]
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    for recipient in recipients:
        check_address(recipient)
    variables = template_variables(alert, event_type, alert_url)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = _subject(subject_template, variables, alert, event_type)
    if sent_at is not None:
        message["Date"] = format_datetime(sent_at)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Ilertd-Alert-Id"] = str(alert.get("id"))
    message["X-Ilertd-Event"] = event_type
    body = render(body_template, variables) if body_template else None
    message.set_content(body or default_body(alert, event_type, alert_url))
    return message


def check_address(address: str) -> None:
    """A bare ASCII `local@domain`, no whitespace or header syntax; ValueError otherwise."""
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"invalid email address: {address!r}")


def default_body(alert: Alert, event_type: str, alert_url: str) -> str:
    """What a responder reads first: the event, the details, the facts, the link."""
    facts = [
        ("Status", alert.get("status") or ""),
        ("Priority", alert.get("priority") or ""),
        ("Source", source_name(alert)),
        ("Assigned to", user_name(alert.get("assignedTo")) or "—"),
        ("Responders", responders_text(alert)),
        ("Reported", alert.get("reportTime") or ""),
    ]
    link = first_link(alert)
    if link:
        facts.append(("Link", link))
    width = max(len(label) for label, _ in facts) + 2
    lines = [alert_title(alert, event_type), ""]
    details = (alert.get("details") or "").strip()
    if details:
        lines += [details, ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
    lines += ["", f"Open the alert: {alert_url}"]
    return "\n".join(lines) + "\n"


def _subject(
    template: str | None, variables: Mapping[str, Any], alert: Alert, event_type: str
) -> str:
    """The rendered template on one line, or `[ilertd] Alert created: <summary>`."""
    text = single_line(render(template, variables)) if template else ""
    return truncate(text or f"{SUBJECT_PREFIX} {alert_title(alert, event_type)}", SUBJECT_MAX)


def _check_sender(sender: str) -> None:
    """`alerts@example.com` or `ilertd <alerts@example.com>`, never with a line break."""
    if "\r" in sender or "\n" in sender:
        raise ValueError("sender contains a line break")
    check_address(parseaddr(sender)[1])
