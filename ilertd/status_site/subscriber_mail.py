"""The mails a status page's subscribers get: the confirmation, and status news.

Only what was published reaches a mail: a status update's public status, summary and
message, a maintenance window's summary, description and times; never an incident's
severity or internal summary (the outbox holds nothing else). Every mail carries the
unsubscribe link in its text and RFC 8058 headers (``List-Unsubscribe`` with the link,
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``), so a mail client's button ends the
subscription with one POST, without a login. Several items for one subscriber (a storm of
updates) are one message listing them all, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from ilertd.notify.email_page import _checked_sender, message_id_for
from ilertd.outbound.mime import RawMessage, alternative_message

SUBJECT_MAX = 200
#: A bundle lists this many items and counts the rest.
LIST_MAX = 50


@dataclass(frozen=True)
class Item:
    """One piece of news: ``kind`` update, maintenance-scheduled or maintenance-started."""

    kind: str
    title: str
    status: str
    text: str
    at: datetime


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """Text for a header: no line breaks (they would forge headers), at most ``limit``."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _when(moment: datetime) -> str:
    return moment.strftime("%-d %b %Y, %H:%M UTC")


def item_of(kind: str, content: dict[str, object], at: datetime) -> Item:
    """An outbox row's content as news (``projections.status_mail``)."""
    if kind == "update":
        return Item(
            kind,
            str(content["summary"]),
            str(content["status"]).title(),
            str(content["message"]),
            at,
        )
    start = datetime.fromisoformat(str(content["start"]))
    end = datetime.fromisoformat(str(content["end"]))
    status = "Maintenance started" if kind == "maintenance-started" else "Maintenance scheduled"
    when = f"From {_when(start)} to {_when(end)}."
    description = str(content.get("description") or "")
    return Item(kind, str(content["summary"]), status, f"{when}\n{description}".strip(), at)


def _headers(sender: str, to: str, subject: str, unsubscribe: str) -> list[tuple[str, str]]:
    return [
        ("From", _checked_sender(sender)),
        ("To", to),
        ("Subject", subject),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies, please
        ("Precedence", "bulk"),
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),  # RFC 8058
    ]


def _html(title: str, rows: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222">\n'
        + "\n".join(rows)
        + "\n</body></html>\n"
    )


def _footer_text(page: str, unsubscribe: str) -> list[str]:
    return ["-- ", f"You subscribed to status updates of {page}.", f"Unsubscribe: {unsubscribe}"]


def _footer_html(page: str, unsubscribe: str) -> str:
    return (
        '<p style="margin:24px 0 0;color:#555555;font-size:13px">You subscribed to status '
        f"updates of {escape(page)}. "
        f'<a href="{escape(unsubscribe)}">Unsubscribe</a></p>'
    )


def news_mail(
    sender: str,
    to: str,
    page: str,
    page_url: str,
    items: Sequence[Item],
    unsubscribe: str,
) -> RawMessage:
    """One message with every item (newest first); the subject names the page and the
    latest item's status and title."""
    ordered = sorted(items, key=lambda item: item.at, reverse=True)
    latest = ordered[0]
    subject = f"{one_line(page, 80)}: {latest.status} - {one_line(latest.title)}"
    if len(ordered) > 1:
        subject += f" (and {len(ordered) - 1} more)"
    listed = ordered[:LIST_MAX]
    text: list[str] = []
    rows: list[str] = []
    if len(ordered) > 1:
        headline = f"{len(ordered)} status updates from {page}"
        text += [headline, ""]
        rows.append(f'<h2 style="margin:0 0 16px;font-size:20px">{escape(headline)}</h2>')
    for item in listed:
        text += [f"{item.status}: {item.title}", item.text, f"({_when(item.at)})", ""]
        rows.append(
            '<div style="margin:0 0 16px"><p style="margin:0 0 6px"><b>'
            f"{escape(item.status)}</b>: {escape(item.title)}</p>"
            f'<p style="margin:0 0 6px;white-space:pre-wrap">{escape(item.text)}</p>'
            f'<p style="margin:0;color:#555555">{escape(_when(item.at))}</p></div>'
        )
    if len(ordered) > len(listed):
        more = f"... and {len(ordered) - len(listed)} more on the status page."
        text += [more, ""]
        rows.append(f"<p>{escape(more)}</p>")
    text += [f"Status page: {page_url}", "", *_footer_text(page, unsubscribe)]
    rows.append(f'<p><a href="{escape(page_url)}">Open the status page</a></p>')
    rows.append(_footer_html(page, unsubscribe))
    return alternative_message(
        [to],
        _headers(sender, to, one_line(subject, 250), unsubscribe),
        "\n".join(text) + "\n",
        _html(subject, rows),
        message_id=message_id_for(sender),
    )


def confirmation_mail(
    sender: str, to: str, page: str, confirm: str, unsubscribe: str, expires_at: datetime
) -> RawMessage:
    """The double opt-in: nothing more is sent until its link is followed."""
    subject = f"Confirm your subscription to {one_line(page, 150)}"
    text = [
        f"Someone, hopefully you, asked for status updates of {page} at this address.",
        "",
        f"Confirm the subscription: {confirm}",
        f"(The link works until {_when(expires_at)}.)",
        "",
        "If it was not you, ignore this mail: nothing more will be sent.",
        "",
        *_footer_text(page, unsubscribe),
    ]
    rows = [
        f"<p>Someone, hopefully you, asked for status updates of {escape(page)} at this "
        "address.</p>",
        f'<p><a href="{escape(confirm)}" style="display:inline-block;padding:10px 18px;'
        "border-radius:4px;background:#1565c0;color:#ffffff;text-decoration:none;"
        'font-weight:bold">Confirm the subscription</a></p>',
        f"<p>The link works until {escape(_when(expires_at))}. If it was not you, ignore "
        "this mail: nothing more will be sent.</p>",
        _footer_html(page, unsubscribe),
    ]
    return alternative_message(
        [to],
        _headers(sender, to, subject, unsubscribe),
        "\n".join(text) + "\n",
        _html(subject, rows),
        message_id=message_id_for(sender),
    )
